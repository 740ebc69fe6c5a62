/**
 * What the traffic script sends inside a namespace, loopback only.
 * - `udp`: `count` datagrams of `size` payload bytes (1..65507) to 127.0.0.1 or ::1 on `port`
 *   (default: an ephemeral port), where a local socket is bound so the kernel sends no ICMP errors.
 *   With `sources`, from that many sockets (flows): datagram i from socket i % sources.
 * - `tcp`: one local connection, `count` writes of `size` bytes (1..65000) with Nagle off; each
 *   write waits until the server has read it, so every write is one segment.
 * - `icmp`: `ping -c count -s size` (echo requests, data bytes = `size`).
 * - `flows`: `count` TCP connections one after another (a request/response exchange, as HTTP):
 *   connect, the client writes `size` bytes, the server reads them all and writes `size` bytes
 *   back, the client reads them all and closes. Each flow's packets in order: SYN, SYN-ACK,
 *   ACK, the request, the response, then ACKs and FINs.
 *   With `srcPort`, connection i binds that port + i (as `udp` socket k binds `srcPort` + k), so
 *   the same spec run in two namespaces makes the same 5-tuples.
 * - `http`: as `flows`, each exchange an HTTP/1.1 request `GET /nfp/SEED/I` (Host nfp.test,
 *   padded with an X-Pad header to `size` bytes, at least 128) answered with `200 OK` and a
 *   text body, `size` bytes in all.
 * - `bulk`: one TCP connection; the client writes `count` chunks of `size` bytes as fast as the
 *   socket takes them (the stack then sends GSO super-packets on lo), then closes.
 * `family` 4 (default) or 6; `seed` (default 1) selects the payload (see payloadFor);
 * `ratePps` paces the packets (default: as fast as the socket accepts them).
 */
export interface TrafficSpec {
  proto: 'udp' | 'tcp' | 'icmp' | 'flows' | 'http' | 'bulk';
  family?: 4 | 6;
  port?: number;
  count: number;
  size: number;
  seed?: number;
  ratePps?: number;
  /** `udp`: sockets to send from, round-robin (default 1). */
  sources?: number;
  /** `flows`, `http` and `udp`: first client port (default: ephemeral ports). */
  srcPort?: number;
}

/** What sendTraffic reports: `sent` packets (UDP datagrams, TCP writes, ICMP echo requests, TCP flows or HTTP exchanges). */
export interface TrafficResult {
  sent: number;
}

/** Hard cap on `count`, so a wrong spec cannot flood the box. */
export const TRAFFIC_MAX_COUNT = 1_000_000;
/** Hard cap on the traffic script's run time, in milliseconds (60 s). */
export const TRAFFIC_MAX_MS = 60_000;

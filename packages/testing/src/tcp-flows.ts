// TCP flows read back from captured IP packets: which flow and direction each segment belongs to,
// and whether a flow's segments came in the kernel's order (what an IDS needs to follow it).

/** One TCP segment of a flow to `serverPort`, as a test of ordering sees it. */
export interface TcpSegment {
  /** Client to server. */
  toServer: boolean;
  /** The flow: the client's port, plus 100000 for IPv6. */
  client: number;
  /** TCP flags byte. */
  flags: number;
  /** Payload bytes. */
  payload: number;
}

const FIN = 0x01;
const SYN = 0x02;
const ACK = 0x10;

/**
 * The TCP segment in the IPv4 or IPv6 packet `ip` (IPv6 without extension headers), to or from
 * `serverPort`.
 */
export function tcpSegment(ip: Buffer, serverPort: number): TcpSegment {
  const v4 = ip[0]! >> 4 === 4;
  const l4 = v4 ? (ip[0]! & 0x0f) * 4 : 40;
  const total = v4 ? ip.readUInt16BE(2) : 40 + ip.readUInt16BE(4);
  const sport = ip.readUInt16BE(l4);
  const dport = ip.readUInt16BE(l4 + 2);
  const toServer = dport === serverPort;
  return {
    toServer,
    client: (toServer ? sport : dport) + (v4 ? 0 : 100000),
    flags: ip[l4 + 13]!,
    payload: total - l4 - (ip[l4 + 12]! >> 4) * 4,
  };
}

/** Each flow's segments in the order of `packets` (IP packets), by client port. */
export function tcpFlows(packets: Iterable<Buffer>, serverPort: number): Map<number, TcpSegment[]> {
  const flows = new Map<number, TcpSegment[]>();
  for (const ip of packets) {
    const s = tcpSegment(ip, serverPort);
    let list = flows.get(s.client);
    if (list === undefined) flows.set(s.client, (list = []));
    list.push(s);
  }
  return flows;
}

/**
 * Whether a request/response flow's segments, in stream order, are the kernel's: SYN, SYN-ACK,
 * ACK, then the request before the response.
 */
export function inKernelOrder(segs: readonly TcpSegment[]): boolean {
  const [syn, synAck, ack] = segs;
  if (syn === undefined || synAck === undefined || ack === undefined) return false;
  if (!(syn.toServer && (syn.flags & (SYN | ACK)) === SYN)) return false;
  if (!(!synAck.toServer && (synAck.flags & (SYN | ACK)) === (SYN | ACK))) return false;
  if (!(ack.toServer && (ack.flags & (SYN | ACK | FIN)) === ACK && ack.payload === 0)) return false;
  const request = segs.findIndex((s) => s.toServer && s.payload > 0);
  const response = segs.findIndex((s) => !s.toServer && s.payload > 0);
  return request === 3 && response > request;
}

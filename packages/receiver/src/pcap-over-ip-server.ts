// PCAP-over-IP: the receiver's live stream as a plain pcap byte stream over TCP, the way
// Wireshark/tshark, Arkime, NetworkMiner and Zeek read it (conventionally port 57012; what
// operators do by hand with `tcpdump -U -w - | nc -l 57012`). Each client gets a pcap header
// and then every batch from the moment it connected; each has its own bounded queue, so a slow
// one loses whole batches (counted) and never slows the FIFO, the ring, ingestion or the others.

import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { encodePcapHeader } from '@nflog-pipe/pcap-writer';
import { isLocalEndpoint, LogLimiter, type Logger } from '@nflog-pipe/shared';
import { ReceiverError } from './errors.js';
import type { PcapSink, PcapSinkEvents, PcapSinkStats } from './pcap-sink.js';

/** The port PCAP-over-IP readers expect by convention (Netresec's description). */
export const PCAP_OVER_IP_DEFAULT_PORT = 57012;

/** Default {@link PcapOverIpOptions.clientQueueBytes}: 8 MiB. */
export const PCAP_OVER_IP_DEFAULT_QUEUE_BYTES = 8 * 1024 * 1024;

/** Default {@link PcapOverIpOptions.maxClients}: 8. */
export const PCAP_OVER_IP_DEFAULT_MAX_CLIENTS = 8;

/** Options of {@link PcapOverIpServer.listen}. */
export interface PcapOverIpOptions extends Pick<PcapSinkEvents, 'onOut' | 'onLost'> {
  /** Address to listen on (`--pcap-over-ip HOST:`), default 127.0.0.1 at the CLI. */
  host: string;
  /** TCP port; 0 picks a free one (see {@link PcapOverIpServer.address}). */
  port: number;
  /** Linktype of the stream (each client's pcap header). */
  linktype: number;
  /** Records carry nanoseconds (the header's magic says so). */
  nanosecond: boolean;
  /**
   * Most bytes waiting to be sent to one client (what Node holds for its socket, beyond what
   * the kernel's socket buffer took); a batch that does not fit is dropped for that client and
   * counted. Memory bound: `maxClients` × this.
   */
  clientQueueBytes: number;
  /** Clients served at once; a connection beyond it is closed at once (logged, rate-limited). */
  maxClients: number;
  /** The number of connected clients changed (for a gauge). */
  onClients?(clients: number): void;
  logger: Logger;
}

/** What one client got, for its closing log line and {@link PcapOverIpServer.clients}. */
export interface PcapOverIpClientStats {
  /** `host:port` of the client. */
  address: string;
  /** Records pushed while it was connected: sent + lost + pending. */
  offeredPackets: number;
  /** Records the kernel accepted for its socket (what it read, but for what was in flight when it left). */
  sentPackets: number;
  /** Records dropped for it: its queue was full, or it left (or the receiver stopped) before they were sent. */
  lostPackets: number;
  /** Records written to its socket that the kernel has not accepted yet. */
  pendingPackets: number;
}

interface Client extends PcapOverIpClientStats {
  readonly socket: Socket;
  pendingBytes: number;
  warnedSlow: boolean;
}

/**
 * A {@link PcapSink} that serves the stream to any number of TCP clients (up to `maxClients`).
 * Writes go straight to each socket (Node's own queue, never blocking): a batch is handed whole
 * to a client whose queue has room and dropped whole for one whose queue is full, so every
 * client's stream is a valid pcap of whole records. Counts (see PcapSinkStats): `outPackets` =
 * records the kernel accepted, summed over clients; `lostPackets` = records dropped for slow
 * clients or for clients that left with them still queued; `queuedPackets` = records queued
 * now; `opens` = clients accepted. Nothing is counted while no client is connected: the stream
 * is live, there is nobody it is owed to. Clients are never read from (a client's bytes stay in
 * its kernel buffer); one that leaves is noticed at the next write.
 */
export class PcapOverIpServer implements PcapSink {
  readonly #opts: PcapOverIpOptions;
  readonly #server: Server;
  readonly #header: Buffer;
  readonly #clients = new Set<Client>();
  readonly #refusals = new LogLimiter();
  #address: { host: string; port: number };
  #closing = false;
  #closed: Promise<void> | null = null;
  #stats = { outPackets: 0, outBytes: 0, lostPackets: 0, opens: 0 };

  private constructor(options: PcapOverIpOptions, server: Server) {
    this.#opts = options;
    this.#server = server;
    this.#header = encodePcapHeader({ linktype: options.linktype, nanosecond: options.nanosecond });
    const a = server.address() as AddressInfo;
    this.#address = { host: a.address, port: a.port };
    server.on('connection', (socket: Socket) => this.#accept(socket));
  }

  /**
   * Listen on `host:port` and serve clients from now on. Logs where (`pcap-over-ip listening`),
   * and warns when the address is not loopback: the socket has no authentication.
   *
   * @throws ReceiverError `ERR_RECV_BIND` naming the address (EADDRINUSE, EADDRNOTAVAIL, EACCES
   *   as `cause`); nothing is left open then
   */
  static async listen(options: PcapOverIpOptions): Promise<PcapOverIpServer> {
    // Clients are never read from: their bytes stay in the kernel and cost us nothing.
    const server = createServer({ pauseOnConnect: true, allowHalfOpen: true, noDelay: true });
    try {
      server.listen({ host: options.host, port: options.port, exclusive: true });
      await Promise.race([
        once(server, 'listening'),
        once(server, 'error').then(([err]) => Promise.reject(err as Error)),
      ]);
    } catch (err) {
      server.close();
      const e = err as { code?: unknown; message?: unknown };
      const code = typeof e.code === 'string' ? e.code : 'error';
      throw new ReceiverError(
        'ERR_RECV_BIND',
        `cannot listen for PCAP-over-IP on ${formatHostPort(options.host, options.port)} (${code})`,
        { cause: err },
      );
    }
    const s = new PcapOverIpServer(options, server);
    const where = formatHostPort(s.#address.host, s.#address.port);
    options.logger.info('pcap-over-ip listening', {
      address: where,
      linktype: options.linktype,
      max_clients: options.maxClients,
      client_queue_bytes: options.clientQueueBytes,
    });
    if (!isLocalEndpoint(`tcp://${where}`)) {
      options.logger.warn(
        'pcap-over-ip bound on a non-loopback address: it has no authentication, anyone who can reach it reads the captured traffic (docs/operations.md, "Security")',
        { address: where },
      );
    }
    return s;
  }

  /** The address listened on (a port 0 shows the port picked). */
  get address(): { host: string; port: number } {
    return this.#address;
  }

  /** Clients connected now, and what each got so far. */
  clients(): PcapOverIpClientStats[] {
    return [...this.#clients].map((c) => ({
      address: c.address,
      offeredPackets: c.offeredPackets,
      sentPackets: c.sentPackets,
      lostPackets: c.lostPackets,
      pendingPackets: c.pendingPackets,
    }));
  }

  push(records: Buffer, count: number): boolean {
    if (count === 0 || this.#closing) return count === 0;
    let all = true;
    for (const c of this.#clients) {
      c.offeredPackets += count;
      if (c.pendingBytes + records.length > this.#opts.clientQueueBytes) {
        this.#lose(c, count, 'queue-full');
        all = false;
        if (!c.warnedSlow) {
          c.warnedSlow = true;
          this.#opts.logger.warn(
            'pcap-over-ip client too slow: dropping whole batches for it (counted per client; warned once per client)',
            {
              client: c.address,
              queued_bytes: c.pendingBytes,
              limit_bytes: this.#opts.clientQueueBytes,
            },
          );
        }
        continue;
      }
      this.#write(c, records, count);
    }
    return all;
  }

  reopen(): void {
    // Nothing to reopen: each client keeps its stream (a new pcap header mid-stream would end
    // a reader such as Snort's).
  }

  stats(): PcapSinkStats {
    let queuedPackets = 0;
    let queuedBytes = 0;
    for (const c of this.#clients) {
      queuedPackets += c.pendingPackets;
      queuedBytes += c.pendingBytes;
    }
    return { ...this.#stats, queuedPackets, queuedBytes };
  }

  /** What a drop warning reports about this output. */
  state(): Record<string, string | number> {
    return { clients: this.#clients.size };
  }

  /**
   * Stop accepting; give every client up to `flushMs` to take what is queued for it, then close
   * the rest (what they had not taken is counted lost). Safe to call twice.
   */
  close(flushMs: number): Promise<void> {
    this.#closed ??= this.#close(flushMs);
    return this.#closed;
  }

  async #close(flushMs: number): Promise<void> {
    this.#closing = true;
    const serverClosed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    const clients = [...this.#clients];
    // 'finish': the kernel took everything written (then our FIN). The clients are never read
    // from, so their own FIN is not seen: each socket is destroyed once it has finished.
    const flushed = clients.map((c) => {
      const done = new Promise<void>((resolve) => {
        c.socket.once('finish', resolve);
        c.socket.once('close', resolve);
      });
      c.socket.end();
      return done;
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, flushMs)));
    await Promise.race([Promise.all(flushed), timeout]);
    clearTimeout(timer);
    const closed = clients.map((c) =>
      c.socket.closed ? Promise.resolve() : once(c.socket, 'close'),
    );
    for (const c of clients) c.socket.destroy();
    await Promise.all(closed);
    await serverClosed;
  }

  #accept(socket: Socket): void {
    const address = formatHostPort(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
    if (this.#closing || this.#clients.size >= this.#opts.maxClients) {
      socket.on('error', () => {});
      socket.destroy();
      const suppressed = this.#refusals.hit('full');
      if (suppressed !== undefined) {
        this.#opts.logger.warn(
          'pcap-over-ip client refused: too many clients (see --pcap-over-ip-clients)',
          {
            client: address,
            max_clients: this.#opts.maxClients,
            refused_since_last: suppressed,
          },
        );
      }
      return;
    }
    const c: Client = {
      socket,
      address,
      offeredPackets: 0,
      sentPackets: 0,
      lostPackets: 0,
      pendingPackets: 0,
      pendingBytes: 0,
      warnedSlow: false,
    };
    this.#clients.add(c);
    this.#stats.opens++;
    socket.setKeepAlive(true, 60_000);
    // Errors end the client ('close' follows); what it had not taken is counted there.
    socket.on('error', (err) =>
      this.#opts.logger.debug('pcap-over-ip client error', { client: address, err }),
    );
    socket.on('close', () => this.#gone(c));
    this.#write(c, this.#header, 0);
    this.#opts.onClients?.(this.#clients.size);
    this.#opts.logger.info('pcap-over-ip client connected', {
      client: address,
      clients: this.#clients.size,
    });
  }

  /** Hand a batch (or the header, count 0) to a client's socket; counted when the kernel took it. */
  #write(c: Client, buf: Buffer, count: number): void {
    const bytes = buf.length;
    c.pendingPackets += count;
    c.pendingBytes += bytes;
    c.socket.write(buf, (err) => {
      c.pendingPackets -= count;
      c.pendingBytes -= bytes;
      if (count === 0) return;
      if (err) {
        this.#lose(c, count, 'reader-gone');
        return;
      }
      c.sentPackets += count;
      this.#stats.outPackets += count;
      this.#stats.outBytes += bytes;
      this.#opts.onOut?.(count, bytes);
    });
  }

  #lose(c: Client, count: number, why: 'queue-full' | 'reader-gone'): void {
    c.lostPackets += count;
    this.#stats.lostPackets += count;
    this.#opts.onLost?.(count, this.#closing && why === 'reader-gone' ? 'shutdown' : why);
  }

  #gone(c: Client): void {
    if (!this.#clients.delete(c)) return;
    this.#opts.onClients?.(this.#clients.size);
    // Write callbacks of what was still queued run (with an error) before 'close'.
    this.#opts.logger.info('pcap-over-ip client gone', {
      client: c.address,
      offered_pkt: c.offeredPackets,
      sent_pkt: c.sentPackets,
      lost_pkt: c.lostPackets,
      clients: this.#clients.size,
    });
  }
}

/** `host:port`, with an IPv6 host in brackets. */
function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

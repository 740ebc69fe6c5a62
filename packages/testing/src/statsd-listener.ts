import dgram from 'node:dgram';
import { TEST_TIMEOUT_MS, withTimeout } from './timeout.js';

/** One parsed statsd line: `name:value|type[|@rate][|#tags]`. */
export interface StatsdLine {
  name: string;
  value: number;
  type: string;
}

/** Parses one statsd protocol line; null when it does not have the `name:value|type` shape. */
export function parseStatsdLine(line: string): StatsdLine | null {
  const m = /^([^:|]+):([^|]+)\|([^|]+)(\|.*)?$/.exec(line);
  if (m === null) return null;
  const value = Number(m[2]);
  if (!Number.isFinite(value)) return null;
  return { name: m[1] ?? '', value, type: m[3] ?? '' };
}

/**
 * A real statsd server for tests: a UDP socket on 127.0.0.1 (ephemeral port) that splits each
 * datagram on `\n` and keeps every line. Point the code under test at `127.0.0.1:<port>`.
 */
export class StatsdListener {
  /** The UDP port it listens on. */
  readonly port: number;
  /** Every non-empty line received, in order. */
  readonly lines: string[] = [];
  /** Number of datagrams received. */
  datagrams = 0;
  #socket: dgram.Socket;
  #waiters = new Set<() => void>();
  #closed = false;

  private constructor(socket: dgram.Socket) {
    this.#socket = socket;
    this.port = socket.address().port;
    socket.on('message', (msg) => {
      this.datagrams += 1;
      for (const line of msg.toString('utf8').split('\n')) {
        if (line !== '') this.lines.push(line);
      }
      for (const w of [...this.#waiters]) w();
    });
  }

  /** Binds the socket; resolves once it is listening. */
  static async start(): Promise<StatsdListener> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new StatsdListener(socket);
  }

  /**
   * The statsd flags of our CLIs that point one at this listener: `-m 127.0.0.1:<port>`,
   * `-n <prefix>` and `--statsd-interval <flushS>` (seconds; short, so counters arrive soon).
   */
  cliArgs(prefix: string, flushS = 0.05): string[] {
    return ['-m', `127.0.0.1:${this.port}`, '-n', prefix, '--statsd-interval', String(flushS)];
  }

  /** Sum of the values of every `name:value|type` line received so far for `name`. */
  total(name: string): number {
    let sum = 0;
    for (const line of this.lines) {
      const p = parseStatsdLine(line);
      if (p !== null && p.name === name) sum += p.value;
    }
    return sum;
  }

  /**
   * Resolves with total(name) once `pred(total(name))` holds, checking after every datagram.
   * @throws Error (code `ERR_TEST_TIMEOUT`) after `timeoutMs` (default TEST_TIMEOUT_MS).
   */
  waitFor(
    name: string,
    pred: (total: number) => boolean,
    timeoutMs: number = TEST_TIMEOUT_MS,
  ): Promise<number> {
    let check: () => void = () => {};
    const p = new Promise<number>((resolve) => {
      check = () => {
        const t = this.total(name);
        if (pred(t)) {
          this.#waiters.delete(check);
          resolve(t);
        }
      };
      this.#waiters.add(check);
      check();
    });
    return withTimeout(
      p,
      timeoutMs,
      `statsd ${name} (lines so far: ${this.lines.slice(-20).join(' ')})`,
    ).finally(() => this.#waiters.delete(check));
  }

  /** Closes the socket; safe to call twice. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }
}

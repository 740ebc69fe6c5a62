// Small local test helpers for nflog-native (this package depends on nothing of ours).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { TestContext } from 'node:test';

/** The one generous timeout for waiting on kernel/child events. */
export const TEST_TIMEOUT_MS = 20000;

export const CAPTURE_SCRIPT = new URL('../../test/fixtures/capture.mjs', import.meta.url).pathname;
export const TRAFFIC_SCRIPT = new URL('../../test/fixtures/traffic.mjs', import.meta.url).pathname;

/** Reject when `p` takes longer than `ms`. */
export async function withTimeout<T>(
  p: Promise<T>,
  what: string,
  ms = TEST_TIMEOUT_MS,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function run(
  cmd: string,
  args: string[],
  input?: string,
): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 127) : 0;
      resolve({ stdout, stderr, code });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Root and `ip`/`nft` present? Skips the test (fails it with CI=true) when not. */
export async function requireRootAndTools(t: TestContext): Promise<boolean> {
  let missing = '';
  if (process.getuid?.() !== 0) missing = 'not root';
  else {
    for (const tool of ['ip', 'nft', 'setpriv']) {
      if ((await run('sh', ['-c', `command -v ${tool}`])).code !== 0)
        missing = `${tool} not installed`;
    }
  }
  if (missing === '') return true;
  if (process.env['CI'] === 'true') throw new Error(`prerequisite missing: ${missing}`);
  t.skip(`needs root with ip, nft and setpriv: ${missing}`);
  return false;
}

let nsCounter = 0;

/** A network namespace made for one test file; `lo` is up. */
export class Netns {
  readonly name: string;
  #removed = false;

  private constructor(name: string) {
    this.name = name;
  }

  static async create(tag: string): Promise<Netns> {
    const ns = new Netns(`nfp-native-${process.pid}-${tag}-${nsCounter++}`);
    await ns.#must('ip', ['netns', 'add', ns.name]);
    await ns.exec('ip', ['link', 'set', 'lo', 'up']);
    return ns;
  }

  async #must(cmd: string, args: string[], input?: string): Promise<string> {
    const r = await run(cmd, args, input);
    if (r.code !== 0)
      throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Run a command inside the namespace; throws on a non-zero exit. */
  exec(cmd: string, args: string[], input?: string): Promise<string> {
    return this.#must('ip', ['netns', 'exec', this.name, cmd, ...args], input);
  }

  /** Load an nft ruleset inside the namespace. */
  async nft(ruleset: string): Promise<void> {
    await this.exec('nft', ['-f', '-'], ruleset);
  }

  /** Spawn a long-running process inside the namespace. */
  spawn(cmd: string, args: string[]): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.name, cmd, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  /** Delete the namespace; safe twice. */
  async remove(): Promise<void> {
    if (this.#removed) return;
    this.#removed = true;
    await run('ip', ['netns', 'del', this.name]);
  }
}

/** Options the capture fixture passes to NflogSocket.open (JSON), plus fixture controls. */
export interface CaptureSpec {
  groups: number[];
  copyRangeBytes?: number;
  nlbufsizBytes?: number;
  qthresh?: number;
  timeoutMs?: number;
  rcvbufBytes?: number;
  linktype?: 101 | 239;
  /** Fixture: pause right after open (SIGUSR2 resumes). */
  startPaused?: boolean;
  /** Fixture: write the raw netlink datagrams (u32 LE length + bytes) here. */
  rawOut?: string;
  /** Fixture: open, then exercise close()/closed-handle calls and report codes. */
  lifecycle?: boolean;
}

/** Progress the capture fixture prints after each batch. */
export interface CaptureProgress {
  packets: number;
  kernelDropped: number;
  enobufs: number;
}

/** test/fixtures/capture.mjs running inside a namespace. */
export class Capture {
  readonly child: ChildProcess;
  #stdout = '';
  #stderr = '';
  #waiters: (() => void)[] = [];
  readonly exited: Promise<number | null>;

  /** `wrap`: a command prefix, e.g. setpriv to drop capabilities. */
  constructor(ns: Netns, spec: CaptureSpec, recordsFile: string, wrap: string[] = []) {
    const argv = [...wrap, process.execPath, CAPTURE_SCRIPT, JSON.stringify(spec), recordsFile];
    this.child = ns.spawn(argv[0]!, argv.slice(1));
    this.child.stdout?.setEncoding('utf8').on('data', (s: string) => {
      this.#stdout += s;
      for (const w of this.#waiters) w();
    });
    this.child.stderr?.setEncoding('utf8').on('data', (s: string) => {
      this.#stderr += s;
    });
    this.exited = once(this.child, 'exit').then(([code]) => {
      for (const w of this.#waiters) w();
      return code as number | null;
    });
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** The JSON of the last stdout line starting with `tag `, or undefined. */
  last(tag: string): unknown {
    const lines = this.#stdout.split('\n').filter((l) => l.startsWith(`${tag} `));
    const line = lines[lines.length - 1];
    return line === undefined ? undefined : JSON.parse(line.slice(tag.length + 1));
  }

  /** Wait until a `tag` line satisfies pred (or the child exits). */
  async waitFor<T>(tag: string, pred: (v: T) => boolean = () => true): Promise<T> {
    const check = (): T | undefined => {
      const v = this.last(tag) as T | undefined;
      return v !== undefined && pred(v) ? v : undefined;
    };
    return withTimeout(
      new Promise<T>((resolve, reject) => {
        const w = (): void => {
          const v = check();
          if (v !== undefined) {
            this.#waiters = this.#waiters.filter((x) => x !== w);
            resolve(v);
          } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
            reject(new Error(`capture exited before "${tag}": ${this.#stdout}${this.#stderr}`));
          }
        };
        this.#waiters.push(w);
        w();
      }),
      `capture line "${tag}"`,
    );
  }

  /** SIGTERM, then the final stats the fixture printed. */
  async stop(): Promise<Record<string, number>> {
    this.child.kill('SIGTERM');
    const code = await withTimeout(this.exited, 'capture exit');
    if (code !== 0) throw new Error(`capture exited ${String(code)}: ${this.#stderr}`);
    return this.last('stats') as Record<string, number>;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Deterministic payload: first 8 bytes are seed and index (BE u32), then a pattern. */
export function payloadFor(seed: number, index: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (seed * 31 + index * 7 + i) & 0xff;
  if (size >= 8) {
    b.writeUInt32BE(seed >>> 0, 0);
    b.writeUInt32BE(index >>> 0, 4);
  }
  return b;
}

/** Traffic spec for test/fixtures/traffic.mjs (loopback only). */
export interface TrafficSpec {
  proto: 'udp' | 'tcp';
  family: 4 | 6;
  port: number;
  count: number;
  size: number;
  seed: number;
}

/** Send traffic inside the namespace; resolves when every packet is sent. */
export async function sendTraffic(ns: Netns, spec: TrafficSpec): Promise<void> {
  await withTimeout(
    ns.exec(process.execPath, [TRAFFIC_SCRIPT, JSON.stringify(spec)]),
    `traffic ${spec.proto}`,
  );
}

/** One pcap record read back from a records buffer. */
export interface Rec {
  tsSec: number;
  tsUsec: number;
  inclLen: number;
  origLen: number;
  data: Buffer;
}

/** Split a buffer of LE pcap records; throws on a record running past the end. */
export function splitRecords(buf: Buffer): Rec[] {
  const out: Rec[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < 16) throw new Error(`short record header at ${off}`);
    const inclLen = buf.readUInt32LE(off + 8);
    if (buf.length - off - 16 < inclLen) throw new Error(`record at ${off} runs past the end`);
    out.push({
      tsSec: buf.readUInt32LE(off),
      tsUsec: buf.readUInt32LE(off + 4),
      inclLen,
      origLen: buf.readUInt32LE(off + 12),
      data: buf.subarray(off + 16, off + 16 + inclLen),
    });
    off += 16 + inclLen;
  }
  return out;
}

/** A LINKTYPE_NFLOG record: pseudo-header and TLVs (LE length/type). */
export interface NflogRecord {
  family: number;
  version: number;
  group: number;
  tlvs: Map<number, Buffer>;
}

/** Parse a linktype-239 record body. */
export function parseNflogRecord(data: Buffer): NflogRecord {
  const tlvs = new Map<number, Buffer>();
  let off = 4;
  while (off + 4 <= data.length) {
    const len = data.readUInt16LE(off);
    const type = data.readUInt16LE(off + 2) & 0x3fff;
    if (len < 4 || off + len > data.length) throw new Error(`bad TLV at ${off}`);
    tlvs.set(type, data.subarray(off + 4, off + len));
    off += (len + 3) & ~3;
  }
  if (off !== data.length) throw new Error(`TLVs end at ${off}, record at ${data.length}`);
  return {
    family: data.readUInt8(0),
    version: data.readUInt8(1),
    group: data.readUInt16BE(2),
    tlvs,
  };
}

/** Transport payload of a raw IPv4/IPv6 UDP or TCP packet (no options/extension headers beyond TCP's data offset). */
export function l4Payload(ip: Buffer): { proto: number; dport: number; payload: Buffer } {
  const v = ip.readUInt8(0) >> 4;
  const hl = v === 4 ? (ip.readUInt8(0) & 0x0f) * 4 : 40;
  const proto = v === 4 ? ip.readUInt8(9) : ip.readUInt8(6);
  const l4 = ip.subarray(hl);
  const dport = l4.readUInt16BE(2);
  const payload = proto === 6 ? l4.subarray((l4.readUInt8(12) >> 4) * 4) : l4.subarray(8);
  return { proto, dport, payload };
}

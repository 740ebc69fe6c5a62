// nflog-native's own test helpers: the capture fixture driven in a namespace, and readers of the
// records it writes. Namespaces, traffic, timeouts and prerequisites: @nflog-pipe/testing.
import { readFileSync } from 'node:fs';
import { TEST_TIMEOUT_MS, withTimeout, type ChildHandle, type Netns } from '@nflog-pipe/testing';

export const CAPTURE_SCRIPT = new URL('../../test/fixtures/capture.mjs', import.meta.url).pathname;

/** Options the capture fixture passes to NflogSocket.open (JSON), plus fixture controls. */
export interface CaptureSpec {
  groups: number[];
  copyRangeBytes?: number;
  nlbufsizBytes?: number;
  qthresh?: number;
  timeoutMs?: number;
  rcvbufBytes?: number;
  linktype?: 101 | 239;
  checksums?: 'wire' | 'as-logged';
  orderHoldMs?: number;
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

/**
 * test/fixtures/capture.mjs running inside a namespace (tracked by it: `ns.remove()` kills it).
 * The fixture prints one `<tag> <JSON>` line on stdout per event.
 */
export class Capture {
  readonly handle: ChildHandle;
  /** The exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;

  /** `wrap`: a command prefix, e.g. setpriv to drop capabilities. */
  constructor(ns: Netns, spec: CaptureSpec, recordsFile: string, wrap: string[] = []) {
    const argv = [...wrap, process.execPath, CAPTURE_SCRIPT, JSON.stringify(spec), recordsFile];
    this.handle = ns.spawn(argv[0]!, argv.slice(1));
    this.exited = this.handle.exited.then(({ code }) => code);
    // Like handle.exited: a test that never awaits it must not get an unhandled rejection.
    this.exited.catch(() => {});
  }

  get stderr(): string {
    return this.handle.stderr();
  }

  /** The JSON of the last line of `stdout` starting with `tag `, or undefined. */
  static last(stdout: string, tag: string): unknown {
    const lines = stdout.split('\n').filter((l) => l.startsWith(`${tag} `));
    const line = lines[lines.length - 1];
    return line === undefined ? undefined : JSON.parse(line.slice(tag.length + 1));
  }

  /** Wait until a `tag` line satisfies pred; rejects when the child exits first. */
  waitFor<T>(tag: string, pred: (v: T) => boolean = () => true): Promise<T> {
    return this.handle.waitForStdoutState((stdout) => {
      const v = Capture.last(stdout, tag) as T | undefined;
      return v !== undefined && pred(v) ? v : undefined;
    }, `capture line "${tag}"`);
  }

  /** SIGTERM, then the final stats the fixture printed. */
  async stop(): Promise<Record<string, number>> {
    this.handle.kill('SIGTERM');
    const code = await withTimeout(this.exited, TEST_TIMEOUT_MS, 'capture exit');
    if (code !== 0) throw new Error(`capture exited ${String(code)}: ${this.stderr}`);
    const stdout = this.handle.stdout().toString('utf8');
    return Capture.last(stdout, 'stats') as Record<string, number>;
  }
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

/** A recorded fixture in test/fixtures (u32 LE length + netlink datagram, repeated), split. */
export function readDatagrams(name: string): Buffer[] {
  const buf = readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url));
  const out: Buffer[] = [];
  for (let off = 0; off < buf.length;) {
    const len = buf.readUInt32LE(off);
    out.push(buf.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  return out;
}

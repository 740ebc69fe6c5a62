// Helpers for the tests that capture through the kernel: pcap/frame parsing, log-line parsing.

import { readFile } from 'node:fs/promises';
import { Pull } from 'zeromq';
import { decodeFrame } from '@nflog-pipe/shared';
import { withTimeout, TEST_TIMEOUT_MS, type ChildHandle } from '@nflog-pipe/shared/testing';

/** One packet as a test sees it. */
export interface Pkt {
  tsSec: number;
  tsUsec: number;
  inclLen: number;
  origLen: number;
  data: Buffer;
}

/** Walks a section of little-endian pcap records. */
export function walkRecords(records: Buffer): Pkt[] {
  const out: Pkt[] = [];
  let off = 0;
  while (off < records.length) {
    const inclLen = records.readUInt32LE(off + 8);
    out.push({
      tsSec: records.readUInt32LE(off),
      tsUsec: records.readUInt32LE(off + 4),
      inclLen,
      origLen: records.readUInt32LE(off + 12),
      data: records.subarray(off + 16, off + 16 + inclLen),
    });
    off += 16 + inclLen;
  }
  if (off !== records.length) throw new Error('records section does not end on a record boundary');
  return out;
}

/**
 * Reads a tcpdump capture of `lo` (little-endian, microseconds, DLT_EN10MB) and returns the IP
 * packets with the 14-byte Ethernet header stripped.
 */
export async function readLoCapture(file: string): Promise<Pkt[]> {
  const buf = await readFile(file);
  if (buf.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error(`${file}: not a little-endian microsecond pcap`);
  if (buf.readUInt32LE(20) !== 1) throw new Error(`${file}: linktype ${buf.readUInt32LE(20)}, expected 1 (Ethernet)`);
  return walkRecords(buf.subarray(24)).map((p) => ({
    ...p,
    inclLen: p.inclLen - 14,
    origLen: p.origLen - 14,
    data: p.data.subarray(14),
  }));
}

/** Protocol and destination port of a raw IPv4/IPv6 packet (no IPv6 extension headers). */
export function l4(data: Buffer): { family: 4 | 6; proto: number; dport: number } {
  const version = data[0]! >> 4;
  if (version === 4) {
    const ihl = (data[0]! & 0x0f) * 4;
    return { family: 4, proto: data[9]!, dport: data.readUInt16BE(ihl + 2) };
  }
  if (version === 6) return { family: 6, proto: data[6]!, dport: data.readUInt16BE(42) };
  throw new Error(`not an IP packet (version ${version})`);
}

/** Receives v1 frames until `packets` packets arrived; returns the frames' packets and frames. */
export async function receivePackets(
  pull: Pull,
  packets: number,
): Promise<{ pkts: Pkt[]; frames: ReturnType<typeof decodeFrame>[] }> {
  const pkts: Pkt[] = [];
  const frames: ReturnType<typeof decodeFrame>[] = [];
  while (pkts.length < packets) {
    const [msg] = await withTimeout(pull.receive(), TEST_TIMEOUT_MS, `packets (${pkts.length} of ${packets} so far)`);
    const f = decodeFrame(msg!);
    frames.push(f);
    pkts.push(...walkRecords(f.records));
  }
  return { pkts, frames };
}

/** The key=value counters of a sender log line (`stats` or `stopped`). */
export type Counts = Record<string, number>;

/** Parses all lines of `stderr` with message `msg` into counters. */
export function countLines(stderr: string, msg: 'stats' | 'stopped'): Counts[] {
  const out: Counts[] = [];
  for (const line of stderr.split('\n')) {
    if (!new RegExp(`^\\S+ INFO nflog-zmq-send: ${msg} `).test(line)) continue;
    const c: Counts = {};
    for (const m of line.matchAll(/ (\w+)=(\d+)/g)) c[m[1]!] = Number(m[2]);
    out.push(c);
  }
  return out;
}

/** Resolves with the first `stats` line satisfying `pred` (checked on every stderr chunk). */
export function waitForStats(h: ChildHandle, pred: (c: Counts) => boolean, what: string): Promise<Counts> {
  const p = new Promise<Counts>((resolve, reject) => {
    const check = (): boolean => {
      const hit = countLines(h.stderr(), 'stats').find(pred);
      if (hit !== undefined) {
        h.child.stderr?.off('data', check);
        resolve(hit);
        return true;
      }
      return false;
    };
    if (check()) return;
    h.child.stderr?.on('data', check);
    h.exited.then(
      () => {
        if (!check()) reject(new Error(`sender exited before ${what}; stderr: ${h.stderr().slice(-800)}`));
      },
      reject,
    );
  });
  return withTimeout(p, TEST_TIMEOUT_MS, what);
}

/** Resolves with the `n`-th `stats` line written after the call (its counters). */
export function nextStats(h: ChildHandle, n: number): Promise<Counts> {
  const target = countLines(h.stderr(), 'stats').length + n;
  return waitForStats(h, () => countLines(h.stderr(), 'stats').length >= target, `${n} more stats lines`).then(
    () => countLines(h.stderr(), 'stats')[target - 1]!,
  );
}

/** The sender's final `stopped` line, after it exited. */
export function finalCounts(stderr: string): Counts {
  const all = countLines(stderr, 'stopped');
  if (all.length !== 1) throw new Error(`expected one "stopped" line, got ${all.length}: ${stderr.slice(-800)}`);
  return all[0]!;
}

// Helpers for the tests that capture through the kernel: pcap/frame parsing, the n-th next stats line.

import { Pull } from 'zeromq';
import { iterateRecords, readPcapFile } from '@nflog-pipe/pcap-writer';
import { decodeFrame } from '@nflog-pipe/shared';
import {
  logLines,
  parseLogCounters,
  waitForLogLines,
  withTimeout,
  TEST_TIMEOUT_MS,
  type ChildHandle,
  type LogCounters,
} from '@nflog-pipe/testing';

/** One packet as a test sees it. */
export interface Pkt {
  tsSec: number;
  tsUsec: number;
  inclLen: number;
  origLen: number;
  data: Buffer;
}

/** Walks a section of little-endian pcap records (pcap-writer's checked iterator). */
export function walkRecords(records: Buffer): Pkt[] {
  return [...iterateRecords(records)].map(({ tsFrac, ...r }) => ({ ...r, tsUsec: tsFrac }));
}

/**
 * Reads a tcpdump capture of `lo` (little-endian, microseconds, DLT_EN10MB) and returns the IP
 * packets with the 14-byte Ethernet header stripped.
 */
export async function readLoCapture(file: string): Promise<Pkt[]> {
  const { header, records } = await readPcapFile(file);
  if (!header.littleEndian || header.nanosecond)
    throw new Error(`${file}: not a little-endian microsecond pcap`);
  if (header.linktype !== 1)
    throw new Error(`${file}: linktype ${header.linktype}, expected 1 (Ethernet)`);
  return records.map(({ tsFrac, ...p }) => ({
    ...p,
    tsUsec: tsFrac,
    inclLen: p.inclLen - 14,
    origLen: p.origLen - 14,
    data: p.data.subarray(14),
  }));
}

/** Receives v1 frames until `packets` packets arrived; returns the frames' packets and frames. */
export async function receivePackets(
  pull: Pull,
  packets: number,
): Promise<{ pkts: Pkt[]; frames: ReturnType<typeof decodeFrame>[] }> {
  const pkts: Pkt[] = [];
  const frames: ReturnType<typeof decodeFrame>[] = [];
  while (pkts.length < packets) {
    const [msg] = await withTimeout(
      pull.receive(),
      TEST_TIMEOUT_MS,
      `packets (${pkts.length} of ${packets} so far)`,
    );
    const f = decodeFrame(msg!);
    frames.push(f);
    pkts.push(...walkRecords(f.records));
  }
  return { pkts, frames };
}

/** Resolves with the counters of the `n`-th `stats` line written after the call. */
export async function nextStats(h: ChildHandle, n: number): Promise<LogCounters> {
  const target = logLines(h.stderr(), 'stats').length + n;
  const lines = await waitForLogLines(h, 'stats', target);
  return parseLogCounters(lines[target - 1]!);
}

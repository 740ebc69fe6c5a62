// Packet builders shared by the receiver tests (not a test file itself).
import assert from 'node:assert/strict';
import { encodeRecords } from '@nflog-pipe/pcap-writer';

import { ipv4 } from '@nflog-pipe/testing';

export { ipv4, ipv6, ports } from '@nflog-pipe/testing';

/** Records section with one record per packet, timestamps tsSec.i µs. */
export function records(pkts: Buffer[], tsSec = 1_700_000_000, firstUsec = 0): Buffer {
  return encodeRecords(pkts.map((data, i) => ({ tsSec, tsFrac: firstUsec + i, data })));
}

let liveUs = 0;

/**
 * Records section with one record per packet, stamped now as one live sender stamps them: each
 * record a microsecond or more after the last record any call stamped, so the reorder window
 * writes them in the order they were made.
 */
export function liveRecords(pkts: Buffer[]): Buffer {
  liveUs = Math.max(liveUs + 1, Date.now() * 1000);
  const first = liveUs;
  liveUs += pkts.length - 1;
  return encodeRecords(
    pkts.map((data, i) => ({
      tsSec: Math.floor((first + i) / 1e6),
      tsFrac: (first + i) % 1e6,
      data,
    })),
  );
}

/** A UDP IPv4 packet 127.0.0.1 → 127.0.0.1 whose source port encodes `i` and payload size `size`. */
export function numbered(i: number, size = 32): Buffer {
  const l4 = Buffer.alloc(8 + size);
  l4.writeUInt16BE(10000 + (i % 50000), 0);
  l4.writeUInt16BE(9, 2);
  l4.writeUInt16BE(8 + size, 4);
  l4.writeUInt32BE(i, 8);
  return ipv4('127.0.0.1', '127.0.0.1', 17, l4);
}

/** key=value pairs of the last log line whose message is `msg`. */
export function logFields(stderr: string, msg: string): Record<string, string> {
  const lines = stderr.split('\n').filter((l) => l.includes(`: ${msg} `));
  const line = lines[lines.length - 1];
  assert.ok(line, `no "${msg}" line in:\n${stderr}`);
  return Object.fromEntries([...line.matchAll(/ ([a-z_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
}

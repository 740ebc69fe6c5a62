// Helpers of the sharding tests: receivers writing pcap files, the flows in those files, the
// shard a flow maps to (the walker's flow hash and the sender's rendezvous table, computed
// independently of the run), and the sender's per-shard counters.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  indexFlowHash,
  parseNflogMessages,
  shardBucket,
  type NflogFlowKey,
} from '@nflog-pipe/nflog-native';
import {
  PCAP_HEADER_BYTES,
  RECORD_OK,
  RecordCursor,
  iterateRecords,
} from '@nflog-pipe/pcap-writer';
import {
  NF_INET,
  nflogDatagram,
  parseStatsdLine,
  type ChildHandle,
  type Children,
  type Netns,
  logField,
} from '@nflog-pipe/testing';
import { rendezvousTable } from '../src/index.js';

/** The TCP port the flows talk to and the UDP port the datagrams go to, in every namespace. */
export const TCP_PORT = 9000;
export const UDP_PORT = 9001;

/**
 * nft rules of a test namespace: both directions of the TCP flows (the client's packets and the
 * server's, all locally generated on lo) and the UDP datagrams, counted and logged to `group`.
 */
export function flowRuleset(group: number): string {
  return [
    'table inet t {',
    '  chain out {',
    '    type filter hook output priority 0;',
    `    tcp dport ${TCP_PORT} counter log group ${group}`,
    `    tcp sport ${TCP_PORT} counter log group ${group}`,
    `    udp dport ${UDP_PORT} counter log group ${group}`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** One receiver of a test: its process and its pcap file. */
export interface TestReceiver {
  handle: ChildHandle;
  file: string;
}

/**
 * Starts nflog-pcap-recv on `endpoint` writing `file` (linktype 101 or 239), with a stats line
 * every 50 ms.
 */
export function startReceiver(
  kids: Children,
  endpoint: string,
  file: string,
  linktype: 101 | 239 = 101,
): Promise<TestReceiver> {
  return kids
    .start(
      'nflog-pcap-recv',
      [endpoint, file, '--linktype', String(linktype), '--stats-interval', '0.05'],
      / started /,
    )
    .then((handle) => ({ handle, file }));
}

/** `n` ipc endpoints in `dir` (paths: reachable from inside a namespace) and their files. */
export function endpointsIn(
  dir: string,
  n: number,
  tag = 'r',
): { endpoints: string[]; files: string[] } {
  const ids = Array.from({ length: n }, (_, i) => `${tag}${i}`);
  return {
    endpoints: ids.map((id) => `ipc://${join(dir, `${id}.sock`)}`),
    files: ids.map((id) => join(dir, `${id}.pcap`)),
  };
}

/** The data of every whole record of a receiver's pcap file (a killed one may end mid-record). */
export function recordsOf(file: string): Buffer[] {
  const all = readFileSync(file);
  const c = new RecordCursor(all, PCAP_HEADER_BYTES);
  while (c.next() === RECORD_OK);
  return [...iterateRecords(all.subarray(PCAP_HEADER_BYTES, c.end))].map((r) => r.data);
}

/** A linktype 239 record's NFLOG group (its pseudo-header) and IP packet (its payload TLV). */
export function nflogRecord(data: Buffer): { group: number; ip: Buffer } {
  const group = data.readUInt16BE(2);
  for (let off = 4; off + 4 <= data.length;) {
    const len = data.readUInt16LE(off);
    const type = data.readUInt16LE(off + 2) & 0x7fff;
    assert.ok(len >= 4, 'a TLV length');
    if (type === 9) return { group, ip: data.subarray(off + 4, off + len) };
    off += (len + 3) & ~3;
  }
  throw new Error('a 239 record without a payload TLV');
}

/** The flow of an IPv4 TCP/UDP packet, both directions alike: `proto lo:port-hi:port`. */
export function flowOf(ip: Buffer): string {
  assert.equal(ip[0]! >> 4, 4, 'IPv4');
  const l4 = ip.subarray((ip[0]! & 0x0f) * 4);
  const a = `${[...ip.subarray(12, 16)].join('.')}:${l4.readUInt16BE(0)}`;
  const b = `${[...ip.subarray(16, 20)].join('.')}:${l4.readUInt16BE(2)}`;
  return `${ip[9]} ${[a, b].sort().join('-')}`;
}

/** The walker's flow hash of one IP packet, as the sender computed it (an NFLOG message around it). */
export function flowHashOf(ip: Buffer, flowKey: NflogFlowKey = '5tuple'): number {
  const dg = nflogDatagram([{ hook: NF_INET.LOCAL_OUT, payload: ip }]);
  return indexFlowHash(parseNflogMessages(dg, 101, { checksums: 'as-logged', flowKey }).index, 0);
}

/** Shard tables already built, by endpoint list and live set (building one takes a few ms). */
const tables = new Map<string, Uint8Array>();

/** The shard of `ip`'s flow among `endpoints` with only `live` taking flows. */
export function expectedShard(
  ip: Buffer,
  endpoints: readonly string[],
  live: readonly boolean[] = endpoints.map(() => true),
): number {
  const key = JSON.stringify([endpoints, live]);
  let table = tables.get(key);
  if (table === undefined) tables.set(key, (table = rendezvousTable(endpoints, live)));
  return table[shardBucket(flowHashOf(ip))]!;
}

/** One shard's counters as the sender's stats and stopped lines give them (`per_shard=`). */
export interface ShardLine {
  routed: number;
  queued: number;
  droppedQueue: number;
  droppedShaper: number;
  state: 'in' | 'out';
}

/** The `per_shard` field of a sender's stats or stopped line. */
export function perShard(line: string): ShardLine[] {
  const field = logField(line, 'per_shard');
  assert.ok(field !== undefined, `per_shard in ${line}`);
  return field.split(',').map((part, i) => {
    const m = /^(\d+):(\d+)\/(\d+)\/(\d+)\/(\d+)\/(in|out)$/.exec(part);
    assert.ok(m !== null && Number(m[1]) === i, `shard ${i}: ${part}`);
    return {
      routed: Number(m[2]),
      queued: Number(m[3]),
      droppedQueue: Number(m[4]),
      droppedShaper: Number(m[5]),
      state: m[6] as 'in' | 'out',
    };
  });
}

/** Receivers' packets grouped by flow: for each flow, the set of receivers it was seen at. */
export function flowsByReceiver(files: readonly string[][]): Map<string, Set<number>> {
  const where = new Map<string, Set<number>>();
  files.forEach((packets, r) => {
    for (const f of packets) {
      let s = where.get(f);
      if (s === undefined) where.set(f, (s = new Set()));
      s.add(r);
    }
  });
  return where;
}

/** Sum of each statsd counter's deltas in `text` (lines `name:delta|c`). */
function statsdTotals(text: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    const p = parseStatsdLine(line);
    if (p !== null && p.type === 'c') sums.set(p.name, (sums.get(p.name) ?? 0) + p.value);
  }
  return sums;
}

/**
 * A statsd server inside `ns` (a sender there reaches only that namespace's loopback): a Node
 * UDP socket on 127.0.0.1 that writes every datagram it receives to stdout. `waitFor` resolves
 * with the counters' totals once `pred` holds for them, checked on every datagram.
 */
export async function statsdIn(
  kids: Children,
  ns: Netns,
): Promise<{
  port: number;
  waitFor: (
    pred: (totals: Map<string, number>) => boolean,
    what: string,
  ) => Promise<Map<string, number>>;
}> {
  const script = `const s = require('node:dgram').createSocket('udp4');
s.on('message', (m) => process.stdout.write(m.toString('utf8') + '\\n'));
s.bind(0, '127.0.0.1', () => process.stdout.write('port ' + s.address().port + '\\n'));`;
  const h = kids.add(ns.spawn(process.execPath, ['-e', script]));
  const port = Number((await h.waitForStdout(/^port (\d+)$/m))[1]);
  return {
    port,
    waitFor: (pred, what) =>
      h.waitForStdoutState((out) => {
        const totals = statsdTotals(out);
        return pred(totals) ? totals : undefined;
      }, what),
  };
}

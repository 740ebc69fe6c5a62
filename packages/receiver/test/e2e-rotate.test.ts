// Proves the rotated file output through the kernel: files cut by size never exceed --rotate-size and end at record boundaries, files cut by time cover at most about --rotate-seconds each, every file is a complete pcap tshark reads, their union in name order is every packet exactly once, and the rotate counters add up beside DST's.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readPcapFile } from '@nflog-pipe/pcap-writer';
import {
  Netns,
  makeTempDir,
  requirePrereqs,
  sendTraffic,
  tsharkFields,
  udpLogRuleset,
  type TrafficSpec,
  stopCleanly,
} from '@nflog-pipe/testing';
import { startReceiver, udpIds, startSender } from './e2e-util.js';
import { logFields } from './helpers.js';

const SIZE = 500;

interface Rotated {
  /** The files in name order, with their sizes. */
  files: { path: string; bytes: number }[];
  /** The `stopped` line's fields. */
  stopped: Record<string, string>;
  /** DST's packets, as payload ids. */
  dst: string[];
}

/** Runs a real sender into a receiver with `rotateArgs`, sends `traffic`, stops, lists the files. */
async function rotateRun(
  t: TestContext,
  rotateArgs: string[],
  traffic: TrafficSpec,
): Promise<Rotated | null> {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft', 'tshark'] })) return null;
  const dir = await makeTempDir(t);
  const ns = await Netns.create('rot');
  t.after(() => ns.remove());
  await ns.nft(udpLogRuleset([{ port: 9000, group: 7 }]));
  const rotDir = join(dir, 'rot');
  await mkdir(rotDir);
  const ep = `ipc://${join(dir, 'in.sock')}`;
  const out = join(dir, 'dst.pcap');
  const recv = await startReceiver(t, [
    ep,
    out,
    '--rotate-dir',
    rotDir,
    ...rotateArgs,
    '--stats-interval',
    '0.05',
  ]);
  await startSender(t, ns, 7, ep);
  await sendTraffic(ns, traffic);
  await recv.waitForStderr(new RegExp(`stats .*in_pkt=${traffic.count} `));
  const stopped = await stopCleanly(recv, 'receiver');
  const names = (await readdir(rotDir)).sort();
  const files = [];
  for (const n of names) {
    assert.match(n, /^nflog-\d{8}T\d{6}Z-\d{6}\.pcap$/);
    const path = join(rotDir, n);
    files.push({ path, bytes: (await stat(path)).size });
  }
  const dst = (await udpIds(out, SIZE)).map((x) => `${x.seed}:${x.index}`);
  return { files, stopped: logFields(stopped, 'stopped'), dst };
}

/** Every file valid for tshark (and as many packets as our reader counts); their union. */
async function unionOf(files: Rotated['files']): Promise<string[]> {
  const all: string[] = [];
  for (const f of files) {
    const ours = (await readPcapFile(f.path)).records.length;
    assert.equal((await tsharkFields(f.path, ['frame.number'])).length, ours, f.path);
    for (const x of await udpIds(f.path, SIZE)) all.push(`${x.seed}:${x.index}`);
  }
  return all;
}

function expected(n: number, seed: number): string[] {
  return Array.from({ length: n }, (_, i) => `${seed}:${i}`);
}

test('--rotate-size: no file above the size, each cut at a record boundary only when the next record would not fit; the union is every packet once', async (t) => {
  const N = 600;
  const limit = Math.round(0.05 * 1024 * 1024);
  const r = await rotateRun(t, ['--rotate-size', '0.05'], {
    proto: 'udp',
    port: 9000,
    count: N,
    size: SIZE,
    seed: 3,
  });
  if (r === null) return;
  // Each record: 16-byte header + 20 IP + 8 UDP + SIZE.
  const record = 16 + 28 + SIZE;
  assert.ok(r.files.length >= 5, `${r.files.length} files`);
  for (const [i, f] of r.files.entries()) {
    assert.ok(f.bytes <= limit, `${f.path}: ${f.bytes} > ${limit}`);
    assert.equal((f.bytes - 24) % record, 0, 'whole records after the header');
    if (i < r.files.length - 1) assert.ok(f.bytes + record > limit, `${f.path} cut early`);
  }
  assert.deepEqual(await unionOf(r.files), expected(N, 3));
  assert.deepEqual(r.dst, expected(N, 3));
  const s = r.stopped;
  assert.deepEqual(
    [s['in_pkt'], s['out_pkt'], s['rotate_out_pkt'], s['rotate_loss_pkt'], s['rotate_files']],
    [String(N), String(N), String(N), '0', String(r.files.length)],
  );
});

test('--rotate-seconds: each file spans about the interval at most (a quiet feed makes no empty file); the union is every packet once', async (t) => {
  const N = 600;
  const r = await rotateRun(t, ['--rotate-seconds', '0.5'], {
    proto: 'udp',
    port: 9000,
    count: N,
    size: SIZE,
    seed: 4,
    ratePps: 200, // 3 s of traffic
  });
  if (r === null) return;
  assert.ok(r.files.length >= 3, `${r.files.length} files for 3 s of traffic`);
  for (const f of r.files) {
    const recs = (await readPcapFile(f.path)).records;
    assert.ok(recs.length > 0, `${f.path}: no empty file`);
    const ts = (x: { tsSec: number; tsFrac: number }): number => x.tsSec + x.tsFrac / 1e6;
    const span = ts(recs[recs.length - 1]!) - ts(recs[0]!);
    // The interval by the receiver's clock, plus generous room for delivery and a busy box.
    assert.ok(span < 1.5, `${f.path} spans ${span.toFixed(3)} s`);
  }
  assert.deepEqual(await unionOf(r.files), expected(N, 4));
  const s = r.stopped;
  assert.deepEqual(
    [s['rotate_out_pkt'], s['rotate_loss_pkt'], s['rotate_files']],
    [String(N), '0', String(r.files.length)],
  );
});

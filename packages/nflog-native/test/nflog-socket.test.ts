// Proves NflogSocket delivers exactly the packets the kernel logs (per group, byte-exact, truncation, timestamps), counts kernel drops exactly, and fails/ closes with the documented codes.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Netns,
  makeTempDir,
  nftLogged,
  parseIpPacket,
  payloadFor,
  requirePrereqs,
  sendTraffic,
  type TrafficSpec,
} from '@nflog-pipe/testing';
import { NflogError, NflogSocket } from '../src/index.js';
import {
  NFLOG_INDEX_ENTRY_BYTES,
  NFLOG_RECORD_FLAG as F,
  NF_HOOK,
  indexFlags,
  indexSeqGlobal,
} from '../src/index.js';
import { checkChecksums } from './checksum-reference.js';
import { Capture, parseNflogRecord, splitRecords, type CaptureProgress } from './helpers.js';
import { ORDER_FIXTURE_RULESET } from './record-fixture.js';

const NFULA_TIMESTAMP = 3;
const NFULA_PAYLOAD = 9;
const NFULA_PREFIX = 10;
const NFULA_SEQ = 12;

// Group 7: output hook (no kernel timestamp); group 8: input hook (timestamped);
// group 9: truncation; group 10: overrun. TCP is logged only for segments
// carrying data (ip length > 60 excludes SYN/ACK/FIN), so counts are exact.
const RULESET = `
table inet nfp {
  chain out {
    type filter hook output priority 0; policy accept;
    udp dport 9101 log prefix "nfp-a" group 7
    ip length > 60 tcp dport 9103 log prefix "nfp-t" group 7
    udp dport 9104 log group 9
    udp dport 9105 log group 10
  }
  chain in {
    type filter hook input priority 0; policy accept;
    udp dport 9102 log prefix "nfp-b" group 8
  }
}
`;

async function setup(t: TestContext): Promise<{ ns: Netns; dir: string } | null> {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft', 'setpriv'] })) return null;
  // t.after hooks run in order: the namespace (and the captures in it) go before the directory.
  const ns = await Netns.create('native');
  t.after(() => ns.remove());
  const dir = await makeTempDir(t);
  await ns.nft(RULESET);
  return { ns, dir };
}

test('option validation fails before touching the kernel', () => {
  const bad: unknown[] = [
    { groups: [] },
    { groups: [70000] },
    { groups: [1, 1] },
    { groups: [1], linktype: 100 },
    { groups: [1], timeoutMs: -1 },
    { groups: [1], qthresh: 0 },
    { groups: [1], copyRangeBytes: 1.5 },
    { groups: [1], checksums: 'fixed' },
    { groups: [1, 2], orderHoldMs: -1 },
  ];
  for (const options of bad) {
    assert.throws(
      () => NflogSocket.open(options as never, () => {}),
      (err: unknown) => err instanceof NflogError && err.code === 'ERR_NFLOG_INVALID_OPTION',
      JSON.stringify(options),
    );
  }
});

test('linktype 239: exact packets per group, byte-exact payloads, prefix and timestamps survive', async (t) => {
  const env = await setup(t);
  if (env === null) return;
  const file = join(env.dir, 'records-239');
  const cap = new Capture(env.ns, { groups: [7, 8], linktype: 239 }, file);
  await cap.waitFor('ready');
  const t0 = Date.now();
  const traffic: (Required<Omit<TrafficSpec, 'ratePps' | 'sources' | 'srcPort'>> & {
    group: number;
    prefix: string;
    kernelTs: boolean;
  })[] = [
    {
      proto: 'udp',
      family: 4,
      port: 9101,
      count: 5,
      size: 100,
      seed: 1,
      group: 7,
      prefix: 'nfp-a',
      kernelTs: false,
    },
    {
      proto: 'udp',
      family: 6,
      port: 9101,
      count: 4,
      size: 300,
      seed: 2,
      group: 7,
      prefix: 'nfp-a',
      kernelTs: false,
    },
    {
      proto: 'udp',
      family: 4,
      port: 9102,
      count: 3,
      size: 50,
      seed: 3,
      group: 8,
      prefix: 'nfp-b',
      kernelTs: true,
    },
    {
      proto: 'udp',
      family: 6,
      port: 9102,
      count: 2,
      size: 60,
      seed: 4,
      group: 8,
      prefix: 'nfp-b',
      kernelTs: true,
    },
    {
      proto: 'tcp',
      family: 4,
      port: 9103,
      count: 3,
      size: 40,
      seed: 5,
      group: 7,
      prefix: 'nfp-t',
      kernelTs: false,
    },
  ];
  for (const spec of traffic) await sendTraffic(env.ns, spec);
  const expected = traffic.reduce((n, s) => n + s.count, 0);
  await cap.waitFor<CaptureProgress>('progress', (p) => p.packets >= expected);
  const stats = await cap.stop();
  const t1 = Date.now();

  assert.equal(stats['packets'], expected);
  assert.equal(stats['kernelDropped'], 0);
  assert.equal(stats['enobufs'], 0);
  assert.equal(stats['truncated'], 0);
  assert.equal(stats['malformed'], 0);
  const records = splitRecords(await readFile(file));
  assert.equal(records.length, expected);

  const seqs = new Map<number, number[]>();
  const seen = new Map<string, Buffer[]>();
  for (const r of records) {
    assert.equal(r.origLen, r.inclLen, 'small packets are not truncated');
    const us = r.tsSec * 1e6 + r.tsUsec;
    assert.ok(
      us >= t0 * 1000 && us <= (t1 + 1) * 1000,
      `timestamp ${us} outside [${t0}, ${t1}] ms`,
    );
    const rec = parseNflogRecord(r.data);
    assert.equal(rec.version, 0);
    const ip = rec.tlvs.get(NFULA_PAYLOAD);
    assert.ok(ip !== undefined);
    assert.equal(rec.family, ip.readUInt8(0) >> 4 === 4 ? 2 : 10);
    const { dport, payload } = parseIpPacket(ip);
    const spec = traffic.find(
      (s) => s.port === dport && (ip.readUInt8(0) >> 4 === 4 ? 4 : 6) === s.family,
    );
    assert.ok(spec !== undefined, `unexpected port ${dport}`);
    assert.equal(rec.group, spec.group);
    assert.equal(rec.tlvs.get(NFULA_PREFIX)?.toString('latin1'), `${spec.prefix}\0`);
    // The kernel stamps packets only on hooks up to FORWARD.
    assert.equal(rec.tlvs.has(NFULA_TIMESTAMP), spec.kernelTs);
    if (spec.kernelTs) {
      const ts = rec.tlvs.get(NFULA_TIMESTAMP)!;
      assert.equal(r.tsSec, Number(ts.readBigUInt64BE(0)));
      assert.equal(r.tsUsec, Number(ts.readBigUInt64BE(8)));
    }
    const seq = rec.tlvs.get(NFULA_SEQ);
    assert.ok(seq !== undefined, 'NFULNL_CFG_F_SEQ is on');
    seqs.set(rec.group, [...(seqs.get(rec.group) ?? []), seq.readUInt32BE(0)]);
    const key = `${spec.proto}${spec.family}:${spec.port}`;
    seen.set(key, [...(seen.get(key) ?? []), payload]);
  }
  for (const spec of traffic) {
    const got = seen.get(`${spec.proto}${spec.family}:${spec.port}`) ?? [];
    assert.deepEqual(
      got,
      Array.from({ length: spec.count }, (_, i) => payloadFor(spec.seed, i, spec.size)),
      `${spec.proto}/${spec.family} port ${spec.port}`,
    );
  }
  // Per-group sequence numbers start at 0 and have no gaps.
  assert.deepEqual(
    seqs.get(7),
    Array.from({ length: 12 }, (_, i) => i),
  );
  assert.deepEqual(
    seqs.get(8),
    Array.from({ length: 5 }, (_, i) => i),
  );
});

test('linktype 101: raw IP, copy range truncates with the true orig_len', async (t) => {
  const env = await setup(t);
  if (env === null) return;
  const file = join(env.dir, 'records-101');
  const cap = new Capture(env.ns, { groups: [9], copyRangeBytes: 64 }, file);
  await cap.waitFor('ready');
  await sendTraffic(env.ns, { proto: 'udp', family: 4, port: 9104, count: 3, size: 500, seed: 11 });
  await sendTraffic(env.ns, { proto: 'udp', family: 6, port: 9104, count: 2, size: 500, seed: 12 });
  await sendTraffic(env.ns, { proto: 'udp', family: 4, port: 9104, count: 2, size: 10, seed: 13 });
  await cap.waitFor<CaptureProgress>('progress', (p) => p.packets >= 7);
  const stats = await cap.stop();
  assert.equal(stats['packets'], 7);
  assert.equal(stats['truncated'], 5);
  const records = splitRecords(await readFile(file));
  const summary = records.map((r) => [r.inclLen, r.origLen]);
  // Kernel batches of one group arrive in order.
  assert.deepEqual(summary, [
    [64, 528],
    [64, 528],
    [64, 528],
    [64, 548],
    [64, 548],
    [38, 38],
    [38, 38],
  ]);
  const v4 = records[0]!.data;
  assert.equal(v4.readUInt8(0) >> 4, 4);
  assert.deepEqual(v4.subarray(28), payloadFor(11, 0, 500).subarray(0, 36));
  const v6 = records[4]!.data;
  assert.equal(v6.readUInt8(0) >> 4, 6);
  assert.deepEqual(v6.subarray(48), payloadFor(12, 1, 500).subarray(0, 16));
  assert.deepEqual(parseIpPacket(records[6]!.data).payload, payloadFor(13, 1, 10));
});

test('a group bound by another socket fails with EPERM from NFULNL_CFG_CMD_BIND', async (t) => {
  const env = await setup(t);
  if (env === null) return;
  const first = new Capture(env.ns, { groups: [7] }, join(env.dir, 'first'));
  await first.waitFor('ready');
  const second = new Capture(env.ns, { groups: [8, 7] }, join(env.dir, 'second'));
  const err = await second.waitFor<{ code: string; errno: number; syscall: string; group: number }>(
    'error',
  );
  assert.equal(await second.exited, 1);
  // Measured: the kernel answers EPERM (not EBUSY) when another port id owns the group.
  assert.deepEqual(
    { code: err.code, errno: err.errno, syscall: err.syscall, group: err.group },
    { code: 'EPERM', errno: 1, syscall: 'NFULNL_CFG_CMD_BIND', group: 7 },
  );
  await first.stop();
});

test('unbind(): the batch the kernel still holds is delivered before it returns, and the group is free again', async (t) => {
  const env = await setup(t);
  if (env === null) return;
  // A 60 s flush timeout: on its own the kernel would hold these 50 packets past the test.
  const cap = new Capture(env.ns, { groups: [7], timeoutMs: 60_000 }, join(env.dir, 'unbind'));
  await cap.waitFor('ready');
  await sendTraffic(env.ns, { proto: 'udp', port: 9101, count: 50, size: 64, seed: 21 });
  const progress = (): unknown => Capture.last(cap.handle.stdout().toString('utf8'), 'progress');
  assert.equal(progress(), undefined, 'the kernel holds the batch');
  cap.handle.kill('SIGUSR1');
  const unbound = await cap.waitFor<{ error: string; packets: number }>('unbound');
  assert.deepEqual(unbound, { error: 'ok', packets: 50 });
  // Nothing holds group 7 now: another socket binds it (it would get EPERM otherwise).
  const next = new Capture(env.ns, { groups: [7] }, join(env.dir, 'unbind-next'));
  await next.waitFor('ready');
  await next.stop();
  const stats = await cap.stop();
  assert.deepEqual([stats['packets'], stats['kernelDropped']], [50, 0]);
  const records = splitRecords(await readFile(join(env.dir, 'unbind')));
  assert.equal(records.length, 50);
  records.forEach((r, i) =>
    assert.deepEqual(parseIpPacket(r.data).payload, payloadFor(21, i, 64), `packet ${i}`),
  );
});

test('without CAP_NET_ADMIN open fails with EPERM from the first config request', async (t) => {
  const env = await setup(t);
  if (env === null) return;
  const dropCap = ['setpriv', '--bounding-set=-net_admin', '--inh-caps=-net_admin'];
  const cap = new Capture(env.ns, { groups: [7] }, join(env.dir, 'nocap'), dropCap);
  const err = await cap.waitFor<{ code: string; syscall: string }>('error');
  assert.equal(await cap.exited, 1);
  // SO_RCVBUFFORCE falls back to SO_RCVBUF; PF_BIND is the first privileged request.
  assert.deepEqual([err.code, err.syscall], ['EPERM', 'NFULNL_CFG_CMD_PF_BIND']);
});

test('close() twice is safe, later calls throw ERR_NFLOG_CLOSED, clamped values are warned', async (t) => {
  const env = await setup(t);
  if (env === null) return;
  const cap = new Capture(
    env.ns,
    { groups: [7], lifecycle: true, nlbufsizBytes: 1 << 20, timeoutMs: 15, copyRangeBytes: 70000 },
    join(env.dir, 'lifecycle'),
  );
  const got = await cap.waitFor<Record<string, unknown>>('lifecycle');
  assert.equal(await cap.exited, 0);
  assert.deepEqual(got, {
    warnings: [
      'copyRangeBytes 70000 clamped to 65531 (kernel NFULNL_COPY_RANGE_MAX)',
      'nlbufsizBytes 1048576 clamped to 131072 (the kernel ignores larger values)',
      'timeoutMs 15 rounded up to 20 (kernel unit 1/100 s)',
    ],
    secondClose: 'ok',
    closed: true,
    stats: 'ERR_NFLOG_CLOSED',
    ref: 'ERR_NFLOG_CLOSED',
    unref: 'ERR_NFLOG_CLOSED',
    pause: 'ERR_NFLOG_CLOSED',
    resume: 'ERR_NFLOG_CLOSED',
  });
});

test('an overrun is counted exactly: logged = read + kernelDropped, enobufs > 0', async (t) => {
  const env = await setup(t);
  if (env === null) return;
  const file = join(env.dir, 'records-drop');
  // qthresh 1: every packet is its own kernel batch; a tiny receive buffer
  // holds one batch, so the rest of the burst is dropped while paused.
  const cap = new Capture(
    env.ns,
    { groups: [10], qthresh: 1, rcvbufBytes: 4096, startPaused: true },
    file,
  );
  await cap.waitFor('ready');
  const burst = 200;
  await sendTraffic(env.ns, {
    proto: 'udp',
    family: 4,
    port: 9105,
    count: burst,
    size: 100,
    seed: 21,
  });
  cap.handle.kill('SIGUSR2');
  await cap.waitFor('resumed');
  // A packet after the overrun: its sequence number reveals the whole gap.
  await sendTraffic(env.ns, { proto: 'udp', family: 4, port: 9105, count: 1, size: 100, seed: 22 });
  const logged = burst + 1;
  await cap.waitFor<CaptureProgress>('progress', (p) => p.packets + p.kernelDropped >= logged);
  const stats = await cap.stop();
  t.diagnostic(`overrun: ${JSON.stringify(stats)}`);
  assert.equal(stats['packets']! + stats['kernelDropped']!, logged);
  assert.ok(stats['kernelDropped']! > 0, 'the burst overflowed the receive buffer');
  assert.ok(stats['enobufs']! > 0, 'ENOBUFS was reported');
  const records = splitRecords(await readFile(file));
  assert.equal(records.length, stats['packets']);
  // The last record is the packet sent after the overrun.
  assert.deepEqual(
    parseIpPacket(records[records.length - 1]!.data).payload,
    payloadFor(22, 0, 100),
  );
});

test('an overrun while reading live does not stop the reader (POLLERR is ENOBUFS, not EBADF)', async (t) => {
  const env = await setup(t);
  if (env === null) return;
  const file = join(env.dir, 'records-live-drop');
  const cap = new Capture(env.ns, { groups: [10], qthresh: 1, rcvbufBytes: 4096 }, file);
  await cap.waitFor('ready');
  // Bursts into a socket that holds one kernel batch: libuv sees POLLERR while
  // watching it, which must be read through, not treated as a dead socket.
  const burst = 400;
  let logged = 0;
  for (let round = 0; round < 3; round++) {
    await sendTraffic(env.ns, {
      proto: 'udp',
      family: 4,
      port: 9105,
      count: burst,
      size: 1000,
      seed: 30 + round,
    });
    logged += burst;
  }
  await sendTraffic(env.ns, { proto: 'udp', family: 4, port: 9105, count: 1, size: 100, seed: 39 });
  logged += 1;
  await cap.waitFor<CaptureProgress>('progress', (p) => p.packets + p.kernelDropped >= logged);
  const stats = await cap.stop();
  t.diagnostic(`live overrun: ${JSON.stringify(stats)}`);
  assert.equal(stats['packets']! + stats['kernelDropped']!, logged);
  const records = splitRecords(await readFile(file));
  assert.deepEqual(
    parseIpPacket(records[records.length - 1]!.data).payload,
    payloadFor(39, 0, 100),
  );
});

test('two groups flushing at different times: delivered in kernel order (NFULA_SEQ_GLOBAL), with an index entry per record', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft', 'ping'] })) return;
  const ns = await Netns.create('native-order');
  t.after(() => ns.remove());
  const dir = await makeTempDir(t);
  // Group 7 on the output hook batches (flush timeout), group 8 on the input hook flushes every
  // packet at once (queue-threshold 1): its records reach the socket before older ones of 7.
  await ns.nft(ORDER_FIXTURE_RULESET);
  const file = join(dir, 'records');
  const cap = new Capture(ns, { groups: [7, 8], timeoutMs: 50 }, file);
  await cap.waitFor('ready');
  await sendTraffic(ns, { proto: 'udp', family: 4, port: 9301, count: 20, size: 20, seed: 1 });
  await sendTraffic(ns, { proto: 'udp', family: 6, port: 9301, count: 20, size: 30, seed: 2 });
  await sendTraffic(ns, { proto: 'tcp', family: 4, port: 9302, count: 5, size: 40, seed: 3 });
  await sendTraffic(ns, { proto: 'icmp', family: 6, count: 2, size: 16, seed: 4 });
  const expected = 40 * 2 + 2;
  await cap.waitFor<CaptureProgress>('progress', (p) => p.packets >= expected + 10);
  const stats = await cap.stop();
  const records = splitRecords(await readFile(file));
  const index = await readFile(`${file}.index`);
  assert.equal(index.length, records.length * NFLOG_INDEX_ENTRY_BYTES);
  assert.equal(records.length, stats['packets']);
  assert.deepEqual([stats['orderLate'], stats['orderForced'], stats['held']], [0, 0, 0]);
  // Only this socket asks for NFULA_SEQ_GLOBAL in the namespace: 1, 2, 3, ... with no gap.
  const seqs = records.map((_, i) => indexSeqGlobal(index, i));
  assert.deepEqual(
    seqs,
    Array.from({ length: records.length }, (_, i) => i + 1),
  );
  let inputs = 0;
  for (const [i, r] of records.entries()) {
    const flags = indexFlags(index, i);
    const hook = index[i * NFLOG_INDEX_ENTRY_BYTES + 14];
    const group = index.readUInt16LE(i * NFLOG_INDEX_ENTRY_BYTES + 12);
    assert.ok(flags & F.SEQ_GLOBAL);
    if (group === 8) {
      inputs++;
      assert.deepEqual(
        [hook, flags & (F.INDEV | F.KERNEL_TS | F.CHECKSUM_FIXED)],
        [NF_HOOK.LOCAL_IN, F.INDEV | F.KERNEL_TS],
      );
      // Each datagram is logged leaving (7) and then arriving (8): right after its output copy.
      assert.equal(index.readUInt16LE((i - 1) * NFLOG_INDEX_ENTRY_BYTES + 12), 7);
    } else {
      assert.equal(hook, NF_HOOK.LOCAL_OUT);
      assert.equal(flags & (F.INDEV | F.OUTDEV), F.OUTDEV);
      assert.equal(checkChecksums(r.data).l4, true, 'completed as on the wire');
    }
  }
  assert.equal(inputs, 40);
  assert.ok(stats['checksumsFixed']! > 0);
});

test('GSO super-packets on lo: cut at 65531 bytes, counted truncated with their real length, transport checksums left as logged', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft'] })) return;
  const ns = await Netns.create('native-gso');
  t.after(() => ns.remove());
  const dir = await makeTempDir(t);
  await ns.nft(`
table inet gso {
  chain out {
    type filter hook output priority 0; policy accept;
    tcp dport 9401 counter log group 11
  }
}
`);
  const file = join(dir, 'records');
  const cap = new Capture(ns, { groups: [11] }, file);
  await cap.waitFor('ready');
  // About 4 MiB per family, written as fast as TCP takes it: lo (MTU 65536, TSO) hands the
  // hooks super-packets.
  for (const family of [4, 6] as const)
    await sendTraffic(ns, { proto: 'bulk', family, port: 9401, count: 64, size: 65000, seed: 7 });
  const logged = await nftLogged(ns, 11);
  await cap.waitFor<CaptureProgress>('progress', (p) => p.packets >= logged);
  const stats = await cap.stop();
  const records = splitRecords(await readFile(file));
  const index = await readFile(`${file}.index`);
  assert.equal(records.length, logged);
  let cut = 0;
  let zeroLength = 0;
  for (const [i, r] of records.entries()) {
    const flags = indexFlags(index, i);
    const v4 = r.data[0]! >> 4 === 4;
    const ipLength = v4 ? r.data.readUInt16BE(2) : r.data.readUInt16BE(4);
    assert.ok(r.inclLen <= 65531, 'NFLOG copies at most 65531 bytes');
    // Cut exactly where the records are cut, and told so; whole otherwise.
    assert.equal((flags & F.TRUNCATED) !== 0, r.origLen > r.inclLen, `record ${i}`);
    if (r.origLen > r.inclLen) {
      cut++;
      assert.equal(r.inclLen, 65531, 'only NFLOG limit cuts here');
      assert.ok(flags & F.CHECKSUM_INCOMPLETE, 'a cut segment cannot be completed');
      assert.ok(!(flags & F.CHECKSUM_FIXED));
    } else {
      assert.equal(checkChecksums(r.data).l4, true, 'whole local segments are completed');
    }
    if (ipLength === 0) {
      // BIG TCP: the total length says nothing, so orig_len is the least it can be.
      zeroLength++;
      // (IPv6 may carry a jumbo option with the real length, which is larger still.)
      assert.ok(r.origLen >= (v4 ? 65536 : 65576), `BIG TCP record ${i}: ${r.origLen}`);
    } else {
      assert.equal(r.origLen, v4 ? ipLength : 40 + ipLength, `record ${i}: the IP header's length`);
    }
  }
  t.diagnostic(`${records.length} records, ${cut} cut, ${zeroLength} with IP length 0`);
  assert.ok(cut > 0, 'lo carries packets larger than NFLOG copies');
  assert.equal(stats['truncated'], cut);
  assert.equal(stats['checksumsIncomplete'], cut);
});

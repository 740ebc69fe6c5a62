// Proves nflog-pcap-query against a real receiver: exact packet sets per filter (checked with tshark), no loss while querying, bounded failure, rejected requests.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Push } from 'zeromq';
import { encodeRecords, readPcap, readPcapFile } from '@nflog-pipe/pcap-writer';
import { encodeFrame, encodeQueryRequest } from '@nflog-pipe/shared';
import { fetchDump } from '@nflog-pipe/query';
import {
  binPath,
  makeTempDir,
  requirePrereqs,
  spawnChild,
  tsharkFields,
  withTimeout,
  TEST_TIMEOUT_MS,
  type ChildHandle,
  ipv4,
  runTool,
  type ToolRun,
} from '@nflog-pipe/testing';

const TS = 1_700_000_000;

function udp(sport: number, dport: number, id: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(sport, 0);
  b.writeUInt16BE(dport, 2);
  b.writeUInt16BE(12, 4);
  b.writeUInt32BE(id, 8);
  return b;
}

function tcp(sport: number, dport: number, id: number): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt16BE(sport, 0);
  b.writeUInt16BE(dport, 2);
  b.writeUInt32BE(id, 4);
  b[12] = 5 << 4;
  b[13] = 0x10;
  return b;
}

function icmp(id: number): Buffer {
  const b = Buffer.from([8, 0, 0, 0, 0, 0, 0, 0]);
  b.writeUInt16BE(id, 6);
  return b;
}

/** Packet i: a deterministic mix of hosts, protocols and ports; timestamp TS + i s. */
function packet(i: number): Buffer {
  const host = `10.0.${i % 3}.${1 + (i % 5)}`;
  switch (i % 3) {
    case 0:
      return ipv4(host, '192.168.7.7', 17, udp(40000 + i, 53, i));
    case 1:
      return ipv4('192.168.7.7', host, 6, tcp(443, 50000 + i, i));
    default:
      return ipv4(host, '172.16.1.1', 1, icmp(i));
  }
}

const N = 60;

async function receiver(
  t: TestContext,
  extra: string[] = [],
): Promise<{ recv: ChildHandle; q: string; push: Push; dir: string }> {
  const dir = await makeTempDir(t);
  const ep = `ipc://${join(dir, 'in.sock')}`;
  const q = `ipc://${join(dir, 'q.sock')}`;
  const recv = spawnChild(process.execPath, [
    binPath('nflog-pcap-recv'),
    ep,
    join(dir, 'out.pcap'),
    '--buffer-interface',
    q,
    '--stats-interval',
    '0.05',
    ...extra,
  ]);
  t.after(() => recv.kill('SIGKILL'));
  await recv.waitForStderr(/ started /);
  const push = new Push({ linger: 0 });
  push.connect(ep);
  t.after(() => push.close());
  return { recv, q, push, dir };
}

/** nflog-pcap-query `args` to completion. */
function query(args: string[]): Promise<ToolRun> {
  return runTool('nflog-pcap-query', args);
}

test('filters select exactly the right packets (checked with tshark)', async (t) => {
  if (!requirePrereqs(t, { tools: ['tshark'] })) return;
  const { recv, q, push, dir } = await receiver(t);
  for (let f = 0; f < N / 10; f++) {
    const recs = encodeRecords(
      Array.from({ length: 10 }, (_, k) => ({
        tsSec: TS + f * 10 + k,
        tsFrac: 0,
        data: packet(f * 10 + k),
      })),
    );
    await push.send(
      encodeFrame({ linktype: 101, senderId: 7n, firstSeq: BigInt(f * 10), count: 10 }, recs),
    );
  }
  await recv.waitForStderr(new RegExp(`stats .*in_pkt=${N} `));

  // Packet ids as tshark sees them: frame.time_epoch → id (timestamps are TS + id).
  const idsOf = async (file: string, filter?: string): Promise<number[]> =>
    (await tsharkFields(file, ['frame.time_epoch'], filter)).map(
      (row) => Math.round(Number(row[0])) - TS,
    );
  const all = Array.from({ length: N }, (_, i) => i);
  const cases: [string[], (i: number) => boolean][] = [
    [[], () => true],
    [['--proto', 'udp'], (i) => i % 3 === 0],
    [['--proto', 'tcp'], (i) => i % 3 === 1],
    [['--proto', 'icmp'], (i) => i % 3 === 2],
    [['--port', '53'], (i) => i % 3 === 0],
    [['--port', `${50000 + 4}`], (i) => i === 4],
    [['--host', '10.0.1.2'], (i) => i % 3 === 1 && i % 5 === 1],
    [['--net', '10.0.2.0/24'], (i) => i % 3 === 2],
    [['--net', '172.16.0.0/12', '--proto', 'icmp'], (i) => i % 3 === 2],
    [['--since', String(TS + 10), '--until', String(TS + 20)], (i) => i >= 10 && i < 20],
    [['--since', new Date((TS + 55) * 1000).toISOString()], (i) => i >= 55],
  ];
  for (const [k, [args, want]] of cases.entries()) {
    const file = join(dir, `q${k}.pcap`);
    const r = await query([q, '-w', file, ...args]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await idsOf(file), all.filter(want), args.join(' '));
  }
  // tshark's own filters agree on the whole dump.
  const whole = join(dir, 'q0.pcap');
  assert.deepEqual(
    await idsOf(whole, 'udp.port == 53'),
    all.filter((i) => i % 3 === 0),
  );
  assert.deepEqual(
    await idsOf(whole, 'ip.addr == 10.0.1.2'),
    all.filter((i) => i % 3 === 1 && i % 5 === 1),
  );

  // --max-bytes keeps the newest records that fit, the header included.
  const sizes = (await readPcapFile(whole)).records.map((r) => 16 + r.inclLen);
  const limit = 24 + sizes.slice(-7).reduce((a, b) => a + b, 0) + 5;
  const capped = await query([q, '--max-bytes', String(limit)]);
  assert.equal(capped.code, 0, capped.stderr);
  assert.deepEqual(
    readPcap(capped.stdout).records.map((r) => r.tsSec - TS),
    all.slice(-7),
  );
  // --last uses the receiver's clock: these 2023 timestamps are all older than a minute.
  const last = await query([q, '--last', '1m']);
  assert.equal(last.stdout.length, 24);
  // The stdout dump equals the -w file byte for byte.
  assert.deepEqual((await query([q])).stdout, await readFile(whole));
});

test('queries during a traffic stream cause no loss', async (t) => {
  const { recv, q, push, dir } = await receiver(t, ['--buffer-window', '0.05']);
  const frames = 400;
  let querying = true;
  let served = 0;
  const queries = (async () => {
    while (querying) {
      const r = await query([q, '--proto', 'udp']);
      assert.equal(r.code, 0, r.stderr);
      served++;
    }
  })();
  for (let f = 0; f < frames; f++) {
    const recs = encodeRecords(
      Array.from({ length: 10 }, (_, k) => ({
        tsSec: TS,
        tsFrac: f * 10 + k,
        data: packet(f * 10 + k),
      })),
    );
    await push.send(
      encodeFrame({ linktype: 101, senderId: 8n, firstSeq: BigInt(f * 10), count: 10 }, recs),
    );
    if (f % 40 === 0) await new Promise((r) => setImmediate(r));
  }
  await recv.waitForStderr(new RegExp(`stats .*in_pkt=${frames * 10} `));
  querying = false;
  await queries;
  recv.kill('SIGTERM');
  assert.equal((await withTimeout(recv.exited, TEST_TIMEOUT_MS, 'receiver')).code, 0);
  const stopped = recv
    .stderr()
    .split('\n')
    .find((l) => l.includes(': stopped '))!;
  assert.match(
    stopped,
    new RegExp(` out_pkt=${frames * 10} .*loss_network_pkt=0 loss_fifo_pkt=0 `),
  );
  assert.ok(served >= 1);
  assert.match(stopped, new RegExp(` queries=${served} `));
  assert.equal((await readPcapFile(join(dir, 'out.pcap'))).records.length, frames * 10);
});

test('an unreachable receiver: one clear line, exit 1, within the timeout', async () => {
  const r = await query(['ipc:///nonexistent/nflog-q.sock', '--timeout', '0.5']);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    'nflog-pcap-query: no reply from ipc:///nonexistent/nflog-q.sock within 0.5s\n',
  );
  assert.equal(r.stdout.length, 0);
});

test('bad usage exits 2 before contacting anyone', async () => {
  for (const args of [
    ['ipc:///x', '--host', 'nope'],
    ['ipc:///x', '--net', '10.0.0.0/40'],
    ['ipc:///x', '--proto', 'gre'],
    ['ipc:///x', '--last', '1s', '--since', '1'],
    ['nope'],
  ]) {
    const r = await query(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, /^nflog-pcap-query: /);
  }
});

test('the Python client request ("q") gets the whole buffer as header + parts + empty part', async (t) => {
  const { recv, q, push } = await receiver(t);
  await push.send(
    encodeFrame(
      { linktype: 101, senderId: 1n, firstSeq: 0n, count: 1 },
      encodeRecords([{ tsSec: TS, tsFrac: 0, data: packet(0) }]),
    ),
  );
  await recv.waitForStderr(/stats .*in_pkt=1 /);
  const { Request } = await import('zeromq');
  const req = new Request({ linger: 0, receiveTimeout: TEST_TIMEOUT_MS });
  t.after(() => req.close());
  req.connect(q);
  await req.send('q');
  const parts = await req.receive();
  assert.equal(parts.length, 3);
  assert.equal(parts[0]!.length, 24);
  assert.equal(parts[2]!.length, 0);
  assert.deepEqual(
    readPcap(Buffer.concat(parts)).records.map((r) => r.data),
    [packet(0)],
  );
});

test('a request the receiver rejects gets its error reply, and the client says so (ERR_QUERY_REJECTED)', async (t) => {
  const { q } = await receiver(t);
  // The CLI never builds this (the protocol refuses it on both ends), so send the bytes raw.
  await assert.rejects(fetchDump(q, Buffer.from('{"v":1,"port":70000}'), TEST_TIMEOUT_MS), {
    code: 'ERR_QUERY_REJECTED',
    message: 'receiver rejected the query: port: must be an integer in 0..65535, got 70000',
    cause: { code: 'ERR_QUERY_BAD_REQUEST' },
  });
  // The receiver goes on serving.
  const parts = await fetchDump(q, encodeQueryRequest({ proto: 'udp' }), TEST_TIMEOUT_MS);
  assert.deepEqual(
    parts.map((p) => p.length),
    [24, 0],
  );
});

// Proves the shared test helpers work for real: namespaces come and go, loopback traffic is
// captured with exact counts, children are tracked, and the statsd listener parses real datagrams.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import {
  Netns,
  StatsdListener,
  binPath,
  LO_MARKER_PORT,
  captureLo,
  makeTempDir,
  mkfifo,
  payloadFor,
  requirePrereqs,
  runCommand,
  sendTraffic,
  spawnChild,
  TRAFFIC_SCRIPT,
  tcpdumpRead,
  tsharkFields,
  withTimeout,
} from '../src/index.js';

test('payloadFor is deterministic and starts with seed and index', () => {
  const p = payloadFor(7, 258, 12);
  assert.deepEqual([...p.subarray(0, 8)], [0, 0, 0, 7, 0, 0, 1, 2]);
  assert.deepEqual(p, payloadFor(7, 258, 12));
  assert.notDeepEqual(p, payloadFor(7, 259, 12));
  // The bytes recorded fixtures hold (nflog-native's nflog-datagrams.bin): seed, index, pattern.
  assert.equal(payloadFor(1, 1, 12).toString('hex'), '00000001000000012e2f3031');
  assert.deepEqual([...payloadFor(1, 2, 3)], [0, 0, 0]);
  assert.equal(payloadFor(1, 2, 0).length, 0);
});

test('requirePrereqs: true when present, skip with a reason outside CI, throw under CI', () => {
  const skipped: (string | undefined)[] = [];
  const fake = { skip: (m?: string) => skipped.push(m) } as unknown as TestContext;
  const saved = process.env['CI'];
  try {
    delete process.env['CI'];
    assert.equal(requirePrereqs(fake, { tools: ['sh'] }), true);
    assert.equal(requirePrereqs(fake, { tools: ['sh', 'nfp-no-such-tool'] }), false);
    assert.deepEqual(skipped, ['needs nfp-no-such-tool']);
    process.env['CI'] = 'true';
    assert.throws(() => requirePrereqs(fake, { tools: ['nfp-no-such-tool'] }), {
      code: 'ERR_TEST_PREREQ',
    });
    assert.equal(skipped.length, 1);
  } finally {
    if (saved === undefined) delete process.env['CI'];
    else process.env['CI'] = saved;
  }
});

test('withTimeout rejects with ERR_TEST_TIMEOUT and passes results through', async () => {
  assert.equal(await withTimeout(Promise.resolve(5), 1000, 'five'), 5);
  await assert.rejects(withTimeout(new Promise(() => {}), 1, 'never'), {
    code: 'ERR_TEST_TIMEOUT',
  });
});

test('binPath points at packages/<pkg>/bin/<tool>.js', () => {
  assert.match(binPath('nflog-zmq-send'), /\/packages\/sender\/bin\/nflog-zmq-send\.js$/);
  assert.match(binPath('nflog-pcap-recv'), /\/packages\/receiver\/bin\/nflog-pcap-recv\.js$/);
  assert.match(binPath('nflog-pcap-query'), /\/packages\/query\/bin\/nflog-pcap-query\.js$/);
  assert.match(binPath('nflog-zmq-compress'), /\/packages\/compress\/bin\/nflog-zmq-compress\.js$/);
  assert.match(
    binPath('nflog-zmq-decompress'),
    /\/packages\/compress\/bin\/nflog-zmq-decompress\.js$/,
  );
  assert.match(binPath('nflog-zmq-keygen'), /\/packages\/keygen\/bin\/nflog-zmq-keygen\.js$/);
});

test('makeTempDir and mkfifo create a FIFO', async (t) => {
  const dir = await makeTempDir(t);
  const fifo = join(dir, 'f');
  await mkfifo(fifo);
  assert.ok(statSync(fifo).isFIFO());
  await assert.rejects(mkfifo(fifo));
});

test('spawnChild accumulates output, waits for patterns and reports the exit', async () => {
  const h = spawnChild(process.execPath, [
    '-e',
    'process.stderr.write("ready 42\\n"); process.stdout.write("out"); process.exitCode = 3',
  ]);
  const m = await h.waitForStderr(/ready (\d+)/);
  assert.equal(m[1], '42');
  assert.deepEqual(await h.exited, { code: 3, signal: null });
  assert.equal(h.stdout().toString(), 'out');
  await assert.rejects(h.waitForStdout(/never/), /exited before/);
});

test('spawnChild kill() stops a running child by PID', async () => {
  const h = spawnChild(process.execPath, [
    '-e',
    'setInterval(() => {}, 1000); process.stderr.write("up\\n")',
  ]);
  await h.waitForStderr(/up/);
  h.kill();
  assert.deepEqual(await h.exited, { code: null, signal: 'SIGTERM' });
});

test('the traffic script refuses specs beyond its caps or malformed, before sending anything', async () => {
  const bad = [
    { proto: 'udp', count: 1_000_001, size: 10 },
    { proto: 'udp', count: 1.5, size: 10 },
    { proto: 'udp', count: 1, size: 65508 },
    { proto: 'tcp', count: 1, size: 0 },
    { proto: 'sctp', count: 1, size: 10 },
    { proto: 'udp', family: 5, count: 1, size: 10 },
    { proto: 'udp', count: 1, size: 10, port: 70000 },
    { proto: 'udp', count: 1, size: 10, ratePps: 0 },
  ];
  for (const spec of bad) {
    const r = await runCommand(process.execPath, [TRAFFIC_SCRIPT, JSON.stringify(spec)], {
      allowFail: true,
    });
    assert.equal(r.code, 1, JSON.stringify(spec));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^traffic: /);
  }
});

test('StatsdListener parses multi-line datagrams and sums values', async (t) => {
  const listener = await StatsdListener.start();
  t.after(() => listener.close());
  const sock = dgram.createSocket('udp4');
  t.after(() => sock.close());
  const waiting = listener.waitFor('a.b', (n) => n === 12);
  sock.send('a.b:5|c\nother:1|g\na.b:7|c|@0.5\n', listener.port, '127.0.0.1');
  assert.equal(await waiting, 12);
  assert.deepEqual(listener.lines, ['a.b:5|c', 'other:1|g', 'a.b:7|c|@0.5']);
  assert.equal(listener.total('other'), 1);
  assert.equal(listener.total('missing'), 0);
  assert.equal(listener.datagrams, 1);
  await listener.close();
  await listener.close();
});

test('Netns create/remove, nft inside, and UDP traffic captured with the exact count', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft', 'tcpdump', 'tshark'] })) return;
  const dir = await makeTempDir(t);
  const ns = await Netns.create('testing');
  t.after(() => ns.remove());
  assert.ok(existsSync(`/var/run/netns/${ns.name}`));
  const { stdout } = await ns.run('ip', ['-o', 'link', 'show', 'lo']);
  assert.match(stdout, /UP/);
  await ns.nft(
    'table inet nfp_t {\n chain out {\n  type filter hook output priority 0;\n  udp dport 9999 counter\n }\n}\n',
  );
  const rules = await ns.run('nft', ['list', 'table', 'inet', 'nfp_t']);
  assert.match(rules.stdout, /udp dport 9999 counter packets 0/);

  const file = join(dir, 'lo.pcap');
  const cap = await captureLo(ns, file);
  const result = await sendTraffic(ns, { proto: 'udp', port: 9999, count: 25, size: 100, seed: 3 });
  assert.deepEqual(result, { sent: 25 });
  await cap.stop(25);

  const { count, lines } = await tcpdumpRead(file);
  assert.equal(count, 25, lines.join('\n'));
  assert.ok(
    lines.every((l) => /127\.0\.0\.1\.\d+ > 127\.0\.0\.1\.9999: UDP, length 100$/.test(l)),
    lines[0],
  );
  const payloads = await tsharkFields(file, ['udp.payload']);
  assert.equal(payloads.length, 25);
  assert.deepEqual(payloads[4], [payloadFor(3, 4, 100).toString('hex')]);
  // The kernel saw the same number at the nft hook: no ICMP errors, no extra packets.
  const after = await ns.run('nft', ['list', 'table', 'inet', 'nfp_t']);
  assert.match(after.stdout, /udp dport 9999 counter packets 25 bytes 3200/);

  await ns.remove();
  await ns.remove();
  assert.ok(!existsSync(`/var/run/netns/${ns.name}`));
});

test('TCP and ICMP traffic (IPv6 too) inside a namespace', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'tcpdump', 'ping'] })) return;
  const dir = await makeTempDir(t);
  const ns = await Netns.create('traffic');
  t.after(() => ns.remove());
  const file = join(dir, 'lo.pcap');
  const cap = await captureLo(ns, file);
  assert.deepEqual(await sendTraffic(ns, { proto: 'tcp', port: 7777, count: 5, size: 50 }), {
    sent: 5,
  });
  assert.deepEqual(await sendTraffic(ns, { proto: 'icmp', count: 3, size: 20 }), { sent: 3 });
  assert.deepEqual(
    await sendTraffic(ns, { proto: 'udp', family: 6, count: 4, size: 8, ratePps: 1000 }),
    { sent: 4 },
  );
  // 5 writes + handshake/acks/FIN exchange, 3 requests + 3 replies, 4 datagrams: at least 19.
  await cap.stop(19);
  const { lines } = await tcpdumpRead(file);
  assert.equal(
    lines.filter((l) => /\.7777: Flags \[P\.\].*length 50$/.test(l)).length,
    5,
    lines.join('\n'),
  );
  assert.equal(
    lines.filter((l) => /ICMP echo request.*length 28$/.test(l)).length,
    3,
    lines.join('\n'),
  );
  assert.equal(
    lines.filter((l) => /IP6 ::1\.\d+ > ::1\.\d+: UDP, length 8$/.test(l)).length,
    4,
    lines.join('\n'),
  );
});

test('stopAtMarker: TCP traffic of unknown packet count is captured completely, the marker last', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'tcpdump'] })) return;
  const dir = await makeTempDir(t);
  const ns = await Netns.create('marker');
  t.after(() => ns.remove());
  const file = join(dir, 'lo.pcap');
  const cap = await captureLo(ns, file);
  assert.deepEqual(await sendTraffic(ns, { proto: 'tcp', port: 7778, count: 30, size: 60 }), {
    sent: 30,
  });
  await cap.stopAtMarker();
  const { lines } = await tcpdumpRead(file);
  assert.equal(
    lines.filter((l) => /\.7778: Flags \[P\.\].*length 60$/.test(l)).length,
    30,
    lines.join('\n'),
  );
  assert.match(
    lines.at(-1)!,
    new RegExp(`127\\.0\\.0\\.1\\.\\d+ > 127\\.0\\.0\\.1\\.${LO_MARKER_PORT}: UDP, length 1$`),
  );
});

test('Netns.remove kills its children and run() reports failures', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip'] })) return;
  const ns = await Netns.create('kill');
  t.after(() => ns.remove());
  const h = ns.spawn(process.execPath, [
    '-e',
    'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000); process.stderr.write("up\\n")',
  ]);
  await h.waitForStderr(/up/);
  await assert.rejects(ns.run('false', []), { code: 'ERR_TEST_COMMAND' });
  assert.equal((await ns.run('false', [], { allowFail: true })).code, 1);
  await ns.remove();
  // SIGTERM is ignored, so only the SIGKILL after the grace period can have ended it.
  assert.deepEqual(await h.exited, { code: null, signal: 'SIGKILL' });
  const list = await runCommand('ip', ['netns', 'list']);
  assert.ok(!list.stdout.includes(ns.name));
});

// Proves the receiver's operator messages: an endpoint-looking DST (a forgotten DST) is a usage error that says so and shows the usage line with DST; a DST that does not exist is created as a regular file with a log line (under /run: the forgotten-mkfifo warning); the first drop of a full FIFO queue is one WARN with the reader's state, for a reader that does not read and for none at all; the options of the new outputs are checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeFrame } from '@nflog-pipe/shared';
import {
  logField,
  makeTempDir,
  requirePrereqs,
  runTool,
  spawnChild,
  stopCleanly,
} from '@nflog-pipe/testing';
import { pushSocket, startReceiver, startFifoReceiver } from './e2e-util.js';
import { numbered, records } from './helpers.js';

const USAGE = 'usage: nflog-pcap-recv [options] ENDPOINT... DST';

test('forgetting DST: an endpoint as the last argument is a usage error naming it, with the usage line; --help shows DST', async () => {
  for (const args of [
    ['tcp://127.0.0.1:5555'],
    ['tcp://127.0.0.1:5555', 'ipc:///run/nflog-in.sock'],
  ]) {
    const r = await runTool('nflog-pcap-recv', args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^nflog-pcap-recv: DST is missing: [^\n]+\n$/);
    assert.ok(r.stderr.includes(`the last argument ${args[args.length - 1]} is an endpoint`));
    assert.ok(r.stderr.includes(USAGE), r.stderr);
  }
  const help = await runTool('nflog-pcap-recv', ['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout.toString(), /^Usage: nflog-pcap-recv \[options\] ENDPOINT\.\.\. DST$/m);
});

test('usage errors of the outputs: linktypes other than 101/239, disagreeing linktype flags, options without their output', async () => {
  const cases: [string[], RegExp][] = [
    [['--linktype', '1'], /not a linktype the receiver writes \(101 raw IP, 239 NFLOG\)/],
    [['--fifo-linktype', '105'], /not a linktype the receiver writes/],
    [['--linktype', '101', '--fifo-linktype', '239'], /--linktype and --fifo-linktype disagree/],
    [['--pcap-over-ip-queue', '1'], /--pcap-over-ip-queue needs --pcap-over-ip/],
    [['--pcap-over-ip', '70000'], /not \[HOST:\]PORT/],
    [['--rotate-size', '1'], /--rotate-size needs --rotate-dir/],
    [['--rotate-dir', '/tmp'], /--rotate-dir needs --rotate-size and\/or --rotate-seconds/],
    [['--rotate-dir', '/tmp', '--rotate-seconds', '0'], /--rotate-seconds must be above 0/],
  ];
  for (const [extra, re] of cases) {
    const r = await runTool('nflog-pcap-recv', ['tcp://127.0.0.1:*', '-', ...extra]);
    assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^nflog-pcap-recv: [^\n]+\n$/);
    assert.match(r.stderr, re);
  }
  // A rotate directory that is not there is a runtime failure at start, before "started".
  const r = await runTool('nflog-pcap-recv', [
    'tcp://127.0.0.1:*',
    '-',
    '--rotate-dir',
    '/nonexistent-nflog-pipe-dir',
    '--rotate-size',
    '1',
  ]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /^nflog-pcap-recv: --rotate-dir \/nonexistent-nflog-pipe-dir: cannot be reached \(ENOENT\)[^\n]*\n$/,
  );
});

test('a DST that does not exist becomes a regular file, and the log says so', async (t) => {
  const dir = await makeTempDir(t);
  const dest = join(dir, 'new.pcap');
  const recv = await startReceiver(t, [`ipc://${join(dir, 'in.sock')}`, dest]);
  assert.match(
    recv.stderr(),
    /INFO .*DST does not exist: creating it as a regular file .*dst=\S+new\.pcap/,
  );
  assert.ok((await stat(dest)).isFile());
  await stopCleanly(recv, 'receiver');
  // An existing file, a FIFO or stdout: no such line.
  const again = await startReceiver(t, [`ipc://${join(dir, 'in2.sock')}`, dest]);
  assert.doesNotMatch(again.stderr(), /DST does not exist/);
  await stopCleanly(again, 'receiver');
});

test('a DST missing under /run: a WARN that it is almost always a forgotten mkfifo', async (t) => {
  if (!requirePrereqs(t, { root: true })) return;
  const dir = await mkdtemp('/run/nflog-pipe-test-');
  t.after(() => rm(dir, { recursive: true, force: true }));
  const dest = join(dir, 'pcap');
  const recv = await startReceiver(t, [`ipc://${join(dir, 'in.sock')}`, dest]);
  assert.match(
    recv.stderr(),
    /WARN .*DST does not exist: creating a regular file\. A missing path under \/run is almost always a forgotten mkfifo.* dst=\/run\/nflog-pipe-test-\S+\/pcap/,
  );
  await stopCleanly(recv, 'receiver');
});

/** Frames of 100 records of 1 KiB, numbered from `first`, from one sender. */
function frame(i: number): Buffer {
  const ids = Array.from({ length: 100 }, (_, k) => i * 100 + k);
  return encodeFrame(
    { linktype: 101, senderId: 3n, firstSeq: BigInt(i * 100), count: ids.length },
    records(ids.map((n) => numbered(n, 1000))),
  );
}

/** The receiver's `output queue full` warnings. */
function dropWarnings(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.includes('output queue full: dropping whole batches'));
}

for (const reader of ['attached', 'waiting'] as const) {
  test(`a full FIFO queue (reader ${reader === 'attached' ? 'that never reads' : 'absent'}): the first drop is one WARN with the reader state; later drops are counted`, async (t) => {
    const { fifo, ep, recv } = await startFifoReceiver(t, [
      '--fifo-buffer',
      '0.5',
      // The kernel's 64 KiB pipe, so what the queue holds, not the pipe, decides the drops.
      '--fifo-pipe-size',
      '0',
      // Each frame goes to the output as it came: the test counts drops batch by batch (the
      // first one 100 records), and the reorder window would hold these frames of a sender
      // without kernel numbers and hand them on as one combined batch.
      '--reorder-window',
      '0',
      '--stats-interval',
      '0.05',
    ]);
    if (reader === 'attached') {
      // Opens the FIFO for reading and never reads: the pipe fills, then the queue.
      const sleeper = spawnChild('sh', ['-c', 'exec sleep 600 < "$0"', fifo]);
      t.after(() => sleeper.kill('SIGKILL'));
      await recv.waitForStderr(/FIFO reader attached/);
    }
    const push = pushSocket(t, ep);
    // 2 MiB of records against a 0.5 MiB queue (and a 64 KiB pipe): most of it is dropped.
    const FRAMES = 20;
    for (let i = 0; i < FRAMES; i++) await push.send(frame(i));
    await recv.waitForStderr(new RegExp(`stats .*in_pkt=${FRAMES * 100} `));
    const line = await recv.waitForStderr(/WARN [^\n]*output queue full[^\n]*/);
    assert.equal(logField(line[0], 'output'), 'fifo');
    assert.equal(logField(line[0], 'reader'), reader);
    assert.equal(logField(line[0], 'limit_bytes'), String(512 * 1024));
    assert.ok(Number(logField(line[0], 'held_bytes')) > 400 * 1024, line[0]);
    assert.equal(logField(line[0], 'lost_pkt'), '100', 'the first dropped batch');
    const stats = recv
      .stderr()
      .split('\n')
      .filter((l) => l.includes(' stats '))
      .pop()!;
    const lost = Number(logField(stats, 'loss_fifo_pkt'));
    assert.ok(lost >= 1000, `${lost} dropped`);
    assert.equal(dropWarnings(recv.stderr()).length, 1, 'one warning for the episode');
    await stopCleanly(recv, 'receiver');
  });
}

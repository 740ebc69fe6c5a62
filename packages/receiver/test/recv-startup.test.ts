// Proves nflog-pcap-recv's start-up checks: impossible option values are usage errors (exit 2); an output it cannot write and an endpoint it cannot bind fail before "started", with one line naming them (exit 1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Pull } from 'zeromq';
import {
  binPath,
  makeTempDir,
  runTool,
  spawnChild,
  withTimeout,
  TEST_TIMEOUT_MS,
} from '@nflog-pipe/testing';

/** One stderr line `nflog-pcap-recv: ...` and nothing else (no "started", no stack). */
function assertOneLine(stderr: string, re: RegExp): void {
  assert.match(stderr, /^nflog-pcap-recv: [^\n]+\n$/, stderr);
  assert.match(stderr, re);
}

test('--buffer-window 0 with --buffer-interface, and --max-frame 0, are usage errors (exit 2)', async () => {
  const cases: [string[], RegExp][] = [
    [
      ['--buffer-interface', 'tcp://127.0.0.1:*', '--buffer-window', '0'],
      /--buffer-window must be above 0/,
    ],
    [['--max-frame', '0'], /--max-frame must be above 0/],
    [['--receive-queue', '0'], /--receive-queue must be above 0/],
  ];
  for (const [extra, re] of cases) {
    const r = await runTool('nflog-pcap-recv', ['tcp://127.0.0.1:*', '-', ...extra]);
    assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
    assertOneLine(r.stderr, re);
  }
});

test('DST that is a directory, or in a missing directory: exit 1 at start with one line naming it', async (t) => {
  const dir = await makeTempDir(t);
  const sub = join(dir, 'a-directory');
  await mkdir(sub);
  for (const [dest, re] of [
    [sub, /is a directory/],
    [join(dir, 'missing', 'out.pcap'), /does not exist/],
  ] as const) {
    const r = await runTool('nflog-pcap-recv', ['tcp://127.0.0.1:*', dest]);
    assert.equal(r.code, 1, r.stderr);
    assertOneLine(r.stderr, new RegExp(`output ${dest.replaceAll('/', '\\/')}: .*${re.source}`));
  }
});

test('DST not writable (a read-only directory, as an unprivileged user): exit 1 at start with one line', async (t) => {
  const dir = await makeTempDir(t);
  await chmod(dir, 0o755); // reachable by nobody
  const ro = join(dir, 'ro');
  await mkdir(ro, { mode: 0o555 });
  await chmod(ro, 0o555);
  const dest = join(ro, 'out.pcap');
  const args = [binPath('nflog-pcap-recv'), 'tcp://127.0.0.1:*', dest];
  // root writes anywhere: run the receiver as nobody (setpriv, util-linux), else as ourselves.
  const argv =
    process.getuid?.() === 0
      ? [
          'setpriv',
          ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, ...args],
        ]
      : [process.execPath, args];
  const h = spawnChild(argv[0] as string, argv[1] as string[]);
  t.after(() => h.kill('SIGKILL'));
  const { code } = await withTimeout(h.exited, TEST_TIMEOUT_MS, 'receiver exit');
  assert.equal(code, 1, h.stderr());
  assertOneLine(h.stderr(), /output .*out\.pcap: .*not writable.*EACCES/);
  assert.deepEqual(await readdir(ro), [], 'nothing was created');
});

test('an endpoint already bound: exit 1 with one line naming the endpoint; same for --buffer-interface', async (t) => {
  const holder = new Pull({ linger: 0 });
  t.after(() => holder.close());
  await holder.bind('tcp://127.0.0.1:*');
  const taken = holder.lastEndpoint!;
  const r = await runTool('nflog-pcap-recv', [taken, '-']);
  assert.equal(r.code, 1, r.stderr);
  assertOneLine(r.stderr, new RegExp(`cannot bind ${taken}: .*(in use|EADDRINUSE)`, 'i'));
  const q = await runTool('nflog-pcap-recv', [
    'tcp://127.0.0.1:*',
    '-',
    '--buffer-interface',
    taken,
  ]);
  assert.equal(q.code, 1, q.stderr);
  assertOneLine(q.stderr, new RegExp(`cannot bind ${taken}: .*(in use|EADDRINUSE)`, 'i'));
});

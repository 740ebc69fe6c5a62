// contrib/systemd: every unit passes systemd-analyze verify, its systemd-analyze security exposure is at most what docs/operations.md states, and each of our units, expanded with its example configuration as systemd would, starts the real tool (the receiver's FIFO made by its ExecStartPre) and stops it cleanly.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import {
  Netns,
  binPath,
  makeTempDir,
  requirePrereqs,
  runCommand,
  stopCleanly,
  type ToolName,
} from '@nflog-pipe/testing';
import { REPO_ROOT } from '../src/index.js';
import { expandCommand, readEnvironmentFile, readUnit } from './unit-file.js';

const execFileP = promisify(execFile);
const UNITS = join(REPO_ROOT, 'contrib', 'systemd');
const CONFS = join(REPO_ROOT, 'contrib', 'etc', 'nflog-pipe');

/** Our tools' paths in the units, and where the checkout has them. */
const OUR_BIN = /\/usr\/bin\/(nflog-[a-z-]+)/g;

/** Our units and the configuration file prefix each reads (`/etc/nflog-pipe/<conf>-%i.conf`). */
const RUNNABLE: Array<{ unit: string; conf: string; netns: boolean }> = [
  { unit: 'nflog-pcap-recv@.service', conf: 'recv', netns: false },
  { unit: 'nflog-zmq-send@.service', conf: 'send', netns: true },
  { unit: 'nflog-zmq-compress@.service', conf: 'compress', netns: false },
  { unit: 'nflog-zmq-decompress@.service', conf: 'decompress', netns: false },
];

async function unitNames(): Promise<string[]> {
  return (await readdir(UNITS)).filter((f) => f.endsWith('.service')).sort();
}

/**
 * Copies the units into `dir` with our tools' paths pointing into the checkout (verify checks
 * that every command exists and is executable; the installed layout is the install test's).
 */
async function checkoutUnits(dir: string): Promise<string[]> {
  const names = await unitNames();
  for (const name of names) {
    const text = await readFile(join(UNITS, name), 'utf8');
    await writeFile(
      join(dir, name),
      text.replace(OUR_BIN, (_, tool: string) => binPath(tool as ToolName)),
    );
  }
  return names;
}

test('every unit passes systemd-analyze verify, without a warning', async (t) => {
  if (!requirePrereqs(t, { tools: ['systemd-analyze', 'suricata'] })) return;
  const dir = await makeTempDir(t);
  const names = await checkoutUnits(dir);
  assert.ok(names.length >= 5, names.join(' '));
  for (const name of names) {
    const r = await runCommand('systemd-analyze', ['verify', join(dir, name)], { allowFail: true });
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.equal(r.stderr.trim(), '', name);
  }
});

test('each unit is exposed no more than docs/operations.md says (systemd-analyze security --offline=yes)', async (t) => {
  if (!requirePrereqs(t, { tools: ['systemd-analyze', 'suricata'] })) return;
  const doc = await readFile(join(REPO_ROOT, 'docs', 'operations.md'), 'utf8');
  const documented = new Map(
    [...doc.matchAll(/^\| `([a-z-]+@\.service)` +\| (\d+\.\d) /gm)].map((m) => [
      m[1]!,
      Number(m[2]),
    ]),
  );
  const dir = await makeTempDir(t);
  for (const name of await checkoutUnits(dir)) {
    const { stdout } = await execFileP(
      'systemd-analyze',
      ['security', '--offline=yes', '--no-pager', join(dir, name)],
      { env: { ...process.env, SYSTEMD_COLORS: '0' } },
    );
    const exposure = Number(/Overall exposure level for \S+: (\d+\.\d)/.exec(stdout)?.[1]);
    assert.ok(documented.has(name), `docs/operations.md lists no exposure for ${name}`);
    assert.ok(
      exposure <= documented.get(name)!,
      `${name}: exposure ${exposure}, documented ${documented.get(name)}`,
    );
  }
});

test('contrib/sysusers.d makes the one user our units run as', async (t) => {
  if (!requirePrereqs(t, { tools: ['systemd-sysusers'] })) return;
  const root = await makeTempDir(t);
  await mkdir(join(root, 'etc'));
  // It reports what it would do on stderr.
  const { stderr } = await runCommand('systemd-sysusers', [
    `--root=${root}`,
    '--dry-run',
    join(REPO_ROOT, 'contrib', 'sysusers.d', 'nflog-pipe.conf'),
  ]);
  const users = [...stderr.matchAll(/^Creating user '([^']+)'/gm)].map((m) => m[1]);
  assert.deepEqual(users, ['nflog-pipe']);
  for (const { unit } of RUNNABLE) {
    const settings = await readUnit(join(UNITS, unit));
    assert.deepEqual(settings.get('User'), ['nflog-pipe'], unit);
    assert.deepEqual(settings.get('Group'), ['nflog-pipe'], unit);
  }
});

test('each unit with its example configuration runs its tool as systemd would start it', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'mkfifo'] })) return;
  const dir = await makeTempDir(t);
  // Every process runs in one fresh namespace: only its loopback exists there.
  const ns = await Netns.create('units');
  t.after(() => ns.remove());
  assert.deepEqual(
    (await unitNames()).filter((n) => n.startsWith('nflog-') && n !== 'nflog-suricata@.service'),
    RUNNABLE.map((r) => r.unit).sort(),
  );
  for (const { unit, conf } of RUNNABLE) {
    const settings = await readUnit(join(UNITS, unit));
    const envFile = settings.get('EnvironmentFile')?.[0];
    assert.equal(envFile, `/etc/nflog-pipe/${conf}-%i.conf`, unit);
    // The example, with its remote host and /run made local to this test.
    const env = await readEnvironmentFile(join(CONFS, `${conf}-example.conf`));
    for (const k of Object.keys(env))
      env[k] = env[k]!.replaceAll('ids.example.org', '127.0.0.1')
        .replaceAll('0.0.0.0', '127.0.0.1')
        .replaceAll('/run/', `${dir}/run/`);
    const specifiers = { i: 'example', t: join(dir, 'run'), L: join(dir, 'log') };
    for (const d of settings.get('RuntimeDirectory') ?? [])
      await mkdir(join(specifiers.t, d.replace(/%i/g, 'example')), { recursive: true });
    for (const pre of settings.get('ExecStartPre') ?? []) {
      const [cmd, ...args] = expandCommand(pre, specifiers, env);
      await ns.run(cmd!, args);
    }
    const [program, ...args] = expandCommand(settings.get('ExecStart')![0]!, specifiers, env);
    const tool = /\/usr\/bin\/(nflog-[a-z-]+)$/.exec(program!)?.[1];
    assert.ok(tool !== undefined, `${unit}: ExecStart runs one of our tools from /usr/bin`);
    const h = ns.spawn(process.execPath, [binPath(tool as ToolName), ...args]);
    // The receiver and the sender log "started", the relays "relaying".
    await h.waitForStderr(/ INFO [a-z-]+: (started|relaying) /);
    await stopCleanly(h, unit);
    if (conf === 'recv') {
      const fifo = join(specifiers.t, 'nflog-pipe', 'recv-example', 'pcap');
      assert.ok((await stat(fifo)).isFIFO(), `${fifo} is a FIFO`);
    }
  }
});

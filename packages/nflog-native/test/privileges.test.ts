// lockPrivileges() as root leaves every thread of a Node process with no_new_privs and the calling thread with an empty capability bounding set; without CAP_SETPCAP it throws NflogError EPERM naming the prctl.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requirePrereqs, runCommand } from '@nflog-pipe/testing';

const INDEX = new URL('../src/index.js', import.meta.url).href;

/** A child that locks itself, then reports its threads' NoNewPrivs and CapBnd, or the error. */
const CHILD = `
import { readFileSync, readdirSync } from 'node:fs';
import { lockPrivileges, NflogError } from ${JSON.stringify(INDEX)};
const field = (text, name) => new RegExp('^' + name + ':\\\\s*(\\\\S+)', 'm').exec(text)?.[1];
let error;
try {
  lockPrivileges();
} catch (err) {
  error = { nflog: err instanceof NflogError, code: err.code, syscall: err.syscall };
}
const threads = readdirSync('/proc/self/task').map((tid) => {
  const s = readFileSync('/proc/self/task/' + tid + '/status', 'utf8');
  return { tid: Number(tid), noNewPrivs: field(s, 'NoNewPrivs'), capBnd: field(s, 'CapBnd') };
});
process.stdout.write(JSON.stringify({ pid: process.pid, error, threads }));
`;

interface ChildReport {
  pid: number;
  error?: { nflog: boolean; code: string; syscall: string };
  threads: Array<{ tid: number; noNewPrivs: string; capBnd: string }>;
}

async function runChild(prefix: string[]): Promise<ChildReport> {
  const argv = [...prefix, process.execPath, '--input-type=module', '-e', CHILD];
  const { stdout } = await runCommand(argv[0]!, argv.slice(1));
  return JSON.parse(stdout) as ChildReport;
}

test('as root: no_new_privs on every thread, an empty bounding set on the main one', async (t) => {
  if (!requirePrereqs(t, { root: true })) return;
  const r = await runChild([]);
  assert.equal(r.error, undefined);
  assert.ok(r.threads.length > 1, 'a Node process runs several threads');
  for (const th of r.threads) assert.equal(th.noNewPrivs, '1', `thread ${th.tid}`);
  const main = r.threads.find((th) => th.tid === r.pid);
  assert.equal(main?.capBnd, '0000000000000000');
});

test('without CAP_SETPCAP: NflogError EPERM from prctl(PR_CAPBSET_DROP)', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['setpriv'] })) return;
  const r = await runChild([
    'setpriv',
    '--reuid',
    'nobody',
    '--regid',
    'nogroup',
    '--clear-groups',
  ]);
  assert.deepEqual(r.error, { nflog: true, code: 'EPERM', syscall: 'prctl(PR_CAPBSET_DROP)' });
  const main = r.threads.find((th) => th.tid === r.pid);
  assert.notEqual(main?.capBnd, '0000000000000000');
});

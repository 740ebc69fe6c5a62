// -u nobody really drops every uid/gid, sets no_new_privs and empties the capability bounding set (checked in /proc/PID/status) and capture keeps working; errors opening NFLOG exit 1 with one line.
import assert from 'node:assert/strict';
import { chmod, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Pull } from 'zeromq';
import {
  Netns,
  binPath,
  makeTempDir,
  parseLogCounters,
  payloadFor,
  requirePrereqs,
  sendTraffic,
  stopCleanly,
  withTimeout,
  TEST_TIMEOUT_MS,
} from '@nflog-pipe/testing';
import { lookupUser } from '../src/index.js';
import { receivePackets } from './kernel-helper.js';

const RULES = `
table inet t {
  chain out {
    type filter hook output priority 0;
    udp dport 9000 log group 3
  }
}
`;

test("-u nobody: all four uids and gids are nobody's, no supplementary groups, NoNewPrivs 1, CapBnd 0, capture still delivers", async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft'] })) return;
  const nobody = lookupUser('nobody');
  const dir = await makeTempDir(t);
  // The sender connects as nobody: let it reach the socket file.
  await chmod(dir, 0o755);
  const ns = await Netns.create('privdrop');
  t.after(() => ns.remove());
  await ns.nft(RULES);
  const sockPath = join(dir, 'pull.sock');
  const pull = new Pull();
  t.after(() => pull.close());
  await pull.bind(`ipc://${sockPath}`);
  await chmod(sockPath, 0o777);

  const sender = ns.spawn(process.execPath, [
    binPath('nflog-zmq-send'),
    '3',
    `ipc://${sockPath}`,
    '-u',
    'nobody',
  ]);
  await sender.waitForStderr(/ dropped privileges /);
  await sender.waitForStderr(/ started /);
  const status = await readFile(`/proc/${sender.pid}/status`, 'utf8');
  const ids = (name: string): string =>
    /^(\w+):\s*(.*)$/m.exec(status.split('\n').find((l) => l.startsWith(`${name}:`)) ?? '')?.[2] ??
    '';
  assert.deepEqual(ids('Uid').split(/\s+/).map(Number), [
    nobody.uid,
    nobody.uid,
    nobody.uid,
    nobody.uid,
  ]);
  assert.deepEqual(ids('Gid').split(/\s+/).map(Number), [
    nobody.gid,
    nobody.gid,
    nobody.gid,
    nobody.gid,
  ]);
  assert.equal(ids('Groups').trim(), '');
  assert.match(status, /^CapEff:\s+0+$/m);
  assert.match(status, /^CapPrm:\s+0+$/m);
  assert.match(status, /^CapAmb:\s+0+$/m);
  // What execve() could ever grant again: nothing (set-user-ID binaries, file capabilities).
  assert.match(status, /^NoNewPrivs:\s+1$/m);
  assert.match(status, /^CapBnd:\s+0+$/m);
  // no_new_privs is per thread: V8's and libuv's threads, started before the drop, have it too.
  const tasks = await readdir(`/proc/${sender.pid}/task`);
  assert.ok(tasks.length > 1, 'a Node process runs several threads');
  for (const tid of tasks) {
    const ts = await readFile(`/proc/${sender.pid}/task/${tid}/status`, 'utf8');
    assert.match(ts, /^NoNewPrivs:\s+1$/m, `thread ${tid}`);
    assert.match(ts, /^CapEff:\s+0+$/m, `thread ${tid}`);
    assert.match(
      ts,
      new RegExp(`^Uid:\\s+${nobody.uid}\\s+${nobody.uid}\\s`, 'm'),
      `thread ${tid}`,
    );
  }

  await sendTraffic(ns, { proto: 'udp', port: 9000, count: 10, size: 64, seed: 21 });
  const { pkts } = await receivePackets(pull, 10);
  // IPv4 (20) + UDP (8) headers, then the generator's payload, in order.
  assert.deepEqual(
    pkts.map((p) => p.data.subarray(28)),
    Array.from({ length: 10 }, (_, i) => payloadFor(21, i, 64)),
  );
  assert.equal(parseLogCounters(await stopCleanly(sender, 'sender'))['queued'], 10);
});

test('a group already bound by another sender: one error line, exit 1; the first keeps running', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft'] })) return;
  const dir = await makeTempDir(t);
  const ns = await Netns.create('busy');
  t.after(() => ns.remove());
  const endpoint = `ipc://${join(dir, 'x.sock')}`;
  const first = ns.spawn(process.execPath, [binPath('nflog-zmq-send'), '4', endpoint]);
  await first.waitForStderr(/ started /);
  const second = ns.spawn(process.execPath, [binPath('nflog-zmq-send'), '5,4', endpoint]);
  const exit = await withTimeout(second.exited, TEST_TIMEOUT_MS, 'the second sender to exit');
  assert.deepEqual(exit, { code: 1, signal: null });
  const lines = second.stderr().trimEnd().split('\n');
  assert.equal(lines.length, 1, second.stderr());
  assert.match(lines[0]!, /^nflog-zmq-send: cannot read NFLOG groups 5,4: .*EPERM group 4/);
  await stopCleanly(first, 'first sender');
});

test('without CAP_NET_ADMIN: one error line naming EPERM, exit 1', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'setpriv'] })) return;
  const nobody = lookupUser('nobody');
  const ns = await Netns.create('noperm');
  t.after(() => ns.remove());
  const h = ns.spawn('setpriv', [
    `--reuid=${nobody.uid}`,
    `--regid=${nobody.gid}`,
    '--clear-groups',
    process.execPath,
    binPath('nflog-zmq-send'),
    '6',
    'ipc:///nonexistent-nfp/x.sock',
  ]);
  const exit = await withTimeout(h.exited, TEST_TIMEOUT_MS, 'the sender to exit');
  assert.deepEqual(exit, { code: 1, signal: null });
  const lines = h.stderr().trimEnd().split('\n');
  assert.equal(lines.length, 1, h.stderr());
  assert.match(lines[0]!, /^nflog-zmq-send: cannot read NFLOG group 6: .*EPERM.*CAP_NET_ADMIN/);
});

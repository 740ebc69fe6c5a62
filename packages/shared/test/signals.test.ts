// Proves watchSignals in a real child process: SIGHUP runs the callbacks and keeps running,
// the first SIGTERM/SIGINT aborts `stopped` (clean exit 0), a second one kills the process.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { StoppedError, watchSignals } from '../src/index.js';
import { spawnChild } from '@nflog-pipe/testing';

const FIXTURE = fileURLToPath(new URL('../../test/fixtures/signals-fixture.mjs', import.meta.url));

test('SIGHUP runs onHup; SIGTERM aborts stopped and the program exits 0', async () => {
  const h = spawnChild(process.execPath, [FIXTURE]);
  await h.waitForStdout(/ready\n/);
  h.kill('SIGHUP');
  await h.waitForStdout(/hup\n/);
  h.kill('SIGTERM');
  assert.deepEqual(await h.exited, { code: 0, signal: null });
  assert.equal(h.stdout().toString(), 'ready\nhup\nstopped ERR_STOPPED SIGTERM\n');
});

test('SIGINT stops too; a second SIGINT while stopping kills the process', async () => {
  const h = spawnChild(process.execPath, [FIXTURE, 'stubborn']);
  await h.waitForStdout(/ready\n/);
  h.kill('SIGINT');
  await h.waitForStdout(/stopped ERR_STOPPED SIGINT\n/);
  h.kill('SIGINT');
  assert.deepEqual(await h.exited, { code: null, signal: 'SIGINT' });
});

test('dispose() removes the handlers; onHup returns an unsubscribe function', () => {
  const before = process.listenerCount('SIGHUP');
  const beforeTerm = process.listenerCount('SIGTERM');
  const w = watchSignals();
  assert.equal(process.listenerCount('SIGHUP'), before + 1);
  let calls = 0;
  const off = w.onHup(() => calls++);
  process.emit('SIGHUP', 'SIGHUP');
  off();
  process.emit('SIGHUP', 'SIGHUP');
  assert.equal(calls, 1);
  process.emit('SIGTERM', 'SIGTERM');
  assert.ok(w.stopped.aborted);
  assert.ok(w.stopped.reason instanceof StoppedError);
  assert.equal(w.stopped.reason.code, 'ERR_STOPPED');
  w.dispose();
  w.dispose();
  assert.equal(process.listenerCount('SIGHUP'), before);
  assert.equal(process.listenerCount('SIGTERM'), beforeTerm);
});

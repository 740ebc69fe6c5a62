// nflog-zmq-keygen through its bin shim: two certificate files of mode 0600 whose keys pyzmq loads and that belong together; an existing NAME, a missing directory and a bad NAME fail with one line (exit 1, 1, 2).
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { curvePublicKey, readCertificate, readSecretCertificate } from '@nflog-pipe/shared';
import { makeTempDir, requirePyzmq, runPython, runTool } from '@nflog-pipe/testing';

test('writes NAME.key and NAME.key_secret (0600) and prints the public key and both paths', async (t) => {
  const dir = await makeTempDir(t);
  const r = await runTool('nflog-zmq-keygen', ['gw-1', '--dir', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const pub = join(dir, 'gw-1.key');
  const sec = join(dir, 'gw-1.key_secret');
  for (const p of [pub, sec]) assert.equal((await stat(p)).mode & 0o777, 0o600, p);
  const keys = await readSecretCertificate(sec);
  assert.equal(curvePublicKey(keys.secretKey), keys.publicKey);
  const cert = await readCertificate(pub);
  assert.equal(cert.publicKey, keys.publicKey);
  assert.equal(cert.secretKey, undefined);
  assert.deepEqual(cert.metadata, { name: 'gw-1' });
  assert.equal(r.stdout.toString(), `public-key ${keys.publicKey}\npublic ${pub}\nsecret ${sec}\n`);
  if (!(await requirePyzmq(t))) return;
  const { stdout } = await runPython(
    'import sys, zmq, zmq.auth\np, s = zmq.auth.load_certificate(sys.argv[1])\nassert zmq.curve_public(s) == p\nprint(p.decode())',
    [sec],
  );
  assert.equal(stdout.trim(), keys.publicKey);
});

test('failures: an existing NAME is kept (exit 1), a missing directory (exit 1), a bad NAME (exit 2); one line each', async (t) => {
  const dir = await makeTempDir(t);
  await writeFile(join(dir, 'x.key_secret'), 'precious\n');
  const exists = await runTool('nflog-zmq-keygen', ['x', '--dir', dir]);
  assert.equal(exists.code, 1);
  assert.match(exists.stderr, /^nflog-zmq-keygen: .*x\.key_secret exists: choose another NAME/);
  assert.equal(await readFile(join(dir, 'x.key_secret'), 'utf8'), 'precious\n');
  await assert.rejects(stat(join(dir, 'x.key')), 'no half pair left behind');
  const missing = await runTool('nflog-zmq-keygen', ['y', '--dir', join(dir, 'nope')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^nflog-zmq-keygen: cannot write certificates in .*ENOENT/);
  for (const bad of ['../evil', '.hidden', 'a b', 'a/b']) {
    const u = await runTool('nflog-zmq-keygen', [bad, '--dir', dir]);
    assert.equal(u.code, 2, bad);
    assert.match(u.stderr, /^nflog-zmq-keygen: NAME /);
  }
  for (const r of [exists, missing])
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  const none = await runTool('nflog-zmq-keygen', []);
  assert.equal(none.code, 2);
  assert.equal((await runTool('nflog-zmq-keygen', ['--help'])).code, 0);
});

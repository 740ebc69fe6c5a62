// Proves a package whose addon was never built fails with the documented NflogError
// ERR_NFLOG_NATIVE_LOAD, naming both paths it tried, instead of a bare Error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { makeTempDir } from '@nflog-pipe/testing';

type NativeModule = typeof import('../src/index.js');

test('without a built addon, open() throws NflogError ERR_NFLOG_NATIVE_LOAD listing both paths', async (t) => {
  // The compiled package without build/: the layout an unbuilt checkout has.
  const dir = await makeTempDir(t);
  const src = fileURLToPath(new URL('../src', import.meta.url));
  await cp(src, join(dir, 'dist', 'src'), { recursive: true });
  await writeFile(join(dir, 'package.json'), '{"type":"module"}\n');
  const copy = (await import(
    pathToFileURL(join(dir, 'dist', 'src', 'index.js')).href
  )) as NativeModule;

  const err = (() => {
    try {
      copy.NflogSocket.open({ groups: [1] }, () => {});
    } catch (e) {
      return e;
    }
    assert.fail('open() succeeded without an addon');
  })();
  assert.ok(err instanceof copy.NflogError, `not an NflogError: ${String(err)}`);
  assert.equal(err.code, 'ERR_NFLOG_NATIVE_LOAD');
  assert.ok(copy.NFLOG_ERROR_CODES.includes('ERR_NFLOG_NATIVE_LOAD'));
  for (const build of ['Release', 'Debug']) {
    assert.ok(
      err.message.includes(join(dir, 'build', build, 'nflog_native.node')),
      `${build} path missing from: ${err.message}`,
    );
  }
});

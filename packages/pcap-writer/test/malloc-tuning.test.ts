// mapLargeBlocks sets glibc's mmap threshold through the native helper, leaves malloc alone when
// the operator tuned it with GLIBC_TUNABLES, and refuses a threshold malloc would not take.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MAP_LARGE_BLOCKS_DEFAULT_BYTES, PcapPipeError, mapLargeBlocks } from '../src/index.js';

const INDEX = fileURLToPath(new URL('../src/index.js', import.meta.url));

/** mapLargeBlocks() in a fresh node with `env`: what it returned. */
function inChild(env: NodeJS.ProcessEnv): string {
  const script = `import(${JSON.stringify(INDEX)}).then((m) => process.stdout.write(String(m.mapLargeBlocks())))`;
  return execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
}

test('applied by default; large blocks still allocate and free', () => {
  assert.equal(MAP_LARGE_BLOCKS_DEFAULT_BYTES, 1024 * 1024);
  assert.equal(mapLargeBlocks(), true);
  // Blocks above the threshold now each get a mapping: they must still be ordinary memory.
  for (let i = 0; i < 16; i++) {
    const b = Buffer.allocUnsafeSlow(2 * MAP_LARGE_BLOCKS_DEFAULT_BYTES).fill(i);
    assert.equal(b[b.length - 1], i);
  }
});

test('left to GLIBC_TUNABLES when it sets malloc tunables', () => {
  const env = { ...process.env };
  delete env['GLIBC_TUNABLES'];
  assert.equal(inChild(env), 'true');
  assert.equal(
    inChild({ ...env, GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=262144' }),
    'false',
  );
});

test('a threshold malloc refuses is an EINVAL PcapPipeError', () => {
  for (const bad of [0, -1]) {
    assert.throws(
      () => mapLargeBlocks(bad),
      (err: unknown) => err instanceof PcapPipeError && err.code === 'EINVAL',
    );
  }
  assert.throws(() => mapLargeBlocks(1.5), TypeError);
});

// planTarball ships every workspace package with a bin plus its workspace dependencies, moves their third-party dependencies to the top level, builds native addons from its own install script, and pins third-party versions from the lockfile.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  planTarball,
  readWorkspace,
  REPO_ROOT,
  type Lockfile,
  type PackageManifest,
  type WorkspacePackage,
} from '../src/index.js';

const ROOT: PackageManifest = {
  name: 'nflog-pipe',
  version: '1.2.3',
  description: 'd',
  license: 'MIT',
  engines: { node: '>=20' },
  workspaces: [],
};

function ws(name: string, fields: Partial<PackageManifest> = {}, native = false): WorkspacePackage {
  return {
    dir: `packages/${name}`,
    manifest: { name: `@x/${name}`, version: '0.0.1', ...fields },
    native,
  };
}

const PACKAGES: WorkspacePackage[] = [
  ws('addon', { main: 'dist/src/index.js', scripts: { 'build:native': 'node-gyp rebuild' } }, true),
  ws('lib', { dependencies: { zeromq: '^6.8.0', commander: '^14.0.3' } }),
  ws('unused-lib', { dependencies: { leftpad: '^1.0.0' } }),
  ws('testing', { description: 'test support' }),
  ws('tool-a', {
    bin: { 'tool-a': 'bin/tool-a.js' },
    dependencies: { '@x/lib': '0.0.1', '@x/addon': '0.0.1', zeromq: '^6.8.0' },
    devDependencies: { '@x/testing': '0.0.1' },
    scripts: { test: 'x' },
  }),
  ws('tool-b', {
    bin: { 'tool-b': './bin/b.js', 'tool-c': 'bin/c.js' },
    dependencies: { '@x/lib': '0.0.1' },
    devDependencies: { '@x/testing': '0.0.1' },
  }),
];

const LOCK: Lockfile = {
  lockfileVersion: 3,
  packages: {
    '': { name: 'nflog-pipe', version: '1.2.3' },
    'node_modules/zeromq': {
      version: '6.8.0',
      integrity: 'sha512-z',
      hasInstallScript: true,
      dependencies: { 'cmake-ts': '1.0.2' },
    },
    'node_modules/cmake-ts': { version: '1.0.2', dev: true },
    'node_modules/commander': { version: '14.0.3', optionalDependencies: { 'not-here': '1' } },
    'node_modules/leftpad': { version: '1.0.0' },
    'node_modules/typescript': { version: '5.9.3', dev: true },
  },
};

test('the tools of every package with a bin, pointing into their bundled copies', () => {
  const { manifest } = planTarball(ROOT, PACKAGES, LOCK);
  assert.deepEqual(manifest.bin, {
    'tool-a': 'node_modules/@x/tool-a/bin/tool-a.js',
    'tool-b': 'node_modules/@x/tool-b/bin/b.js',
    'tool-c': 'node_modules/@x/tool-b/bin/c.js',
  });
  assert.equal(manifest.name, 'nflog-pipe');
  assert.equal(manifest.version, '1.2.3');
  assert.deepEqual(manifest['os'], ['linux']);
});

test('bundled: the tools and the workspace packages they need at run time, nothing dev-only', () => {
  const { manifest, bundled } = planTarball(ROOT, PACKAGES, LOCK);
  const names = bundled.map((b) => b.manifest.name);
  assert.deepEqual([...names].sort(), ['@x/addon', '@x/lib', '@x/tool-a', '@x/tool-b']);
  assert.deepEqual(manifest['bundleDependencies'], names);
  // Every bundled package comes after the workspace packages it depends on.
  assert.ok(names.indexOf('@x/lib') < names.indexOf('@x/tool-a'));
  assert.ok(names.indexOf('@x/addon') < names.indexOf('@x/tool-a'));
});

test('third-party dependencies move to the top level; bundled copies keep only workspace ones, at the release version', () => {
  const { manifest, bundled } = planTarball(ROOT, PACKAGES, LOCK);
  assert.deepEqual(manifest.dependencies, {
    commander: '^14.0.3',
    zeromq: '^6.8.0',
    '@x/addon': '1.2.3',
    '@x/lib': '1.2.3',
    '@x/tool-a': '1.2.3',
    '@x/tool-b': '1.2.3',
  });
  const a = bundled.find((b) => b.manifest.name === '@x/tool-a')!;
  assert.deepEqual(a.manifest, {
    name: '@x/tool-a',
    version: '1.2.3',
    dependencies: { '@x/lib': '1.2.3', '@x/addon': '1.2.3' },
  });
  const lib = bundled.find((b) => b.manifest.name === '@x/lib')!;
  assert.equal(lib.manifest.dependencies, undefined);
  assert.equal(lib.path, 'node_modules/@x/lib');
});

test('native addons: built by the top-level install script, never by npm inside the bundle', () => {
  const { manifest, bundled } = planTarball(ROOT, PACKAGES, LOCK);
  assert.deepEqual(manifest['scripts'], {
    install: 'node-gyp rebuild --directory=node_modules/@x/addon',
  });
  const addon = bundled.find((b) => b.manifest.name === '@x/addon')!;
  assert.equal(addon.manifest['gypfile'], false);
  assert.equal(addon.manifest['scripts'], undefined);
  assert.equal(addon.manifest.main, 'dist/src/index.js');
  const noNative = planTarball(ROOT, [PACKAGES[1]!, PACKAGES[5]!], LOCK);
  assert.equal(noNative.manifest['scripts'], undefined);
});

test('shrinkwrap: the locked third-party closure without dev flags; bundled packages marked inBundle', () => {
  const { shrinkwrap } = planTarball(ROOT, PACKAGES, LOCK);
  assert.deepEqual(Object.keys(shrinkwrap.packages).sort(), [
    '',
    'node_modules/@x/addon',
    'node_modules/@x/lib',
    'node_modules/@x/tool-a',
    'node_modules/@x/tool-b',
    'node_modules/cmake-ts',
    'node_modules/commander',
    'node_modules/zeromq',
  ]);
  assert.deepEqual(shrinkwrap.packages['node_modules/cmake-ts'], { version: '1.0.2' });
  assert.equal(shrinkwrap.packages['node_modules/zeromq']!['integrity'], 'sha512-z');
  assert.equal(shrinkwrap.packages['node_modules/@x/lib']!['inBundle'], true);
  assert.equal(shrinkwrap.packages['']!['hasInstallScript'], true);
  assert.equal(shrinkwrap.lockfileVersion, 3);
});

test('a nested lock entry wins over the hoisted one, as Node resolves it', () => {
  const lock: Lockfile = {
    lockfileVersion: 3,
    packages: {
      ...LOCK.packages,
      'node_modules/zeromq/node_modules/cmake-ts': { version: '0.9.0' },
    },
  };
  const { shrinkwrap } = planTarball(ROOT, PACKAGES, lock);
  assert.equal(shrinkwrap.packages['node_modules/zeromq/node_modules/cmake-ts']!.version, '0.9.0');
  assert.equal(shrinkwrap.packages['node_modules/cmake-ts'], undefined);
});

test('conflicts and gaps are errors with a code', () => {
  const ranges = [
    ...PACKAGES,
    ws('tool-d', { bin: { d: 'd.js' }, dependencies: { zeromq: '^5' } }),
  ];
  assert.throws(() => planTarball(ROOT, ranges, LOCK), { code: 'ERR_PACK_CONFLICT' });
  const bins = [...PACKAGES, ws('tool-d', { bin: { 'tool-a': 'a.js' } })];
  assert.throws(() => planTarball(ROOT, bins, LOCK), { code: 'ERR_PACK_CONFLICT' });
  const unlocked: Lockfile = { lockfileVersion: 3, packages: { '': {} } };
  assert.throws(() => planTarball(ROOT, PACKAGES, unlocked), { code: 'ERR_PACK_LOCK_MISSING' });
  assert.throws(() => planTarball(ROOT, [PACKAGES[1]!], LOCK), { code: 'ERR_PACK_BAD_MANIFEST' });
});

test('this checkout: every bin of every workspace package ships, test support and tooling do not', async () => {
  const { root, packages, lock } = await readWorkspace(REPO_ROOT);
  const { manifest, bundled } = planTarball(root, packages, lock);
  const expected: string[] = [];
  for (const dir of root.workspaces ?? []) {
    const pj = JSON.parse(await readFile(join(REPO_ROOT, dir, 'package.json'), 'utf8')) as {
      bin?: Record<string, string>;
    };
    expected.push(...Object.keys(pj.bin ?? {}));
  }
  assert.ok(expected.includes('nflog-zmq-send') && expected.includes('nflog-pcap-recv'));
  assert.deepEqual(Object.keys(manifest.bin ?? {}).sort(), expected.sort());
  const names = bundled.map((b) => b.manifest.name);
  for (const devOnly of ['@nflog-pipe/testing', '@nflog-pipe/bench', '@nflog-pipe/packaging'])
    assert.ok(!names.includes(devOnly), devOnly);
  assert.ok(names.includes('@nflog-pipe/nflog-native'));
  assert.equal(manifest.version, root.version);
});

// What goes into the operator tarball, decided from the workspace's own manifests (no I/O):
// every workspace package with a `bin` is a tool, and it ships with the workspace packages it
// depends on at run time; nothing else does (test support, the bench and this package have no
// bin and are only ever devDependencies). A new leaf CLI is picked up by its `bin` alone.
//
// Two npm rules shape the result:
// - Workspace packages are bundled (bundleDependencies). npm treats the dependencies of a
//   bundled package that sit beside it as part of the bundle too (arborist's getBundler), so a
//   bundled copy that still declared zeromq would make npm expect zeromq inside the tarball and
//   never fetch it. The bundled copies therefore declare only their workspace dependencies; the
//   third-party ones move to the top-level package, where npm installs them normally and
//   Node's resolution finds them from the bundled copies (node_modules one level up).
// - Install scripts of bundled packages never run (npm 11: they cannot be allowlisted), so the
//   top-level package's own install script builds every native addon with node-gyp.

import { PackagingError } from './errors.js';

/** The fields of a package.json this plan reads and writes. */
export interface PackageManifest {
  name: string;
  version: string;
  description?: string;
  license?: string;
  type?: string;
  main?: string;
  types?: string;
  exports?: unknown;
  engines?: Record<string, string>;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  workspaces?: string[];
  [field: string]: unknown;
}

/** One workspace package as found in the checkout. */
export interface WorkspacePackage {
  /** Directory relative to the repository root, e.g. `packages/sender`. */
  dir: string;
  manifest: PackageManifest;
  /** True when the directory holds a `binding.gyp` (a native addon built at install). */
  native: boolean;
}

/** One entry of a lockfile's `packages` map (lockfileVersion 2 or 3). */
export interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  optional?: boolean;
  [field: string]: unknown;
}

/** A package-lock.json or npm-shrinkwrap.json (lockfileVersion 2 or 3). */
export interface Lockfile {
  name?: string;
  version?: string;
  lockfileVersion: number;
  requires?: boolean;
  packages: Record<string, LockEntry>;
}

/** A workspace package as it is copied into the tarball. */
export interface BundledPackage {
  source: WorkspacePackage;
  /** The package.json written for the bundled copy. */
  manifest: PackageManifest;
  /** Its place inside the tarball's package root, e.g. `node_modules/@nflog-pipe/sender`. */
  path: string;
}

/** Everything the tarball holds besides the files copied as they are. */
export interface TarballPlan {
  /** The tarball's package.json. */
  manifest: PackageManifest;
  bundled: BundledPackage[];
  /**
   * npm-shrinkwrap.json: the third-party packages exactly as the checkout's package-lock.json
   * has them, so an install gets the versions the tests ran with.
   */
  shrinkwrap: Lockfile;
}

/** Fields of a workspace manifest a bundled copy keeps as they are. */
const KEPT_FIELDS = ['description', 'license', 'type', 'main', 'types', 'exports', 'engines'];

/** Lockfile flags that describe the checkout's dev tree, not an install of the tarball. */
const DEV_FLAGS = ['dev', 'devOptional', 'peer', 'extraneous'];

/**
 * Plans the tarball of `root` (the repository's package.json: name, version, description,
 * license, engines) from its workspace packages and its package-lock.json.
 * @throws PackagingError `ERR_PACK_CONFLICT` (a bin name or a dependency range differs
 *   between shipped packages), `ERR_PACK_LOCK_MISSING` (a third-party package is not locked),
 *   `ERR_PACK_BAD_MANIFEST` (no shipped package at all)
 */
export function planTarball(
  root: PackageManifest,
  packages: readonly WorkspacePackage[],
  lock: Lockfile,
): TarballPlan {
  const byName = new Map(packages.map((p) => [p.manifest.name, p]));
  const shipped = shippedPackages(packages, byName);
  if (shipped.length === 0)
    throw new PackagingError('ERR_PACK_BAD_MANIFEST', 'no workspace package has a bin to ship');

  const bin: Record<string, string> = {};
  const binFrom: Record<string, string> = {};
  const thirdParty: Record<string, string> = {};
  const thirdPartyFrom: Record<string, string> = {};
  const bundled: BundledPackage[] = [];
  for (const pkg of shipped) {
    const m = pkg.manifest;
    const path = `node_modules/${m.name}`;
    for (const [tool, target] of Object.entries(m.bin ?? {})) {
      if (bin[tool] !== undefined)
        throw new PackagingError(
          'ERR_PACK_CONFLICT',
          `bin ${tool} is declared by both ${binFrom[tool]} and ${m.name}`,
        );
      bin[tool] = `${path}/${target.replace(/^\.\//, '')}`;
      binFrom[tool] = m.name;
    }
    const ownDeps: Record<string, string> = {};
    for (const [dep, range] of Object.entries(m.dependencies ?? {})) {
      if (byName.has(dep)) {
        ownDeps[dep] = root.version;
      } else if (thirdParty[dep] !== undefined && thirdParty[dep] !== range) {
        throw new PackagingError(
          'ERR_PACK_CONFLICT',
          `${dep}: ${thirdPartyFrom[dep]} wants ${thirdParty[dep]}, ${m.name} wants ${range}`,
        );
      } else {
        thirdParty[dep] = range;
        thirdPartyFrom[dep] = m.name;
      }
    }
    const manifest: PackageManifest = { name: m.name, version: root.version };
    for (const f of KEPT_FIELDS) if (m[f] !== undefined) manifest[f] = m[f];
    if (Object.keys(ownDeps).length > 0) manifest.dependencies = ownDeps;
    // The top-level install script builds the addon; npm must not try (and be refused) here.
    if (pkg.native) manifest['gypfile'] = false;
    bundled.push({ source: pkg, manifest, path });
  }

  const names = bundled.map((b) => b.manifest.name);
  const dependencies: Record<string, string> = {};
  for (const dep of Object.keys(thirdParty).sort()) dependencies[dep] = thirdParty[dep]!;
  for (const name of names) dependencies[name] = root.version;
  const install = bundled
    .filter((b) => b.source.native)
    .map((b) => `node-gyp rebuild --directory=${b.path}`)
    .join(' && ');

  const manifest: PackageManifest = {
    name: root.name,
    version: root.version,
    ...(root.description !== undefined ? { description: root.description } : {}),
    ...(root.license !== undefined ? { license: root.license } : {}),
    type: 'module',
    // NFLOG and netlink exist on Linux only.
    os: ['linux'],
    ...(root.engines !== undefined ? { engines: root.engines } : {}),
    bin: sortedRecord(bin),
    dependencies,
    bundleDependencies: names,
    ...(install !== '' ? { scripts: { install } } : {}),
  };
  return { manifest, bundled, shrinkwrap: shrinkwrapFor(manifest, bundled, thirdParty, lock) };
}

/** The packages with a bin, then (depth first) the workspace packages they depend on. */
function shippedPackages(
  packages: readonly WorkspacePackage[],
  byName: ReadonlyMap<string, WorkspacePackage>,
): WorkspacePackage[] {
  const seen = new Set<string>();
  const out: WorkspacePackage[] = [];
  const visit = (pkg: WorkspacePackage): void => {
    if (seen.has(pkg.manifest.name)) return;
    seen.add(pkg.manifest.name);
    for (const dep of Object.keys(pkg.manifest.dependencies ?? {})) {
      const ws = byName.get(dep);
      if (ws !== undefined) visit(ws);
    }
    out.push(pkg);
  };
  for (const pkg of packages) if (Object.keys(pkg.manifest.bin ?? {}).length > 0) visit(pkg);
  return out;
}

function sortedRecord(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Where Node (and npm) find dependency `name` of the package at lockfile location `from`
 * (`''` = the root): `from/node_modules/name`, then each ancestor's node_modules.
 */
function resolveInLock(lock: Lockfile, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = `${base === '' ? '' : `${base}/`}node_modules/${name}`;
    if (lock.packages[candidate] !== undefined) return candidate;
    if (base === '') return undefined;
    const up = base.lastIndexOf('/node_modules/');
    base = up < 0 ? '' : base.slice(0, up);
  }
}

function shrinkwrapFor(
  manifest: PackageManifest,
  bundled: readonly BundledPackage[],
  thirdParty: Readonly<Record<string, string>>,
  lock: Lockfile,
): Lockfile {
  const packages: Record<string, LockEntry> = {
    '': {
      name: manifest.name,
      version: manifest.version,
      ...(manifest['scripts'] !== undefined ? { hasInstallScript: true } : {}),
      ...(manifest.license !== undefined ? { license: manifest.license } : {}),
      dependencies: manifest.dependencies,
      bin: manifest.bin,
      ...(manifest.engines !== undefined ? { engines: manifest.engines } : {}),
      os: manifest['os'],
    },
  };
  for (const b of bundled) {
    packages[b.path] = {
      version: b.manifest.version,
      inBundle: true,
      ...(b.manifest.license !== undefined ? { license: b.manifest.license } : {}),
      ...(b.manifest.dependencies !== undefined ? { dependencies: b.manifest.dependencies } : {}),
    };
  }
  // Third-party packages: the ones the bundled packages declared (now the top level's), then
  // everything they need, found where the checkout's lockfile put it. All of them resolve from
  // the root: the checkout hoists them there, as the tarball's install will.
  const todo: Array<[from: string, name: string, optional: boolean]> = Object.keys(thirdParty)
    .sort()
    .map((name) => ['', name, false]);
  while (todo.length > 0) {
    const [from, name, optional] = todo.shift()!;
    const at = resolveInLock(lock, from, name);
    if (at === undefined) {
      if (optional) continue;
      throw new PackagingError(
        'ERR_PACK_LOCK_MISSING',
        `${name} (needed by ${from === '' ? manifest.name : from}) is not in package-lock.json: run npm install`,
      );
    }
    if (packages[at] !== undefined) continue;
    const entry: LockEntry = { ...lock.packages[at]! };
    for (const flag of DEV_FLAGS) delete entry[flag];
    packages[at] = entry;
    for (const dep of Object.keys(entry.dependencies ?? {})) todo.push([at, dep, false]);
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) todo.push([at, dep, true]);
  }
  return {
    name: manifest.name,
    version: manifest.version,
    lockfileVersion: 3,
    requires: true,
    packages,
  };
}

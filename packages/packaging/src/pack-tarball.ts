// Builds the operator tarball from a built checkout: reads the workspace (tarball-plan.ts
// decides what ships), lets npm list each shipped package's files (its `files` field, README),
// copies them into a staging directory as node_modules/@nflog-pipe/*, writes the planned
// package.json and npm-shrinkwrap.json, adds the operator files (README, docs, contrib) and
// runs `npm pack` there.

import { execFile } from 'node:child_process';
import { access, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PackagingError } from './errors.js';
import {
  planTarball,
  type Lockfile,
  type PackageManifest,
  type TarballPlan,
  type WorkspacePackage,
} from './tarball-plan.js';

/** The repository root of this checkout (this file is packages/packaging/dist/src/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** Files and directories of the repository root that ship as they are, except tests. */
export const TARBALL_EXTRA_FILES: readonly string[] = ['README.md', 'docs', 'contrib'];

/** Test files among them (contrib/prometheus has promtool rule tests) stay out. */
const TEST_FILE = /\.test\.[^/]*$/;

/** Options of {@link packTarball}. */
export interface PackTarballOptions {
  /** Directory the tarball is written to (created if missing). */
  outDir: string;
  /** The checkout to pack; default: the one this package is in. */
  rootDir?: string;
}

/** What {@link packTarball} produced. */
export interface PackedTarball {
  /** Absolute path of `nflog-pipe-VERSION.tgz`. */
  path: string;
  /** The plan it was built from (its package.json, bundled packages, shrinkwrap). */
  plan: TarballPlan;
  /** Every file in the tarball, relative to its `package/` root. */
  files: string[];
}

/** One package of `npm pack --dry-run --json`. */
interface NpmPackResult {
  name: string;
  filename: string;
  files: Array<{ path: string }>;
}

async function readJson<T>(path: string): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    throw new PackagingError('ERR_PACK_BAD_MANIFEST', `${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs npm with `args` in `cwd` and returns its stdout. Lifecycle scripts are never run here:
 * packing copies built files, it builds nothing.
 * @throws PackagingError `ERR_PACK_NPM` with the tail of npm's stderr
 */
function npm(args: readonly string[], cwd: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      'npm',
      [...args, '--ignore-scripts', '--json'],
      { cwd, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err !== null) {
          reject(
            new PackagingError(
              'ERR_PACK_NPM',
              `npm ${args.join(' ')} failed: ${stderr.trim().split('\n').slice(-5).join(' ')}`,
              { cause: err },
            ),
          );
        } else resolvePromise(stdout);
      },
    );
  });
}

/** Reads the root manifest and every workspace package of the checkout at `rootDir`. */
export async function readWorkspace(
  rootDir: string,
): Promise<{ root: PackageManifest; packages: WorkspacePackage[]; lock: Lockfile }> {
  const root = await readJson<PackageManifest>(join(rootDir, 'package.json'));
  const packages: WorkspacePackage[] = [];
  for (const dir of root.workspaces ?? []) {
    packages.push({
      dir,
      manifest: await readJson<PackageManifest>(join(rootDir, dir, 'package.json')),
      native: await exists(join(rootDir, dir, 'binding.gyp')),
    });
  }
  const lockPath = join(rootDir, 'package-lock.json');
  if (!(await exists(lockPath)))
    throw new PackagingError('ERR_PACK_LOCK_MISSING', `${lockPath} is missing: run npm install`);
  return { root, packages, lock: await readJson<Lockfile>(lockPath) };
}

/**
 * Packs `nflog-pipe-VERSION.tgz` into `outDir` from the built checkout (`npm run build`
 * first: dist/ is what ships; the native addon ships as source and is built at install).
 * @throws PackagingError (`ERR_PACK_*`): see {@link PACKAGING_ERROR_CODES}
 */
export async function packTarball(options: PackTarballOptions): Promise<PackedTarball> {
  const rootDir = resolve(options.rootDir ?? REPO_ROOT);
  const { root, packages, lock } = await readWorkspace(rootDir);
  const plan = planTarball(root, packages, lock);
  const listed = JSON.parse(
    await npm(['pack', '--dry-run', ...plan.bundled.flatMap((b) => ['-w', b.source.dir])], rootDir),
  ) as NpmPackResult[];
  const filesOf = new Map(listed.map((r) => [r.name, r.files.map((f) => f.path)]));

  const staging = await mkdtemp(join(tmpdir(), 'nflog-pipe-pack-'));
  try {
    for (const b of plan.bundled) {
      const files = filesOf.get(b.manifest.name) ?? [];
      checkBuilt(b.source, files);
      for (const file of files) {
        // A prebuilt addon would be built for this machine; the install builds its own.
        if (file === 'package.json' || file.startsWith('build/')) continue;
        const to = join(staging, b.path, file);
        await mkdir(dirname(to), { recursive: true });
        await cp(join(rootDir, b.source.dir, file), to);
      }
      await writeFile(join(staging, b.path, 'package.json'), json(b.manifest));
    }
    for (const extra of TARBALL_EXTRA_FILES) {
      if (await exists(join(rootDir, extra)))
        await cp(join(rootDir, extra), join(staging, extra), {
          recursive: true,
          filter: (src) => !TEST_FILE.test(src),
        });
    }
    await writeFile(join(staging, 'package.json'), json(plan.manifest));
    await writeFile(join(staging, 'npm-shrinkwrap.json'), json(plan.shrinkwrap));
    await mkdir(options.outDir, { recursive: true });
    const outDir = resolve(options.outDir);
    const [packed] = JSON.parse(
      await npm(['pack', '--pack-destination', outDir], staging),
    ) as NpmPackResult[];
    if (packed === undefined)
      throw new PackagingError('ERR_PACK_NPM', 'npm pack reported no tarball');
    return {
      path: join(outDir, packed.filename),
      plan,
      files: packed.files.map((f) => f.path).sort(),
    };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Every bin and the main file of a shipped package must be among its packed files. */
function checkBuilt(pkg: WorkspacePackage, files: readonly string[]): void {
  const have = new Set(files);
  const needed = [
    ...Object.values(pkg.manifest.bin ?? {}),
    ...(pkg.manifest.main !== undefined ? [pkg.manifest.main] : []),
  ].map((f) => f.replace(/^\.\//, ''));
  for (const f of needed) {
    if (!have.has(f))
      throw new PackagingError(
        'ERR_PACK_NOT_BUILT',
        `${pkg.dir}/${f} is not built or not in the package's files: run npm run build`,
      );
  }
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

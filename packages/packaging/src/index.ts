export { PACKAGING_ERROR_CODES, PackagingError, type PackagingErrorCode } from './errors.js';
export {
  planTarball,
  type BundledPackage,
  type LockEntry,
  type Lockfile,
  type PackageManifest,
  type TarballPlan,
  type WorkspacePackage,
} from './tarball-plan.js';
export {
  packTarball,
  readWorkspace,
  REPO_ROOT,
  TARBALL_EXTRA_FILES,
  type PackTarballOptions,
  type PackedTarball,
} from './pack-tarball.js';
export { main } from './cli.js';

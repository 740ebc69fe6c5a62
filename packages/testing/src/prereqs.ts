import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';

/** True when `tool` is an executable file in one of the `PATH` directories. */
export function hasTool(tool: string): boolean {
  // Also look in the sbin directories: `ip` and `nft` live there and a non-login PATH may lack them.
  const dirs = (process.env['PATH'] ?? '').split(delimiter).concat(['/usr/sbin', '/sbin']);
  for (const dir of dirs) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      // not here; keep looking
    }
  }
  return false;
}

/**
 * Checks what a test needs (`root`: effective uid 0; `tools`: executables on PATH).
 * Returns true when everything is present. Otherwise, with env `CI=true` it throws (a missing
 * prerequisite fails the test in CI); elsewhere it calls `t.skip('<one-line reason>')` and returns
 * false, and the caller returns early.
 * @throws Error with code `ERR_TEST_PREREQ` under CI when something is missing.
 */
export function requirePrereqs(
  t: TestContext,
  needs: { root?: boolean; tools?: string[] },
): boolean {
  const missing: string[] = [];
  if (needs.root === true && process.getuid?.() !== 0) missing.push('root');
  for (const tool of needs.tools ?? []) {
    if (!hasTool(tool)) missing.push(tool);
  }
  if (missing.length === 0) return true;
  return missingPrereq(t, `needs ${missing.join(', ')}`);
}

/**
 * What a test does when a prerequisite is missing: under `CI=true` it fails (throws, code
 * `ERR_TEST_PREREQ`); elsewhere it calls `t.skip(reason)` and returns false, for `return`.
 * @param reason one line, e.g. `needs root, tcpdump`
 * @throws Error with code `ERR_TEST_PREREQ` under CI
 */
export function missingPrereq(t: TestContext, reason: string): false {
  if (process.env['CI'] === 'true') {
    const err = new Error(`missing prerequisite under CI: ${reason}`) as Error & { code: string };
    err.code = 'ERR_TEST_PREREQ';
    throw err;
  }
  t.skip(reason);
  return false;
}

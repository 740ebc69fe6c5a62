// Local test helpers: external tools via execFile, temp dirs and FIFOs, and the one generous
// timeout.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** The only timeout the tests use: generous, so a slow box never turns into a failure. */
export const TIMEOUT_MS = 20_000;

/** Reject if `promise` has not settled within {@link TIMEOUT_MS}; names `what` in the error. */
export function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${TIMEOUT_MS} ms: ${what}`)),
      TIMEOUT_MS,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Run a tool and return its output; rejects (with stderr in the message) on a non-zero exit. */
export function run(
  cmd: string,
  args: readonly string[],
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { timeout: TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err)
          reject(
            new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`, { cause: err }),
          );
        else resolve({ stdout, stderr });
      },
    );
  });
}

/**
 * True if `tool` can be run. Otherwise: with CI=true the test fails (a missing prerequisite is a
 * defect there); elsewhere it is skipped with a one-line reason and false is returned.
 */
export async function haveTool(t: TestContext, tool: string): Promise<boolean> {
  try {
    await run(tool, ['--version']);
    return true;
  } catch {
    const reason = `${tool} is not installed`;
    if (process.env.CI === 'true') assert.fail(`${reason} (required with CI=true)`);
    t.skip(reason);
    return false;
  }
}

/** A fresh temp directory, removed after the test even on failure. */
export async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nfp-pcap-writer-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A FIFO `out.fifo` in a fresh temp directory, or null when mkfifo is missing (test skipped). */
export async function makeFifo(t: TestContext): Promise<string | null> {
  if (!(await haveTool(t, 'mkfifo'))) return null;
  const path = join(await tempDir(t), 'out.fifo');
  await run('mkfifo', [path]);
  return path;
}

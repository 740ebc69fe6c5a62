import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** Creates a fresh directory under the OS temp dir; it is removed (recursively) in `t.after`. */
export async function makeTempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nfp-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Creates a FIFO (named pipe) at `path` with mode 0600 using the `mkfifo` tool (Node has no
 * mkfifo(3) binding). @throws when mkfifo fails (for example, the path exists).
 */
export async function mkfifo(path: string): Promise<void> {
  await execFileP('mkfifo', ['-m', '0600', path]);
}

/**
 * Creates a FIFO named `name` in a fresh temp dir (removed in `t.after`, see makeTempDir) and
 * returns its path; the directory (`dirname` of it) is free for the test's other files.
 */
export async function makeTempFifo(t: TestContext, name = 'out.fifo'): Promise<string> {
  const path = join(await makeTempDir(t), name);
  await mkfifo(path);
  return path;
}

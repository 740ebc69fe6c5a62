import { binPath, type ToolName } from './bin-path.js';
import { spawnChild } from './child.js';
import { TEST_TIMEOUT_MS, withTimeout } from './timeout.js';

/** How one run of a CLI ended, and everything it wrote. */
export interface ToolRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs our CLI `tool` with `args` under this Node to completion (a usage error, `--help`, a
 * query) and returns its exit and output; a non-zero exit is returned, not thrown.
 * @throws Error (code `ERR_TEST_TIMEOUT`) when it has not exited after TEST_TIMEOUT_MS; it is
 * killed (SIGKILL, by PID) first.
 */
export async function runTool(tool: ToolName, args: readonly string[]): Promise<ToolRun> {
  const h = spawnChild(process.execPath, [binPath(tool), ...args]);
  try {
    const { code, signal } = await withTimeout(
      h.exited,
      TEST_TIMEOUT_MS,
      `${tool} ${args.join(' ')} to exit`,
    );
    return { code, signal, stdout: h.stdout(), stderr: h.stderr() };
  } catch (err) {
    h.kill('SIGKILL');
    throw err;
  }
}

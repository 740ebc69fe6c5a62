import type { TestContext } from 'node:test';
import { runCommand, type RunResult } from './netns.js';
import { missingPrereq } from './prereqs.js';

/**
 * Debian's Python, which has pyzmq (`python3-zmq`). The `python3` first on PATH may be another
 * one without it, so tests name this one.
 */
export const PYZMQ_PYTHON = '/usr/bin/python3';

/**
 * Checks that {@link PYZMQ_PYTHON} can `import zmq.auth`, as requirePrereqs does for tools:
 * true when it can; otherwise a failure under `CI=true` (code `ERR_TEST_PREREQ`), a skip with
 * one line elsewhere (then false).
 */
export async function requirePyzmq(t: TestContext): Promise<boolean> {
  const r = await runCommand(PYZMQ_PYTHON, ['-c', 'import zmq.auth'], { allowFail: true }).catch(
    () => null,
  );
  if (r !== null && r.code === 0) return true;
  return missingPrereq(t, `needs pyzmq (${PYZMQ_PYTHON} with python3-zmq)`);
}

/**
 * Runs Python `code` under {@link PYZMQ_PYTHON} with `args` as sys.argv[1:].
 * @throws Error (code `ERR_TEST_COMMAND`) when it fails
 */
export function runPython(code: string, args: readonly string[] = []): Promise<RunResult> {
  return runCommand(PYZMQ_PYTHON, ['-c', code, ...args]);
}

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { TEST_TIMEOUT_MS, withTimeout } from './timeout.js';

/** A spawned child process with its output accumulated, for tests. */
export interface ChildHandle {
  /** The underlying Node child process. */
  readonly child: ChildProcess;
  /** Its process id (with `netns`, `ip netns exec` execs the command, so this is the command). */
  readonly pid: number;
  /** Everything written to stdout so far (a copy). */
  stdout(): Buffer;
  /** Everything written to stderr so far, as UTF-8. */
  stderr(): string;
  /** Resolves with the first match of `re` in the accumulated stderr; rejects on exit or timeout. */
  waitForStderr(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Same as waitForStderr, on stdout decoded as UTF-8. */
  waitForStdout(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /**
   * Resolves with the first non-undefined `probe(stderr)`, checked now and whenever the process
   * writes to stderr; rejects (with the stderr tail) when it exits first or after `timeoutMs`
   * (default TEST_TIMEOUT_MS). `what` names the awaited state in those errors.
   */
  waitForStderrState<T>(
    probe: (stderr: string) => T | undefined,
    what: string,
    timeoutMs?: number,
  ): Promise<T>;
  /** Same as waitForStderrState, on stdout decoded as UTF-8 (a child that reports on stdout). */
  waitForStdoutState<T>(
    probe: (stdout: string) => T | undefined,
    what: string,
    timeoutMs?: number,
  ): Promise<T>;
  /** Settles once the process has exited and its stdio has closed. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `sig` (default SIGTERM) to the process by PID if it is still running. */
  kill(sig?: NodeJS.Signals): void;
}

/** Options of spawnChild: Node's SpawnOptions plus `netns`, a namespace to run the command in. */
export type SpawnChildOptions = SpawnOptions & { netns?: string };

const running = new Set<ChildHandle>();

/** Grace period between SIGTERM and SIGKILL when cleaning up children, in milliseconds. */
const KILL_GRACE_MS = 2_000;

/**
 * Spawns `cmd args` (inside network namespace `opts.netns` via `ip netns exec` when given),
 * stdin ignored unless `opts.stdio` says otherwise, stdout/stderr piped and accumulated.
 * The child is tracked until it exits, so `killAllChildren()` can clean up after a failure.
 * @throws when the process cannot be spawned (no pid).
 */
export function spawnChild(
  cmd: string,
  args: readonly string[],
  opts: SpawnChildOptions = {},
): ChildHandle {
  const { netns, ...spawnOpts } = opts;
  const [file, argv] =
    netns === undefined ? [cmd, [...args]] : ['ip', ['netns', 'exec', netns, cmd, ...args]];
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOpts });
  if (child.pid === undefined) {
    throw new Error(`cannot spawn ${file}`);
  }
  const pid = child.pid;
  const outChunks: Buffer[] = [];
  let errText = '';
  const waiters = new Set<() => void>();
  const notify = (): void => {
    for (const w of [...waiters]) w();
  };
  child.stdout?.on('data', (b: Buffer) => {
    outChunks.push(b);
    notify();
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    errText += s;
    notify();
  });

  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve, reject) => {
      child.once('error', (err) => {
        // A spawn error (ENOENT) also ends the process's life as far as we are concerned.
        done = true;
        running.delete(handle);
        notify();
        reject(err);
      });
      child.once('close', (code, signal) => {
        done = true;
        running.delete(handle);
        notify();
        resolve({ code, signal });
      });
    },
  );
  // Tests that never await `exited` must not get an unhandled rejection from it.
  exited.catch(() => {});

  // Every wait re-runs its probe on each output chunk and once more at exit.
  const waitUntil = <T>(
    probe: () => T | undefined,
    what: string,
    timeoutMs = TEST_TIMEOUT_MS,
  ): Promise<T> => {
    const p = new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const hit = probe();
        if (hit !== undefined) {
          waiters.delete(check);
          resolve(hit);
        } else if (done) {
          waiters.delete(check);
          reject(new Error(`${cmd} exited before ${what}; stderr: ${errText.trim().slice(-1500)}`));
        }
      };
      waiters.add(check);
      check();
    });
    return withTimeout(p, timeoutMs, `${cmd}: ${what}`).catch((err: Error & { code?: string }) => {
      if (err.code !== 'ERR_TEST_TIMEOUT') throw err;
      // The stderr of when the wait gave up, not of when it began, says why.
      const late = new Error(`${err.message}; stderr so far: ${errText.trim().slice(-1500)}`, {
        cause: err,
      }) as Error & {
        code: string;
      };
      late.code = err.code;
      throw late;
    });
  };
  const waitFor = (
    text: () => string,
    which: string,
    re: RegExp,
    timeoutMs?: number,
  ): Promise<RegExpMatchArray> =>
    waitUntil(() => text().match(re) ?? undefined, `${which} matched ${re}`, timeoutMs);

  const outText = (): string => Buffer.concat(outChunks).toString('utf8');

  const handle: ChildHandle = {
    child,
    pid,
    stdout: () => Buffer.concat(outChunks),
    stderr: () => errText,
    waitForStderr: (re, timeoutMs) => waitFor(() => errText, 'stderr', re, timeoutMs),
    waitForStdout: (re, timeoutMs) => waitFor(outText, 'stdout', re, timeoutMs),
    waitForStderrState: (probe, what, timeoutMs) =>
      waitUntil(() => probe(errText), what, timeoutMs),
    waitForStdoutState: (probe, what, timeoutMs) =>
      waitUntil(() => probe(outText()), what, timeoutMs),
    exited,
    kill(sig: NodeJS.Signals = 'SIGTERM') {
      if (done) return;
      try {
        process.kill(pid, sig);
      } catch {
        // already gone (ESRCH): nothing to do
      }
    },
  };
  running.add(handle);
  return handle;
}

/**
 * Stops the given children: SIGTERM, then SIGKILL for any still running after a grace period
 * (2 s); resolves once all have exited. Only these PIDs are signalled.
 */
export async function killChildren(children: Iterable<ChildHandle>): Promise<void> {
  const list = [...children];
  for (const c of list) c.kill('SIGTERM');
  await Promise.all(
    list.map(async (c) => {
      const gone = c.exited.then(
        () => true,
        () => true,
      );
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), KILL_GRACE_MS);
      });
      const ok = await Promise.race([gone, graceOver]);
      clearTimeout(timer);
      if (!ok) {
        c.kill('SIGKILL');
        await gone;
      }
    }),
  );
}

/** Kills every child spawned by spawnChild that is still running (by PID); see killChildren. */
export function killAllChildren(): Promise<void> {
  return killChildren(running);
}

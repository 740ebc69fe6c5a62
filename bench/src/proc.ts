import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { rm } from 'node:fs/promises';

/** A process the bench started, with its output accumulated. */
export interface Proc {
  /** Short label used in tables ("tcpdump", "sender", ...). */
  readonly label: string;
  readonly child: ChildProcess;
  /** PID of the command itself (`ip netns exec` execs it, so no extra process sits between). */
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Settles when the process has exited and its stdio closed. Never rejects. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>;
  /** True once exited. */
  readonly done: boolean;
  /** Signals the process by PID if it still runs. */
  kill(sig?: NodeJS.Signals): void;
  /** Resolves with the first match of `re` on stderr (or stdout with `onStdout`); rejects on exit/timeout. */
  waitFor(re: RegExp, timeoutMs: number, onStdout?: boolean): Promise<RegExpMatchArray>;
}

/** Options of startProc. */
export interface StartOptions {
  /** Run inside this network namespace (`ip netns exec NS cmd ...`). */
  netns?: string;
  /** stdio for the child; default ignore/pipe/pipe. stdout may be a file descriptor. */
  stdio?: StdioOptions;
  env?: NodeJS.ProcessEnv;
}

const live = new Set<Proc>();

/**
 * Spawns `cmd args`, tracked until it exits so killAll() can clean up on failure or Ctrl-C.
 * @throws when the process cannot be spawned.
 */
export function startProc(
  label: string,
  cmd: string,
  args: readonly string[],
  opts: StartOptions = {},
): Proc {
  const [file, argv] =
    opts.netns === undefined
      ? [cmd, [...args]]
      : ['ip', ['netns', 'exec', opts.netns, cmd, ...args]];
  const child = spawn(file, argv, {
    stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
  });
  if (child.pid === undefined) throw new Error(`cannot spawn ${cmd}`);
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  const notify = (): void => {
    for (const w of [...waiters]) w();
  };
  child.stdout?.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    notify();
  });
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    // Keep only the tail: a chatty process must not grow our memory without bound.
    err = (err + s).slice(-256 * 1024);
    notify();
  });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>(
    (resolve) => {
      child.once('error', (error) => {
        done = true;
        notify();
        resolve({ code: null, signal: null, error });
      });
      child.once('close', (code, signal) => {
        done = true;
        notify();
        resolve({ code, signal });
      });
    },
  );
  const proc: Proc = {
    label,
    child,
    pid: child.pid,
    stdout: () => out,
    stderr: () => err,
    exited,
    get done() {
      return done;
    },
    kill(sig: NodeJS.Signals = 'SIGTERM') {
      if (done) return;
      try {
        process.kill(proc.pid, sig);
      } catch {
        // ESRCH: already gone
      }
    },
    waitFor(re, timeoutMs, onStdout = false) {
      return new Promise<RegExpMatchArray>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `${label}: timed out after ${timeoutMs} ms waiting for ${re}; stderr: ${err.trim().slice(-400)}`,
            ),
          );
        }, timeoutMs);
        const check = (): void => {
          const m = (onStdout ? out : err).match(re);
          if (m !== null || done) {
            waiters.delete(check);
            clearTimeout(timer);
            if (m !== null) resolve(m);
            else
              reject(
                new Error(
                  `${label} exited before ${re} appeared; stderr: ${err.trim().slice(-400)}`,
                ),
              );
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
  live.add(proc);
  void exited.then(() => live.delete(proc));
  return proc;
}

/**
 * Stops a process: `sig` (default SIGINT), then SIGKILL after `graceMs`. Resolves with its exit.
 */
export async function stopProc(
  p: Proc,
  sig: NodeJS.Signals = 'SIGINT',
  graceMs = 5_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  p.kill(sig);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, graceMs);
  });
  const r = await Promise.race([p.exited, late.then(() => undefined)]);
  clearTimeout(timer);
  if (r !== undefined) return r;
  p.kill('SIGKILL');
  return p.exited;
}

/** Kills every process started by startProc that still runs (by PID: SIGTERM, then SIGKILL). */
export async function killAll(graceMs = 2_000): Promise<void> {
  await Promise.all([...live].map((p) => stopProc(p, 'SIGTERM', graceMs)));
}

/** Runs a command to completion; rejects on non-zero exit unless allowFail. */
export async function runCmd(
  cmd: string,
  args: readonly string[],
  opts: { netns?: string; input?: string; allowFail?: boolean } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = startProc(cmd, cmd, args, { netns: opts.netns, stdio: ['pipe', 'pipe', 'pipe'] });
  p.child.stdin?.on('error', () => {});
  p.child.stdin?.end(opts.input ?? '');
  const r = await p.exited;
  if (r.error !== undefined) throw r.error;
  const code = r.code ?? 128;
  if (code !== 0 && opts.allowFail !== true) {
    throw new Error(
      `${cmd} ${args.join(' ')} failed (exit ${code}): ${p.stderr().trim().slice(-500)}`,
    );
  }
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

/** Resolves after `ms` milliseconds (harness pacing only; never used in tests). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The bench's and the demo's run scope: a temp dir and a namespace that must go away however
 * the run ends. On the first SIGINT/SIGTERM it kills our children, removes both and exits 0 (a
 * clean interrupt, as every CLI of the project exits); otherwise `cleanup()` does the same at
 * the end of the run. `interrupted` tells the main flow to stop quietly.
 */
export class RunScope {
  readonly #tool: string;
  readonly tmp: string;
  ns: { remove(): Promise<void> } | undefined;
  #interrupted = false;

  constructor(tool: string, tmp: string) {
    this.#tool = tool;
    this.tmp = tmp;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (this.#interrupted) return;
      this.#interrupted = true;
      process.stderr.write(`${this.#tool}: ${sig}: cleaning up\n`);
      void this.#remove().finally(() => process.exit(0));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  get interrupted(): boolean {
    return this.#interrupted;
  }

  /** End of the run (not after an interrupt: the signal path owns the exit then). */
  async cleanup(): Promise<void> {
    if (!this.#interrupted) await this.#remove();
  }

  async #remove(): Promise<void> {
    await killAll();
    await this.ns?.remove();
    await rm(this.tmp, { recursive: true, force: true });
  }
}

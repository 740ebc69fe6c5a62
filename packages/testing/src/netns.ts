import { spawn } from 'node:child_process';
import { killChildren, spawnChild, type ChildHandle, type SpawnChildOptions } from './child.js';

/** Result of a command that ran to completion. */
export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Options of runCommand / Netns.run. */
export interface RunOptions {
  /** Written to the command's stdin, which is then closed. */
  input?: string | Buffer;
  /** When true a non-zero exit is returned in `code` instead of thrown. */
  allowFail?: boolean;
}

/**
 * Runs `cmd args` to completion, collecting stdout and stderr as UTF-8.
 * @throws Error (code `ERR_TEST_COMMAND`) on a non-zero exit or signal unless `allowFail`, and on
 * spawn errors (ENOENT) always.
 */
export function runCommand(
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(cmd, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const exit = code ?? 128;
      if ((code !== 0 || signal !== null) && opts.allowFail !== true) {
        const what = signal !== null ? `signal ${signal}` : `exit ${code}`;
        const err = new Error(
          `${cmd} ${args.join(' ')} failed (${what}): ${stderr.trim().slice(-1000)}`,
        ) as Error & {
          code: string;
          result: RunResult;
        };
        err.code = 'ERR_TEST_COMMAND';
        err.result = { stdout, stderr, code: exit };
        reject(err);
        return;
      }
      resolve({ stdout, stderr, code: exit });
    });
    // EPIPE if the command exits without reading stdin is harmless here; the exit code tells.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

let created = 0;

/**
 * A network namespace created for one test: `nfp-<tag>-<pid>-<n>`, with `lo` up so 127.0.0.1 and
 * ::1 work inside. Needs root. Remove it in `t.after(() => ns.remove())`.
 */
export class Netns {
  /** The namespace name as `ip netns` knows it. */
  readonly name: string;
  #children = new Set<ChildHandle>();
  #removed = false;

  private constructor(name: string) {
    this.name = name;
  }

  /**
   * Creates the namespace (`ip netns add`) and brings `lo` up. On failure to bring `lo` up the
   * namespace is deleted again. @throws Error with code `ERR_TEST_COMMAND` when `ip` fails.
   */
  static async create(tag: string): Promise<Netns> {
    created += 1;
    const name = `nfp-${tag}-${process.pid}-${created}`;
    await runCommand('ip', ['netns', 'add', name]);
    const ns = new Netns(name);
    try {
      await runCommand('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    } catch (err) {
      await ns.remove();
      throw err;
    }
    return ns;
  }

  /** Runs a command inside the namespace to completion (see runCommand). */
  run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return runCommand('ip', ['netns', 'exec', this.name, cmd, ...args], opts);
  }

  /** Loads an nft ruleset inside the namespace (`nft -f -`). @throws when nft rejects it. */
  async nft(ruleset: string): Promise<void> {
    await this.run('nft', ['-f', '-'], { input: ruleset });
  }

  /** Spawns a long-running process inside the namespace; remove() kills it if still running. */
  spawn(
    cmd: string,
    args: readonly string[],
    opts: Omit<SpawnChildOptions, 'netns'> = {},
  ): ChildHandle {
    const h = spawnChild(cmd, args, { ...opts, netns: this.name });
    this.#children.add(h);
    void h.exited.finally(() => this.#children.delete(h)).catch(() => {});
    return h;
  }

  /**
   * Kills this namespace's children still running (SIGTERM, SIGKILL after a grace period), then
   * deletes the namespace. Safe to call twice.
   */
  async remove(): Promise<void> {
    if (this.#removed) return;
    this.#removed = true;
    await killChildren(this.#children);
    await runCommand('ip', ['netns', 'del', this.name]);
  }
}

import type { TestContext } from 'node:test';
import { binPath, type ToolName } from './bin-path.js';
import { killChildren, spawnChild, type ChildHandle } from './child.js';
import type { Netns } from './netns.js';

/**
 * The children one test starts, so that `t.after` resumes (SIGCONT: one left stopped by a failed
 * assertion must run to handle SIGTERM) and kills those still running, by PID (see killChildren).
 */
export class Children {
  readonly #list: ChildHandle[] = [];

  /** Registers the clean-up on `t`. */
  constructor(t: TestContext) {
    t.after(async () => {
      for (const h of this.#list) h.kill('SIGCONT');
      await killChildren(this.#list);
    });
  }

  /** Tracks `h` for the clean-up and returns it. */
  add(h: ChildHandle): ChildHandle {
    this.#list.push(h);
    return h;
  }

  /**
   * Starts our CLI `tool` with `args` under this Node (inside `ns` when given), tracks it, and
   * resolves once its stderr matches `ready` (the line saying its sockets are bound).
   * @throws when it exits first or the test timeout passes (see ChildHandle.waitForStderr)
   */
  async start(
    tool: ToolName,
    args: readonly string[],
    ready: RegExp,
    ns?: Netns,
  ): Promise<ChildHandle> {
    const argv = [binPath(tool), ...args];
    const h = this.add(
      ns === undefined ? spawnChild(process.execPath, argv) : ns.spawn(process.execPath, argv),
    );
    await h.waitForStderr(ready);
    return h;
  }
}

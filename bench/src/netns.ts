import { runCmd } from './proc.js';

let made = 0;

/**
 * A throwaway network namespace `nfp-<tag>-<pid>-<n>` with `lo` up. The bench and the demo run
 * everything inside one, so their nft rules and loopback traffic never touch the host.
 */
export class BenchNetns {
  readonly name: string;
  #removed = false;

  private constructor(name: string) {
    this.name = name;
  }

  /** Creates the namespace and brings `lo` up. @throws when `ip` fails (not root?). */
  static async create(tag: string): Promise<BenchNetns> {
    made += 1;
    const name = `nfp-${tag}-${process.pid}-${made}`;
    await runCmd('ip', ['netns', 'add', name]);
    const ns = new BenchNetns(name);
    try {
      await runCmd('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    } catch (err) {
      await ns.remove();
      throw err;
    }
    return ns;
  }

  /** Loads an nft ruleset inside the namespace (`nft -f -`). */
  async nft(ruleset: string): Promise<void> {
    await runCmd('nft', ['-f', '-'], { netns: this.name, input: ruleset });
  }

  /** Runs a command inside the namespace to completion. */
  run(
    cmd: string,
    args: readonly string[],
    allowFail = false,
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    return runCmd(cmd, args, { netns: this.name, allowFail });
  }

  /** Deletes the namespace (its processes must be stopped first). Safe to call twice. */
  async remove(): Promise<void> {
    if (this.#removed) return;
    this.#removed = true;
    await runCmd('ip', ['netns', 'del', this.name], { allowFail: true });
  }
}

/**
 * The bench's ruleset: every UDP datagram to `port` is logged to NFLOG group `group`, then
 * dropped. Both happen on the input hook: dropping on output would make sendmmsg() fail with
 * EPERM on every datagram and kill the generator's batching, and dropping on input before any
 * socket sees the datagram avoids ICMP port-unreachable replies and receive-path cost.
 */
export function benchRuleset(group: number, port: number): string {
  return [
    'table inet nfpbench {',
    '  chain in {',
    '    type filter hook input priority 0;',
    `    udp dport ${port} log group ${group} drop`,
    '  }',
    '}',
    '',
  ].join('\n');
}

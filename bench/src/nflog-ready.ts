import { readFile } from 'node:fs/promises';
import { delay, type Proc } from './proc.js';

/** One line of /proc/net/netfilter/nfnetlink_log: an NFLOG instance (bound group). */
export interface NflogInstance {
  group: number;
  portid: number;
  /** Packets logged but still held in the kernel's batch (not yet sent to the socket). */
  qlen: number;
  /** 2 = NFULNL_COPY_PACKET. */
  copyMode: number;
  copyRange: number;
  /** Kernel batch flush timeout, in 1/100 s. */
  flushTimeout: number;
}

/**
 * Reads the NFLOG instance of `group` as the kernel shows it to `pid`'s network namespace
 * (/proc/<pid>/net/netfilter/nfnetlink_log, so no command has to run inside the namespace).
 * Undefined when the group is not bound or the process is gone.
 */
export async function readNflogInstance(
  pid: number,
  group: number,
): Promise<NflogInstance | undefined> {
  const text = await readFile(`/proc/${pid}/net/netfilter/nfnetlink_log`, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const c = line.trim().split(/\s+/).map(Number);
    if (c.length >= 6 && c[0] === group) {
      return {
        group,
        portid: c[1] ?? 0,
        qlen: c[2] ?? 0,
        copyMode: c[3] ?? 0,
        copyRange: c[4] ?? 0,
        flushTimeout: c[5] ?? 0,
      };
    }
  }
  return undefined;
}

/**
 * Resolves once `proc` has bound NFLOG group `group` in packet copy mode (every tool sets
 * NFULNL_COPY_PACKET right after binding).
 * @throws when the process exits first or after `timeoutMs`.
 */
export async function waitNflogBound(proc: Proc, group: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.done) {
      throw new Error(
        `${proc.label} exited before binding NFLOG group ${group}: ${proc.stderr().trim().slice(-400)}`,
      );
    }
    if ((await readNflogInstance(proc.pid, group))?.copyMode === 2) return;
    if (Date.now() > deadline) {
      throw new Error(`${proc.label} did not bind NFLOG group ${group} within ${timeoutMs} ms`);
    }
    await delay(50);
  }
}

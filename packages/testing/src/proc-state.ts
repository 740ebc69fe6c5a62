// Holding a child process at a known point (SIGSTOP) and reading where it sleeps, from /proc.
// /proc has no change events to await, so these few waits poll (every POLL_MS, bounded by the
// test timeout).

import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import type { ChildHandle } from './child.js';
import { TEST_TIMEOUT_MS, withTimeout } from './timeout.js';

/** How often pollUntil looks again, in milliseconds. */
const POLL_MS = 2;

/**
 * Resolves once `pred()` holds, checked every few ms; rejects with ERR_TEST_TIMEOUT after the
 * test timeout, naming `what()` as it is then.
 */
export async function pollUntil(pred: () => boolean, what: () => string): Promise<void> {
  const p = (async () => {
    while (!pred()) await delay(POLL_MS);
  })();
  await withTimeout(p, TEST_TIMEOUT_MS, what()).catch((err: Error) => {
    throw new Error(`${err.message}; now: ${what()}`, { cause: err });
  });
}

/** The scheduler state letter of process `pid` (`R`, `S`, `T` stopped, ...) from /proc/PID/stat. */
export function procState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const end = stat.lastIndexOf(')');
  return stat.slice(end + 2, end + 3);
}

/** Where process `pid` sleeps in the kernel (`anon_pipe_read`, `pipe_read`, `0` when running). */
export function procWchan(pid: number): string {
  return readFileSync(`/proc/${pid}/wchan`, 'utf8');
}

/** Sends SIGSTOP to `h` and resolves once it is really stopped (state `T`). */
export async function pause(h: ChildHandle): Promise<void> {
  h.kill('SIGSTOP');
  await pollUntil(
    () => procState(h.pid) === 'T',
    () => `pid ${h.pid} stopped (state ${procState(h.pid)})`,
  );
}

/** Lets a child stopped by {@link pause} run again (SIGCONT). */
export function resume(h: ChildHandle): void {
  h.kill('SIGCONT');
}

/**
 * Resolves once process `pid` sleeps in a pipe read. While the writer is stopped this means the
 * pipe is empty and the process has handed on everything it read (cat, tcpdump -U), so killing it
 * now loses nothing that the writer believes delivered.
 */
export async function waitBlockedInPipeRead(pid: number): Promise<void> {
  await pollUntil(
    () => /pipe_read$/.test(procWchan(pid)) && procState(pid) === 'S',
    () => `pid ${pid} blocked in a pipe read (wchan ${procWchan(pid)}, state ${procState(pid)})`,
  );
}

// Reading the tools' own log lines in end-to-end tests. Every CLI writes one event per stderr
// line, `<ISO time> <LEVEL> <prog>: <message> key=value ...` (shared's logger), and its
// counters ride in the `stats` and `stopped` lines; tests assert on those numbers.

import assert from 'node:assert/strict';
import type { ChildHandle } from './child.js';
import { TEST_TIMEOUT_MS, withTimeout } from './timeout.js';

/** The numeric counters of one log line, by key (`captured`, `in_pkt`, `compress_in.pkt`, ...). */
export type LogCounters = Record<string, number>;

/** The numeric key=value pairs of one log line; ids, text and negative values are left out. */
export function parseLogCounters(line: string): LogCounters {
  const out: LogCounters = {};
  for (const m of line.matchAll(/ ([a-z_.]+)=(\d+)(?=\s|$)/g)) out[m[1]!] = Number(m[2]);
  return out;
}

/**
 * Every INFO line of `stderr` whose message is exactly `msg` (`stats`, `stopped`, `new sender`),
 * oldest first. `msg` is used as a regular expression source; the names we use have no specials.
 */
export function logLines(stderr: string, msg: string): string[] {
  const re = new RegExp(`^\\S+ INFO [a-z-]+: ${msg}( |$)`);
  return stderr.split('\n').filter((l) => re.test(l));
}

/** The text value of `key` in a log line (`sender=9c0d...`), or undefined. */
export function logField(line: string, key: string): string | undefined {
  return new RegExp(` ${key}=(\\S+)`).exec(line)?.[1];
}

/**
 * Resolves with the counters of the first `msg` line of `h` that satisfy `pred`, checked on every
 * stderr write; rejects when `h` exits first, or after the test timeout.
 */
export function waitForLogCounters(
  h: ChildHandle,
  msg: string,
  pred: (c: LogCounters) => boolean,
  what: string,
): Promise<LogCounters> {
  return h.waitForStderrState((s) => logLines(s, msg).map(parseLogCounters).find(pred), what);
}

/** Resolves with all `msg` lines of `h` once there are at least `n` of them. */
export function waitForLogLines(h: ChildHandle, msg: string, n: number): Promise<string[]> {
  return h.waitForStderrState((s) => {
    const lines = logLines(s, msg);
    return lines.length >= n ? lines : undefined;
  }, `"${msg}" logged ${n} times`);
}

/**
 * SIGTERM, then asserts a clean exit (code 0, no signal) and exactly one final `stopped` line,
 * which it returns (parseLogCounters gives its counters). Only `h`'s PID is signalled.
 */
export async function stopCleanly(h: ChildHandle, what: string): Promise<string> {
  h.kill('SIGTERM');
  const exit = await withTimeout(h.exited, TEST_TIMEOUT_MS, `${what} to exit`);
  assert.deepEqual(
    exit,
    { code: 0, signal: null },
    `${what} exit; stderr: ${h.stderr().slice(-1500)}`,
  );
  const lines = logLines(h.stderr(), 'stopped');
  assert.equal(lines.length, 1, `${what}: one "stopped" line; stderr: ${h.stderr().slice(-1500)}`);
  return lines[0]!;
}

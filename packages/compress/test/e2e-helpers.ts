// Helpers of the end-to-end rate-control test: start the real CLIs and wait for their ready
// line, read the key=value counters of their log lines, stop them with SIGTERM, and check the
// UDP payloads that landed in a pcap against payloadFor().

import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import {
  StatsdListener,
  TEST_TIMEOUT_MS,
  binPath,
  killChildren,
  payloadFor,
  spawnChild,
  withTimeout,
  type ChildHandle,
  type Netns,
  type ToolName,
} from '@nflog-pipe/shared/testing';

/** Counters of one log line, by key (`captured`, `compress_in.pkt`, `bad_frames`, ...). */
export type Counts = Record<string, number>;

/** The numeric key=value pairs of one log line (ids and text values are left out). */
export function parseCounts(line: string): Counts {
  const out: Counts = {};
  for (const m of line.matchAll(/ ([a-z_.]+)=(\d+)(?=\s|$)/g)) out[m[1]!] = Number(m[2]);
  return out;
}

/** Every line of `stderr` whose message is `msg` (`stats`, `stopped`), parsed, oldest first. */
export function countLines(stderr: string, msg: string): Counts[] {
  const re = new RegExp(`^\\S+ INFO [a-z-]+: ${msg}( |$)`);
  return stderr
    .split('\n')
    .filter((l) => re.test(l))
    .map(parseCounts);
}

/** Resolves with the first `msg` line of `h` whose counters satisfy `pred`; rejects on exit or timeout. */
export function waitForCounts(
  h: ChildHandle,
  msg: string,
  pred: (c: Counts) => boolean,
  what: string,
): Promise<Counts> {
  const p = new Promise<Counts>((resolve, reject) => {
    const check = (): boolean => {
      const hit = countLines(h.stderr(), msg).find(pred);
      if (hit === undefined) return false;
      h.child.stderr?.off('data', check);
      resolve(hit);
      return true;
    };
    if (check()) return;
    h.child.stderr?.on('data', check);
    h.exited.then(() => {
      if (!check()) reject(new Error(`exited before ${what}; stderr: ${h.stderr().slice(-1500)}`));
    }, reject);
  });
  return withTimeout(p, TEST_TIMEOUT_MS, `${what}; stderr so far: ${h.stderr().slice(-1500)}`);
}

/** Every child this file starts, so t.after can kill the ones still running (by PID). */
export class Children {
  readonly #list: ChildHandle[] = [];
  constructor(t: TestContext) {
    t.after(() => killChildren(this.#list));
  }

  /**
   * Starts `tool args` (inside `ns` when given) and waits until its stderr matches `ready`
   * (the line saying its sockets are bound).
   */
  async start(
    tool: ToolName,
    args: readonly string[],
    ready: RegExp,
    ns?: Netns,
  ): Promise<ChildHandle> {
    const argv = [binPath(tool), ...args];
    const h =
      ns === undefined ? spawnChild(process.execPath, argv) : ns.spawn(process.execPath, argv);
    this.#list.push(h);
    await h.waitForStderr(ready);
    return h;
  }
}

/** SIGTERM, then asserts a clean exit 0 and returns the counters of the final `stopped` line. */
export async function stopCleanly(h: ChildHandle, what: string): Promise<Counts> {
  h.kill('SIGTERM');
  const exit = await withTimeout(h.exited, TEST_TIMEOUT_MS, `${what} to exit`);
  assert.deepEqual(
    exit,
    { code: 0, signal: null },
    `${what} exit; stderr: ${h.stderr().slice(-1500)}`,
  );
  const lines = countLines(h.stderr(), 'stopped');
  assert.equal(lines.length, 1, `${what}: one "stopped" line; stderr: ${h.stderr().slice(-1500)}`);
  return lines[0]!;
}

/**
 * Resolves once `pred()` holds, checked now and after every statsd datagram the listener gets
 * (the processes flush their counters every few tens of ms while they change).
 */
export async function waitForStatsd(
  statsd: StatsdListener,
  pred: () => boolean,
  what: () => string,
): Promise<void> {
  try {
    // waitFor re-runs the predicate on every datagram; the metric name only selects the total
    // it passes, which this predicate does not need.
    await statsd.waitFor('-', () => pred());
  } catch (err) {
    throw new Error(`${what()}: ${(err as Error).message.slice(0, 300)}`, { cause: err });
  }
}

/** statsd totals by metric name (as sent: prefix included), for diagnostics and assertions. */
export function statsdTotals(statsd: StatsdListener, names: readonly string[]): Counts {
  return Object.fromEntries(names.map((n) => [n, statsd.total(n)]));
}

/** The UDP payload of a raw IPv4 packet (linktype 101), checking the protocol and port. */
export function udpPayload(ip: Buffer, dport: number): Buffer {
  assert.equal(ip[0]! >> 4, 4, 'an IPv4 packet');
  const ihl = (ip[0]! & 0x0f) * 4;
  assert.equal(ip[9], 17, 'UDP');
  assert.equal(ip.readUInt16BE(ihl + 2), dport, 'destination port');
  assert.equal(ip.readUInt16BE(2), ip.length, 'IP total length = captured length (nothing cut)');
  return ip.subarray(ihl + 8);
}

/**
 * Checks that `packets` (raw IPv4 UDP packets, in pcap order) carry payloadFor(seed, i, size)
 * byte for byte with strictly increasing i below `offered`; returns the indices.
 */
export function checkPayloads(
  packets: readonly Buffer[],
  opts: { seed: number; size: number; dport: number; offered: number },
): number[] {
  const indices: number[] = [];
  for (const [k, ip] of packets.entries()) {
    const payload = udpPayload(ip, opts.dport);
    assert.equal(payload.length, opts.size, `packet ${k}: payload size`);
    assert.equal(payload.readUInt32BE(0), opts.seed, `packet ${k}: seed`);
    const i = payload.readUInt32BE(4);
    assert.ok(i < opts.offered, `packet ${k}: index ${i} below ${opts.offered}`);
    if (indices.length > 0)
      assert.ok(
        i > indices[indices.length - 1]!,
        `packet ${k}: index ${i} after ${indices[indices.length - 1]} (order kept, no duplicate)`,
      );
    assert.ok(
      payload.equals(payloadFor(opts.seed, i, opts.size)),
      `packet ${k}: payload of index ${i} byte-exact`,
    );
    indices.push(i);
  }
  return indices;
}

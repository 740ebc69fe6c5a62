// Helpers of the receiver's end-to-end tests with the real CLIs (not a test file itself): start
// the tools and wait for their ready lines, read the key=value counters of their log lines,
// pause a process at a known point (SIGSTOP, /proc state), and read UDP payload indices back
// from pcap files. The counter helpers follow packages/compress/test/e2e-helpers.ts.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import type { TestContext } from 'node:test';
import { readPcapFile } from '@nflog-pipe/pcap-writer';
import {
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

/** Counters of one log line, by key (`captured`, `loss_fifo_pkt`, ...). */
export type Counts = Record<string, number>;

/** The numeric key=value pairs of one log line (ids and text values are left out). */
export function parseCounts(line: string): Counts {
  const out: Counts = {};
  for (const m of line.matchAll(/ ([a-z_.]+)=(\d+)(?=\s|$)/g)) out[m[1]!] = Number(m[2]);
  return out;
}

/** Every line of `stderr` whose message is `msg` (`stats`, `stopped`, `new sender`), oldest first. */
export function logLines(stderr: string, msg: string): string[] {
  const re = new RegExp(`^\\S+ INFO [a-z-]+: ${msg}( |$)`);
  return stderr.split('\n').filter((l) => re.test(l));
}

/** The text value of `key` in a log line (`sender=9c0d...`), or undefined. */
export function field(line: string, key: string): string | undefined {
  return new RegExp(` ${key}=(\\S+)`).exec(line)?.[1];
}

/** The receiver's `per_sender=id:packets/lost,...` of one line, by sender id. */
export function perSender(line: string): Record<string, { packets: number; lost: number }> {
  const out: Record<string, { packets: number; lost: number }> = {};
  for (const item of (field(line, 'per_sender') ?? '').split(',').filter((s) => s !== '')) {
    const m = /^([0-9a-f]+):(\d+)\/(\d+)$/.exec(item);
    assert.ok(m, `per_sender item ${item}`);
    out[m[1]!] = { packets: Number(m[2]), lost: Number(m[3]) };
  }
  return out;
}

/**
 * Resolves with the first non-undefined value of `probe(stderr)`, checked now and whenever `h`
 * writes to stderr; rejects when `h` exits first, or after the test timeout.
 */
export function waitForStderrState<T>(
  h: ChildHandle,
  probe: (stderr: string) => T | undefined,
  what: string,
): Promise<T> {
  const p = new Promise<T>((resolve, reject) => {
    const check = (): boolean => {
      const hit = probe(h.stderr());
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
  return withTimeout(p, TEST_TIMEOUT_MS, what).catch((err: Error) => {
    throw new Error(`${err.message}; stderr: ${h.stderr().slice(-1500)}`, { cause: err });
  });
}

/** Resolves with the first `msg` line of `h` whose counters satisfy `pred`. */
export function waitForCounts(
  h: ChildHandle,
  msg: string,
  pred: (c: Counts) => boolean,
  what: string,
): Promise<Counts> {
  return waitForStderrState(h, (s) => logLines(s, msg).map(parseCounts).find(pred), what);
}

/** Resolves once `h` has logged `msg` at least `n` times. */
export async function waitForLogCount(h: ChildHandle, msg: string, n: number): Promise<void> {
  await waitForStderrState(
    h,
    (s) => (logLines(s, msg).length >= n ? true : undefined),
    `"${msg}" logged ${n} times`,
  );
}

/** Every child a test starts, so t.after can resume and kill the ones still running (by PID). */
export class Children {
  readonly #list: ChildHandle[] = [];
  constructor(t: TestContext) {
    t.after(async () => {
      // A child left stopped (SIGSTOP) by a failed assertion must run again to handle SIGTERM.
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
    const h = this.add(
      ns === undefined ? spawnChild(process.execPath, argv) : ns.spawn(process.execPath, argv),
    );
    await h.waitForStderr(ready);
    return h;
  }
}

/** SIGTERM, then asserts a clean exit 0 and returns the final `stopped` line. */
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

/** How often pollUntil looks again, in milliseconds: /proc has no change events to await. */
const POLL_MS = 2;

/** Resolves once `pred()` holds, checked every few ms; rejects after the test timeout. */
export async function pollUntil(pred: () => boolean, what: () => string): Promise<void> {
  const p = (async () => {
    while (!pred()) await delay(POLL_MS);
  })();
  await withTimeout(p, TEST_TIMEOUT_MS, what()).catch((err: Error) => {
    throw new Error(`${err.message}; now: ${what()}`, { cause: err });
  });
}

/** The scheduler state letter of process `pid` (`R`, `S`, `T` stopped, ...) from /proc. */
export function procState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

/** Where process `pid` sleeps in the kernel (`anon_pipe_read`, `pipe_read`, `0` when running). */
export function procWchan(pid: number): string {
  return readFileSync(`/proc/${pid}/wchan`, 'utf8');
}

/** Sends SIGSTOP and resolves once the process is really stopped (state `T`). */
export async function pause(h: ChildHandle): Promise<void> {
  h.kill('SIGSTOP');
  await pollUntil(
    () => procState(h.pid) === 'T',
    () => `pid ${h.pid} stopped (state ${procState(h.pid)})`,
  );
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

/**
 * Cuts `file` (a pcap written by a reader that stopped mid-stream) after its last whole record
 * and returns how many bytes were cut: the receiver counts a record the reader did not get in
 * full as lost, so only whole records are the reader's.
 */
export function keepWholeRecords(file: string): number {
  const all = readFileSync(file);
  assert.ok(all.length >= 24, `${file}: a pcap header (got ${all.length} bytes)`);
  let end = 24;
  while (end + 16 <= all.length) {
    const next = end + 16 + all.readUInt32LE(end + 8);
    if (next > all.length) break;
    end = next;
  }
  if (end < all.length) writeFileSync(file, all.subarray(0, end));
  return all.length - end;
}

/** One UDP packet found in a pcap: its destination port and payloadFor(seed, index) identity. */
export interface UdpId {
  dport: number;
  seed: number;
  index: number;
}

/**
 * Reads a linktype-101 pcap of IPv4 UDP packets carrying payloadFor(seed, i, size) payloads;
 * checks each is whole and byte-exact and returns their identities in file order.
 */
export async function udpIds(file: string, size: number): Promise<UdpId[]> {
  const pcap = await readPcapFile(file);
  assert.equal(pcap.header.linktype, 101, `${file}: linktype raw IP`);
  return pcap.records.map((r, k) => {
    const ip = r.data;
    assert.equal(ip[0]! >> 4, 4, `${file} #${k}: IPv4`);
    const ihl = (ip[0]! & 0x0f) * 4;
    assert.equal(ip[9], 17, `${file} #${k}: UDP`);
    assert.equal(ip.readUInt16BE(2), ip.length, `${file} #${k}: whole packet captured`);
    const payload = ip.subarray(ihl + 8);
    assert.equal(payload.length, size, `${file} #${k}: payload size`);
    const seed = payload.readUInt32BE(0);
    const index = payload.readUInt32BE(4);
    assert.ok(payload.equals(payloadFor(seed, index, size)), `${file} #${k}: payload byte-exact`);
    return { dport: ip.readUInt16BE(ihl + 2), seed, index };
  });
}

/** Packets counted by the `counter` of the nft rule that logs to `group` (via `nft -j`). */
export async function nftLogged(ns: Netns, group: number): Promise<number> {
  const { stdout } = await ns.run('nft', ['-j', 'list', 'ruleset']);
  const rules = (
    JSON.parse(stdout) as { nftables: Array<{ rule?: { expr?: unknown[] } }> }
  ).nftables.flatMap((x) => (x.rule?.expr !== undefined ? [x.rule.expr] : []));
  for (const expr of rules) {
    const items = expr as Array<Record<string, { packets?: number; group?: number }>>;
    const log = items.find((e) => e['log'] !== undefined)?.['log'];
    const counter = items.find((e) => e['counter'] !== undefined)?.['counter'];
    if (log?.group === group && counter?.packets !== undefined) return counter.packets;
  }
  throw new Error(`no rule with a counter logging to group ${group}: ${stdout}`);
}

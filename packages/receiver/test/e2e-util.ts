// Helpers of the receiver's tests with real processes (not a test file itself): FIFO reads cut
// to whole records, the receiver's per-sender counters, UDP payload indices read back from pcap
// files, and a whole pipe (senders in namespaces, the receiver, a FIFO reader) run end to end.
// Starting the tools and FIFO readers, their log counters, pausing and stopping them:
// @nflog-pipe/testing.

import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Push, Request } from 'zeromq';
import { PCAP_HEADER_BYTES, RECORD_OK, RecordCursor, readPcapFile } from '@nflog-pipe/pcap-writer';
import {
  Children,
  TEST_TIMEOUT_MS,
  binPath,
  logField,
  makeTempDir,
  mkfifo,
  nftLogged,
  parseLogCounters,
  payloadFor,
  spawnChild,
  startFifoReader,
  stopCleanly,
  waitForLogCounters,
  withTimeout,
  type ChildHandle,
  type LogCounters,
  type Netns,
} from '@nflog-pipe/testing';

/** Starts nflog-pcap-recv with `args` (killed in `t.after`); resolves once it logged `started`. */
export async function startReceiver(t: TestContext, args: string[]): Promise<ChildHandle> {
  const recv = spawnChild(process.execPath, [binPath('nflog-pcap-recv'), ...args]);
  t.after(() => recv.kill('SIGKILL'));
  await recv.waitForStderr(/ started /);
  return recv;
}

/** A zeromq.js PUSH socket connected to `endpoint` (closed in `t.after`): a sender, or a forger. */
export function pushSocket(t: TestContext, endpoint: string): Push {
  const push = new Push({ linger: 0 });
  push.connect(endpoint);
  t.after(() => push.close());
  return push;
}

/**
 * A receiver writing into a fresh FIFO in a temp dir, bound on an ipc endpoint there, with
 * `args` after ENDPOINT and DST; resolves once it logged `started`.
 */
export async function startFifoReceiver(
  t: TestContext,
  args: string[],
): Promise<{ dir: string; fifo: string; ep: string; recv: ChildHandle }> {
  const dir = await makeTempDir(t);
  const fifo = join(dir, 'out.fifo');
  await mkfifo(fifo);
  const ep = `ipc://${join(dir, 'in.sock')}`;
  return { dir, fifo, ep, recv: await startReceiver(t, [ep, fifo, ...args]) };
}

/**
 * A real nflog-zmq-send in `ns` reading NFLOG `group` into `endpoint`, frames flushed at once,
 * no stats lines, `extra` options after (killed in `t.after`); resolves once it logged
 * `started`.
 */
export async function startSender(
  t: TestContext,
  ns: Netns,
  group: number,
  endpoint: string,
  extra: string[] = [],
): Promise<ChildHandle> {
  const sender = ns.spawn(process.execPath, [
    binPath('nflog-zmq-send'),
    String(group),
    endpoint,
    '--flush-interval',
    '0',
    '--stats-interval',
    '0',
    ...extra,
  ]);
  t.after(() => sender.kill('SIGKILL'));
  await sender.waitForStderr(/ started /);
  return sender;
}

/**
 * Runs {@link startFifoReader} to its end (exit code 0), then keeps the pcap header and the whole
 * records it got ({@link keepWholeRecords}).
 * @returns the bytes it took from the pipe and the records kept
 */
export async function readFifo(
  fifo: string,
  out: string,
  limitBytes = 0,
): Promise<{ bytes: number; records: number }> {
  const reader = startFifoReader(fifo, out, limitBytes);
  const { code } = await withTimeout(reader.exited, TEST_TIMEOUT_MS, 'FIFO reader');
  assert.equal(code, 0, reader.stderr());
  const bytes = statSync(out).size;
  keepWholeRecords(out);
  return { bytes, records: (await readPcapFile(out)).records.length };
}

/** The receiver's `per_sender=id:packets/lost,...` of one line, by sender id. */
export function perSender(line: string): Record<string, { packets: number; lost: number }> {
  const out: Record<string, { packets: number; lost: number }> = {};
  for (const item of (logField(line, 'per_sender') ?? '').split(',').filter((s) => s !== '')) {
    const m = /^([0-9a-f]+):(\d+)\/(\d+)$/.exec(item);
    assert.ok(m, `per_sender item ${item}`);
    out[m[1]!] = { packets: Number(m[2]), lost: Number(m[3]) };
  }
  return out;
}

/**
 * Cuts `file` (a pcap written by a reader that stopped mid-stream) after its last whole record
 * and returns how many bytes were cut: the receiver counts a record the reader did not get in
 * full as lost, so only whole records are the reader's.
 */
export function keepWholeRecords(file: string): number {
  const all = readFileSync(file);
  assert.ok(all.length >= 24, `${file}: a pcap header (got ${all.length} bytes)`);
  const c = new RecordCursor(all, PCAP_HEADER_BYTES);
  while (c.next() === RECORD_OK);
  const end = c.end;
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

/** One sender of a {@link runPipe}: its namespace, the groups it reads, its extra flags. */
export interface PipeSender {
  ns: Netns;
  groups: number[];
  args?: string[];
}

/** What {@link runPipe} runs besides the senders. */
export interface PipeOptions {
  senders: readonly PipeSender[];
  /** Makes the traffic the senders' groups log; the pipe then waits until all of it is out. */
  traffic: () => Promise<void>;
  /** More flags of nflog-pcap-recv. */
  recvArgs?: string[];
  /**
   * Starts the FIFO's reader (default: `cat` into `dir`/fifo.pcap); the run waits for it to
   * exit 0 after the receiver stopped.
   */
  reader?: (fifo: string, dir: string) => ChildHandle;
}

/** What a {@link runPipe} left: each process's last counters, and the pcaps. */
export interface PipeRun {
  /** Packets the nft rules logged to the senders' groups. */
  logged: number;
  /** Each sender's `stopped` line. */
  senders: LogCounters[];
  /** The receiver's `stopped` line. */
  recv: LogCounters;
  /** What the default reader got from the FIFO. */
  fifoFile: string;
  /** The ring's dump once everything was in: arrival order, original timestamps. */
  ringFile: string;
  /** The run's temporary directory. */
  dir: string;
}

/**
 * A whole pipe: nflog-pcap-recv (a FIFO output, a ring on a query socket), the FIFO's reader,
 * then the senders in their namespaces, each connected before `traffic` runs. Once the senders
 * have read every packet nft logged and the receiver took them all in, the ring is dumped, the
 * senders and then the receiver stop, and the reader runs to its end.
 */
export async function runPipe(t: TestContext, o: PipeOptions): Promise<PipeRun> {
  const dir = await makeTempDir(t);
  const kids = new Children(t);
  const fifo = join(dir, 'out.fifo');
  await mkfifo(fifo);
  const ep = `ipc://${join(dir, 'in.sock')}`; // a path: reachable from every namespace
  const q = `ipc://${join(dir, 'q.sock')}`;
  const fifoFile = join(dir, 'fifo.pcap');
  const recv = await kids.start(
    'nflog-pcap-recv',
    [ep, fifo, '--buffer-interface', q, '--stats-interval', '0.1', ...(o.recvArgs ?? [])],
    / started /,
  );
  const reader = kids.add(o.reader?.(fifo, dir) ?? startFifoReader(fifo, fifoFile, 0));
  await recv.waitForStderr(/FIFO reader attached/);
  const handles: ChildHandle[] = [];
  for (const s of o.senders) {
    const h = await kids.start(
      'nflog-zmq-send',
      [s.groups.join(','), ep, '--stats-interval', '0.1', ...(s.args ?? [])],
      / started /,
      s.ns,
    );
    // Connected before any traffic: the receiver knows from the start that it merges.
    await h.waitForStderr(/ connected /);
    handles.push(h);
  }
  await waitForLogCounters(recv, 'stats', (c) => c['peers'] === o.senders.length, 'peers');
  await o.traffic();
  const loggedBy = await Promise.all(
    o.senders.map(async (s) => {
      let n = 0;
      for (const g of s.groups) n += await nftLogged(s.ns, g);
      return n;
    }),
  );
  const logged = loggedBy.reduce((a, b) => a + b, 0);
  for (const [i, h] of handles.entries())
    await waitForLogCounters(h, 'stats', (c) => c['captured'] === loggedBy[i], 'all read');
  await waitForLogCounters(recv, 'stats', (c) => c['in_pkt'] === logged, `in_pkt=${logged}`);

  const req = new Request({ linger: 0, receiveTimeout: TEST_TIMEOUT_MS });
  t.after(() => req.close());
  req.connect(q);
  await req.send('q');
  const ringFile = join(dir, 'ring.pcap');
  await writeFile(ringFile, Buffer.concat(await req.receive()));

  const senders: LogCounters[] = [];
  for (const h of handles) senders.push(parseLogCounters(await stopCleanly(h, 'a sender')));
  const recvLine = parseLogCounters(await stopCleanly(recv, 'the receiver'));
  const { code } = await withTimeout(reader.exited, TEST_TIMEOUT_MS, 'the FIFO reader');
  assert.equal(code, 0, reader.stderr());
  return { logged, senders, recv: recvLine, fifoFile, ringFile, dir };
}

// Proves the FIFO sink against real FIFOs and reader processes: fresh header per reader, whole records, drops counted exactly.
// (What one reader gets or loses is proved in pcap-writer's pcap-writer-fifo-loss.test.ts.)
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { readPcapFile } from '@nflog-pipe/pcap-writer';
import { createLogger } from '@nflog-pipe/shared';
import {
  makeTempDir,
  mkfifo,
  requirePrereqs,
  withTimeout,
  TEST_TIMEOUT_MS,
  tcpdumpRead,
} from '@nflog-pipe/testing';
import { FifoSink } from '@nflog-pipe/receiver';
import { readFifo } from './e2e-util.js';
import { numbered, records } from './helpers.js';

/** A logger that keeps lines and emits each message, so tests await lifecycle events. */
function eventLogger(): {
  logger: ReturnType<typeof createLogger>;
  events: EventEmitter;
  count: (msg: string) => number;
} {
  const events = new EventEmitter();
  const seen = new Map<string, number>();
  const logger = createLogger({
    name: 'test',
    level: 'debug',
    stream: {
      write(line: string) {
        const msg = /: (.*?)(?: [a-z_]+=|$)/.exec(line.trim())?.[1] ?? '';
        seen.set(msg, (seen.get(msg) ?? 0) + 1);
        events.emit('line', msg);
      },
    },
  });
  return { logger, events, count: (msg) => seen.get(msg) ?? 0 };
}

async function waitCount(
  ev: ReturnType<typeof eventLogger>,
  msg: string,
  n: number,
): Promise<void> {
  if (ev.count(msg) >= n) return;
  await withTimeout(
    new Promise<void>((resolve) => {
      const on = (): void => {
        if (ev.count(msg) >= n) {
          ev.events.off('line', on);
          resolve();
        }
      };
      ev.events.on('line', on);
    }),
    TEST_TIMEOUT_MS,
    `log "${msg}" x${n}`,
  );
}

/** Packet ids in a reader's file, checking it is a valid pcap of linktype 101. */
async function fileIds(path: string): Promise<number[]> {
  const pcap = await readPcapFile(path);
  assert.equal(pcap.header.linktype, 101);
  return pcap.records.map((r) => r.data.readUInt32BE(28));
}

async function setup(t: TestContext, queueBytes: number) {
  const dir = await makeTempDir(t);
  const fifo = join(dir, 'out.fifo');
  await mkfifo(fifo);
  const ev = eventLogger();
  const sink = new FifoSink(fifo, {
    linktype: 101,
    nanosecond: false,
    queueBytes,
    retryMs: 20,
    logger: ev.logger,
  });
  t.after(() => sink.close(0));
  let next = 0;
  const pushBatch = (n = 10): void => {
    sink.push(records(Array.from({ length: n }, () => numbered(next++))), n);
  };
  return { dir, fifo, ev, sink, pushBatch, pushed: () => next };
}

test('reader restarts under steady traffic: every reader gets a valid pcap, missing packets = counted drops', async (t) => {
  // tcpdump reads every reader's file back at the end (a valid pcap to the tool an IDS user has).
  if (!requirePrereqs(t, { tools: ['mkfifo', 'tcpdump'] })) return;
  const { dir, fifo, ev, sink, pushBatch, pushed } = await setup(t, 256 * 1024);
  const limits = [50_000, 120_001, 7_777, 200_003, 33_333];
  let readersDone = false;
  const pusher = (async () => {
    // Push until the limited readers are done, then a last stretch for the final reader.
    let extra = 200;
    while (pushed() < 2_000_000 && (!readersDone || extra-- > 0)) {
      pushBatch();
      await new Promise((r) => setImmediate(r));
    }
  })();
  const files: string[] = [];
  for (let i = 0; i < limits.length; i++) {
    const out = join(dir, `r${i}.pcap`);
    files.push(out);
    await readFifo(fifo, out, limits[i]);
    // The next reader starts once the sink has let go of this pipe (a reader that opened the
    // FIFO before the writer noticed the departure would attach to the old pipe).
    await waitCount(ev, 'FIFO reader gone, reopening', i + 1);
  }
  readersDone = true;
  const last = join(dir, 'last.pcap');
  files.push(last);
  const lastReader = readFifo(fifo, last, 0);
  await pusher;
  await waitCount(ev, 'FIFO reader attached', limits.length + 1);
  await sink.close(TEST_TIMEOUT_MS);
  await lastReader;

  let got: number[] = [];
  for (const f of files) got = got.concat(await fileIds(f));
  // Delivered packets are in order with no duplicates or stale data, across readers.
  for (let i = 1; i < got.length; i++) assert.ok(got[i]! > got[i - 1]!, `order at ${i}`);
  const s = sink.stats();
  assert.equal(s.opens, limits.length + 1);
  assert.equal(s.outPackets, got.length);
  assert.equal(pushed() - got.length, s.lostPackets);
  assert.ok(s.lostPackets > 0, 'some packets were lost while readers were away');
  for (const f of files) assert.equal((await tcpdumpRead(f)).count, (await fileIds(f)).length);
});

test('no reader yet: the queue holds whole batches up to its bound, the rest is dropped and counted', async (t) => {
  const batchBytes = records(Array.from({ length: 10 }, (_, i) => numbered(i))).length;
  const { dir, fifo, ev, sink, pushBatch } = await setup(t, batchBytes * 3 + 5);
  for (let i = 0; i < 5; i++) pushBatch();
  assert.deepEqual(sink.stats(), {
    outPackets: 0,
    outBytes: 0,
    lostPackets: 20,
    queuedPackets: 30,
    queuedBytes: batchBytes * 3,
    opens: 0,
  });
  const out = join(dir, 'r.pcap');
  const reader = readFifo(fifo, out, 0);
  await waitCount(ev, 'FIFO reader attached', 1);
  await sink.close(TEST_TIMEOUT_MS); // flushes the queue to the reader, then EOF
  await reader;
  assert.deepEqual(
    await fileIds(out),
    Array.from({ length: 30 }, (_, i) => i),
  );
  assert.equal(sink.stats().outPackets, 30);
});

test('reopen() ends the current reader after whole records and starts a fresh stream', async (t) => {
  const { dir, fifo, ev, sink, pushBatch } = await setup(t, 1 << 20);
  const first = join(dir, 'a.pcap');
  const a = readFifo(fifo, first, 0);
  await waitCount(ev, 'FIFO reader attached', 1);
  pushBatch();
  pushBatch();
  sink.reopen();
  pushBatch(); // queued for the next reader
  await a; // EOF after whole records
  // A reader opening before the sink has seen the old one go would be handed an EOF by its
  // probe (the documented SIGHUP race); this test is about what the next reader gets.
  await waitCount(ev, 'old FIFO reader gone; waiting for the next one', 1);
  const second = join(dir, 'b.pcap');
  const b = readFifo(fifo, second, 0);
  await waitCount(ev, 'FIFO reader attached', 2);
  await sink.close(TEST_TIMEOUT_MS);
  await b;
  assert.deepEqual(
    await fileIds(first),
    Array.from({ length: 20 }, (_, i) => i),
  );
  assert.deepEqual(
    await fileIds(second),
    Array.from({ length: 10 }, (_, i) => 20 + i),
  );
  assert.equal(sink.stats().lostPackets, 0);
});

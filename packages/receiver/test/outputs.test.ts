// Proves the output classes in-process: the drop warning once per episode with an injected clock; rotated files by an injected clock (interval, SIGHUP, a record larger than a file, a directory gone and back, counted); PCAP-over-IP clients beyond the limit refused, a client that leaves counted, the bind error naming the address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { readPcap, readPcapFile } from '@nflog-pipe/pcap-writer';
import { createLogger, type LogStream } from '@nflog-pipe/shared';
import { makeTempDir, withTimeout, TEST_TIMEOUT_MS } from '@nflog-pipe/testing';
import { OutputDropWarning, PcapOverIpServer, RotatingFileSink } from '@nflog-pipe/receiver';
import { numbered, records } from './helpers.js';

/** A logger whose lines are kept. */
function keptLogger(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const stream: LogStream = { write: (s: string) => void lines.push(s) };
  return { logger: createLogger({ name: 'test', level: 'debug', stream }), lines };
}

function batch(from: number, n: number, size = 32): Buffer {
  return records(Array.from({ length: n }, (_, i) => numbered(from + i, size)));
}

/** Resolves once `probe()` is true, checked every 10 ms. */
async function until(probe: () => boolean | Promise<boolean>, what: string): Promise<void> {
  await withTimeout(
    (async () => {
      while (!(await probe())) await new Promise((r) => setTimeout(r, 10));
    })(),
    TEST_TIMEOUT_MS,
    what,
  );
}

test('drop warning: the first queue-full drop of an episode warns with the state; drops closer than the quiet period only count; other losses never warn', () => {
  const { logger, lines } = keptLogger();
  let now = 1000;
  const w = new OutputDropWarning({
    output: 'fifo',
    dest: '/run/x',
    state: () => ({ reader: 'attached', held_bytes: 7 }),
    logger,
    quietMs: 60_000,
    now: () => now,
  });
  w.lost(5, 'reader-gone');
  w.lost(5, 'shutdown');
  assert.equal(lines.length, 0);
  w.lost(10, 'queue-full');
  assert.equal(lines.length, 1);
  assert.match(
    lines[0]!,
    /WARN .*output queue full.* output=fifo dest=\/run\/x reader=attached held_bytes=7 lost_pkt=10 quiet_s=60\n$/,
  );
  for (let i = 0; i < 5; i++) {
    now += 59_000; // each within the quiet period of the previous one: the same episode
    w.lost(3, 'queue-full');
  }
  assert.equal(lines.length, 1);
  now += 60_000;
  w.lost(4, 'queue-full');
  assert.equal(lines.length, 2);
  assert.match(lines[1]!, /lost_pkt=4 .*previous_episode_pkt=25/);
  assert.equal(w.episodes, 2);
});

test('rotated files: the interval closes a file (no empty file follows), SIGHUP starts the next one, a record larger than a file gets its own; a directory that vanishes loses what waited, counted, until it is back', async (t) => {
  const dir = await makeTempDir(t);
  const rot = join(dir, 'rot');
  await mkdir(rot);
  const { logger, lines } = keptLogger();
  let now = Date.UTC(2024, 4, 1, 10, 0, 0);
  const sink = await RotatingFileSink.open({
    dir: rot,
    maxFileBytes: 2000,
    intervalMs: 50,
    closeFlushMs: 1000,
    linktype: 101,
    nanosecond: false,
    queueBytes: 1 << 20,
    retryMs: 20,
    logger,
    now: () => now,
  });
  t.after(() => sink.close(1000));
  sink.push(batch(0, 3), 3);
  await until(() => sink.files.length === 1, 'the first file');
  assert.equal(sink.files[0]!.path, join(rot, 'nflog-20240501T100000Z-000001.pcap'));
  // The interval (by the timer) closes it; nothing arrives for a while: no new file.
  await until(() => lines.some((l) => l.includes('rotated pcap file closed')), 'interval close');
  assert.equal(sink.files.length, 1);
  now += 1000;
  sink.push(batch(3, 2), 2);
  await until(() => sink.files.length === 2, 'the second file');
  sink.reopen(); // SIGHUP
  sink.push(batch(5, 1, 3000), 1); // larger than a whole file
  sink.push(batch(6, 1), 1);
  await until(() => sink.files.length === 4, 'SIGHUP, then the oversize record alone');
  // The directory goes away: what waits for the next file is lost, counted, warned once.
  await until(async () => (await readdir(rot)).length === 4, 'four files on disk');
  const before = await Promise.all(sink.files.map((f) => readPcapFile(f.path)));
  await rm(rot, { recursive: true });
  sink.reopen();
  sink.push(batch(7, 2), 2);
  await until(() => sink.stats().lostPackets === 2, 'lost while the directory is gone');
  assert.equal(lines.filter((l) => l.includes('cannot open the next rotated pcap file')).length, 1);
  await mkdir(rot);
  now += 1000; // past retryMs (the sink's clock)
  sink.push(batch(9, 1), 1);
  await until(() => sink.files.length === 5, 'a file again');
  await sink.close(1000);
  const s = sink.stats();
  assert.deepEqual([s.outPackets, s.lostPackets, s.queuedPackets, s.opens], [8, 2, 0, 5]);
  const counts = before.map((p) => p.records.map((r) => r.data.readUInt32BE(28)));
  assert.deepEqual(counts, [[0, 1, 2], [3, 4], [5], [6]]);
  const last = await readPcapFile(sink.files[4]!.path);
  assert.deepEqual(
    last.records.map((r) => r.data.readUInt32BE(28)),
    [9],
  );
});

test('PCAP-over-IP: beyond --pcap-over-ip-clients a client is refused (logged, rate-limited); one that leaves has what was queued counted lost; a port in use is ERR_RECV_BIND naming it', async (t) => {
  const { logger, lines } = keptLogger();
  const server = await PcapOverIpServer.listen({
    host: '127.0.0.1',
    port: 0,
    linktype: 101,
    nanosecond: false,
    clientQueueBytes: 1 << 20,
    maxClients: 1,
    logger,
  });
  t.after(() => server.close(100));
  const port = server.address.port;
  const a = connect(port, '127.0.0.1');
  const got: Buffer[] = [];
  a.on('data', (b: Buffer) => got.push(b));
  await until(() => server.clients().length === 1, 'client a');
  const b = connect(port, '127.0.0.1');
  b.on('error', () => {});
  await once(b, 'close');
  assert.equal(
    lines.filter((l) => l.includes('pcap-over-ip client refused: too many clients')).length,
    1,
  );
  server.push(batch(0, 4), 4);
  await until(() => server.stats().outPackets === 4, 'sent to a');
  await until(() => Buffer.concat(got).length === 24 + 4 * (16 + 60), 'a got header + 4 records');
  const pcap = readPcap(Buffer.concat(got));
  assert.equal(pcap.header.linktype, 101);
  assert.deepEqual(
    pcap.records.map((r) => r.data.readUInt32BE(28)),
    [0, 1, 2, 3],
  );
  a.destroy();
  // Noticed at the next write: what it could not send is counted lost for it.
  await until(() => {
    server.push(batch(4, 1), 1);
    return server.clients().length === 0;
  }, 'a gone');
  const gone = lines.find((l) => l.includes('pcap-over-ip client gone'))!;
  const m = / offered_pkt=(\d+) sent_pkt=(\d+) lost_pkt=(\d+) /.exec(gone);
  assert.ok(m, gone);
  const [offered, sent, lost] = [Number(m[1]), Number(m[2]), Number(m[3])];
  assert.ok(offered >= 5, gone);
  assert.equal(sent + lost, offered, 'every record offered was sent or counted lost');
  const s = server.stats();
  assert.deepEqual([s.outPackets, s.lostPackets, s.queuedPackets], [sent, lost, 0]);

  const taken = createServer();
  taken.listen(0, '127.0.0.1');
  await once(taken, 'listening');
  t.after(() => taken.close());
  const busy = (taken.address() as AddressInfo).port;
  await assert.rejects(
    PcapOverIpServer.listen({
      host: '127.0.0.1',
      port: busy,
      linktype: 101,
      nanosecond: false,
      clientQueueBytes: 1 << 20,
      maxClients: 1,
      logger,
    }),
    (err: Error & { code?: string }) =>
      err.code === 'ERR_RECV_BIND' && err.message.includes(`127.0.0.1:${busy} (EADDRINUSE)`),
  );
});

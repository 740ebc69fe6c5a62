// Proves SIGHUP on a regular-file output: a rotated (renamed) file is closed whole and a fresh pcap starts at the path; the same file is never truncated in place.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { readPcapFile } from '@nflog-pipe/pcap-writer';
import { createLogger } from '@nflog-pipe/shared';
import { makeTempDir, withTimeout, TEST_TIMEOUT_MS } from '@nflog-pipe/testing';
import { FileSink } from '@nflog-pipe/receiver';
import { numbered, records } from './helpers.js';

const logger = createLogger({ name: 'test', level: 'fatal' });

function batch(from: number, n: number): Buffer {
  return records(Array.from({ length: n }, (_, i) => numbered(from + i)));
}

/** Resolves once `path` holds `n` records (the writer works in the background). */
async function waitRecords(path: string, n: number): Promise<void> {
  await withTimeout(
    (async () => {
      for (;;) {
        const got = await readPcapFile(path).then(
          (p) => p.records.length,
          () => -1,
        );
        if (got >= n) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    })(),
    TEST_TIMEOUT_MS,
    `${n} records in ${path}`,
  );
}

test('SIGHUP: same file kept whole, renamed file closed and a fresh pcap started', async (t) => {
  const dir = await makeTempDir(t);
  const path = join(dir, 'out.pcap');
  const sink = await FileSink.open(path, {
    linktype: 101,
    nanosecond: false,
    queueBytes: 1 << 20,
    logger,
  });
  t.after(() => sink.close(1000));

  assert.equal(sink.push(batch(0, 3), 3), true);
  await waitRecords(path, 3);
  sink.reopen(); // still the same file: nothing may be truncated
  assert.equal(sink.push(batch(3, 2), 2), true);
  await waitRecords(path, 5);

  const rotated = join(dir, 'out.pcap.1');
  await rename(path, rotated);
  sink.reopen();
  assert.equal(sink.push(batch(5, 4), 4), true);
  await waitRecords(path, 4);
  await sink.close(1000);

  const old = await readPcapFile(rotated);
  const fresh = await readPcapFile(path);
  assert.deepEqual(
    old.records.map((r) => Buffer.from(r.data)),
    Array.from({ length: 5 }, (_, i) => numbered(i)),
  );
  assert.deepEqual(
    fresh.records.map((r) => Buffer.from(r.data)),
    Array.from({ length: 4 }, (_, i) => numbered(5 + i)),
  );
  assert.equal(sink.stats().outPackets, 9);
  assert.equal(sink.stats().lostPackets, 0);
});

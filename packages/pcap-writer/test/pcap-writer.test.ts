// Proves PcapWriter on files, devices and stdout: exact bytes, whole records only, errors, close/destroy.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { PcapWriteError, PcapWriter, encodePcapHeader, encodeRecords } from '../src/index.js';
import { TEST_TIMEOUT_MS, makeTempDir, spawnChild, withTimeout } from '@nflog-pipe/testing';

const records = encodeRecords([
  { tsSec: 1700000000, tsFrac: 1, data: Buffer.from('4500', 'hex'), origLen: 40 },
  { tsSec: 1700000001, tsFrac: 2, data: Buffer.alloc(100, 7) },
]);

test('file: header then records, exact bytes; an existing file is truncated', async (t) => {
  const path = join(await makeTempDir(t), 'a.pcap');
  await writeFile(path, Buffer.alloc(5000, 0xff));
  const writer = await PcapWriter.open(path, { linktype: 239, snaplen: 65535 });
  assert.equal(writer.kind, 'file');
  assert.equal(writer.error, null);
  assert.equal(writer.write(records), true);
  assert.equal(writer.write(Buffer.alloc(0)), true);
  await writer.close();
  assert.equal(writer.pendingBytes, 0);
  assert.deepEqual(
    await readFile(path),
    Buffer.concat([encodePcapHeader({ linktype: 239, snaplen: 65535 }), records]),
  );
});

test('a partial record is refused with ERR_PCAP_TRUNCATED and nothing of it is written', async (t) => {
  const path = join(await makeTempDir(t), 'a.pcap');
  const writer = await PcapWriter.open(path);
  assert.throws(() => writer.write(records.subarray(0, records.length - 1)), {
    code: 'ERR_PCAP_TRUNCATED',
  });
  assert.throws(() => writer.write(records.subarray(0, 10)), { code: 'ERR_PCAP_TRUNCATED' });
  assert.equal(writer.write(records), true);
  await writer.close();
  assert.deepEqual(await readFile(path), Buffer.concat([encodePcapHeader(), records]));
});

test('write(records, count) trusts the count: records are not walked again, the count is what is accounted', async (t) => {
  const writer = await PcapWriter.open(join(await makeTempDir(t), 'a.pcap'));
  // Not whole records: write(records) would throw; with a count nothing looks at them.
  const cut = records.subarray(0, 10);
  assert.throws(() => writer.write(cut), { code: 'ERR_PCAP_TRUNCATED' });
  assert.equal(writer.write(cut, 1), true);
  assert.equal(writer.pendingRecords, 1);
  assert.equal(writer.write(records, 2), true);
  assert.equal(writer.pendingRecords, 3);
  // What the OS had not accepted when the writer is destroyed is the sum of the given counts.
  assert.deepEqual(writer.destroy(), { lostRecords: 3, lostBytes: cut.length + records.length });
});

test('close() twice is safe, returns the same promise; write after close is refused', async (t) => {
  const path = join(await makeTempDir(t), 'a.pcap');
  const writer = await PcapWriter.open(path);
  writer.write(records);
  const first = writer.close();
  assert.equal(writer.close(), first);
  await first;
  await writer.close();
  assert.equal(writer.write(records), false);
  writer.destroy(); // after close: a no-op
  assert.deepEqual(await readFile(path), Buffer.concat([encodePcapHeader(), records]));
});

test('destroy() twice is safe and close() afterwards resolves', async (t) => {
  const writer = await PcapWriter.open(join(await makeTempDir(t), 'a.pcap'));
  writer.destroy();
  writer.destroy();
  assert.equal(writer.write(records), false);
  assert.equal(writer.pendingBytes, 0);
  await withTimeout(writer.close(), TEST_TIMEOUT_MS, 'close after destroy');
});

test('write() returns false at the high-water mark and drain follows', async (t) => {
  const writer = await PcapWriter.open(join(await makeTempDir(t), 'a.pcap'), {
    highWaterMarkBytes: 64,
  });
  const drained = once(writer, 'drain');
  assert.equal(writer.write(records), false); // 24 + 150 bytes queued >= 64
  assert.ok(writer.pendingBytes >= 64);
  await withTimeout(drained, TEST_TIMEOUT_MS, 'drain');
  assert.ok(writer.pendingBytes <= 32);
  await writer.close();
});

test('a failing device gives ERR_PCAP_WRITE with the system error as cause; the writer is dead', async () => {
  // /dev/full accepts open(2) and fails every write(2) with ENOSPC
  const writer = await PcapWriter.open('/dev/full');
  assert.equal(writer.kind, 'file');
  const [err] = (await withTimeout(once(writer, 'error'), TEST_TIMEOUT_MS, "'error' event")) as [
    unknown,
  ];
  assert.ok(err instanceof PcapWriteError);
  assert.equal(err.code, 'ERR_PCAP_WRITE');
  assert.equal((err.cause as { code?: string }).code, 'ENOSPC');
  assert.equal(writer.error, err);
  assert.equal(writer.write(records), false);
  assert.equal(writer.pendingBytes, 0);
  await writer.close();
});

test('close() rejects with the flush error instead of emitting it', async () => {
  const writer = await PcapWriter.open('/dev/full');
  let emitted = 0;
  writer.on('error', () => emitted++);
  await assert.rejects(withTimeout(writer.close(), TEST_TIMEOUT_MS, 'close'), {
    code: 'ERR_PCAP_WRITE',
  });
  assert.equal(emitted, 0);
});

test('open() rejects with the system error code for an impossible path', async (t) => {
  const dir = await makeTempDir(t);
  await assert.rejects(PcapWriter.open(join(dir, 'missing', 'a.pcap')), { code: 'ENOENT' });
  await assert.rejects(PcapWriter.open(dir), { code: 'EISDIR' });
  assert.throws(() => encodePcapHeader({ snaplen: -1 }), { code: 'ERR_OUT_OF_RANGE' });
  await assert.rejects(PcapWriter.open(join(dir, 'b.pcap'), { snaplen: -1 }), {
    code: 'ERR_OUT_OF_RANGE',
  });
});

// The child writes `records` to '-' and reports the writer's kind on stderr.
const CHILD = `
const { PcapWriter } = await import(process.argv[1]);
const w = await PcapWriter.open('-', { nanosecond: true });
w.write(Buffer.from(process.argv[2], 'hex'));
await w.close();
process.stderr.write(w.kind);
`;
const indexUrl = new URL('../src/index.js', import.meta.url).href;

async function runChild(
  stdout: 'pipe' | number,
): Promise<{ code: number | null; out: Buffer; err: string }> {
  const child = spawnChild(
    process.execPath,
    ['--input-type=module', '-e', CHILD, indexUrl, records.toString('hex')],
    { stdio: ['ignore', stdout, 'pipe'] },
  );
  const { code } = await withTimeout(child.exited, TEST_TIMEOUT_MS, 'child exit');
  return { code, out: child.stdout(), err: child.stderr() };
}

test("stdout as a pipe: '-' writes header + records through a libuv stream", async () => {
  const r = await runChild('pipe');
  assert.equal(r.err, 'stdout');
  assert.equal(r.code, 0);
  assert.deepEqual(r.out, Buffer.concat([encodePcapHeader({ nanosecond: true }), records]));
});

test("stdout redirected to a file: '-' writes header + records", async (t) => {
  const path = join(await makeTempDir(t), 'stdout.pcap');
  const fd = openSync(path, 'w');
  try {
    const r = await runChild(fd);
    assert.equal(r.err, 'stdout');
    assert.equal(r.code, 0);
  } finally {
    closeSync(fd);
  }
  assert.deepEqual(
    await readFile(path),
    Buffer.concat([encodePcapHeader({ nanosecond: true }), records]),
  );
});

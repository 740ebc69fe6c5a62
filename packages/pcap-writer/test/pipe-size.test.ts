// Proves the pipe helper on real FIFOs (F_GETPIPE_SZ/F_SETPIPE_SZ/FIONREAD, typed errno errors), PcapWriter's pipeSizeBytes as a reader sees it, the pipe-max-size cap and the per-user refusal (handled, reported), and exact loss accounting when a reader leaves a full 1 MiB pipe.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { closeSync, constants, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import {
  PCAP_HEADER_BYTES,
  PIPE_DEFAULT_BYTES,
  PcapPipeError,
  PcapWriteError,
  PcapWriter,
  encodePcapHeader,
  encodeRecords,
  getPipeSize,
  pipeMaxSizeBytes,
  pipeUnread,
  raisePipeSize,
  setPipeSize,
} from '../src/index.js';
import {
  Children,
  TEST_TIMEOUT_MS,
  makeTempDir,
  makeTempFifo,
  mkfifo,
  requirePrereqs,
  runCommand,
  startFifoReader,
  withTimeout,
} from '@nflog-pipe/testing';
import { batch, wholeRecords } from './fifo-batches.js';

const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;
const WRITE_FLAGS = constants.O_WRONLY | constants.O_NONBLOCK;
const MIB = 1048576;
const CHILD = fileURLToPath(new URL('./pipe-size-child.js', import.meta.url));
/** FIFOs the user-limit child may raise to 1 MiB: far beyond the default 64 MiB soft limit. */
const HOG_FIFOS = 100;

/** Both ends of a fresh FIFO, opened in this process (closed in t.after). */
async function fifoEnds(t: TestContext): Promise<{ path: string; r: number; w: number }> {
  const path = await makeTempFifo(t);
  const r = openSync(path, READ_FLAGS);
  const w = openSync(path, WRITE_FLAGS);
  t.after(() => {
    closeSync(w);
    closeSync(r);
  });
  return { path, r, w };
}

/** Whether this process may raise a pipe above pipe-max-size (CAP_SYS_RESOURCE, bit 24). */
async function hasCapSysResource(): Promise<boolean> {
  const status = await readFile('/proc/self/status', 'utf8');
  const eff = /^CapEff:\s+([0-9a-f]+)$/m.exec(status)?.[1] ?? '0';
  return ((BigInt(`0x${eff}`) >> 24n) & 1n) === 1n;
}

test('the helper reads and sets a FIFO pipe from either end, counts unread bytes, and names errno failures', async (t) => {
  const { r, w } = await fifoEnds(t);
  assert.equal(getPipeSize(r), PIPE_DEFAULT_BYTES);
  assert.equal(setPipeSize(w, 256 * 1024), 256 * 1024);
  assert.equal(getPipeSize(r), 256 * 1024); // one pipe: the reader's end sees the writer's size
  assert.equal(setPipeSize(w, 100_000), 128 * 1024); // rounded up to a power of two pages
  assert.equal(pipeUnread(r), 0);
  writeSync(w, Buffer.alloc(70_000, 1));
  assert.equal(pipeUnread(r), 70_000);
  assert.equal(pipeUnread(w), 70_000);
  assert.equal(readSync(r, Buffer.alloc(1000), 0, 1000, null), 1000);
  assert.equal(pipeUnread(w), 69_000);
  // Shrinking below what the pipe holds is refused.
  assert.throws(
    () => setPipeSize(w, 4096),
    (err: unknown) => {
      assert.ok(err instanceof PcapPipeError);
      assert.equal(err.code, 'EBUSY');
      assert.equal(err.syscall, 'fcntl(F_SETPIPE_SZ)');
      return true;
    },
  );
  assert.equal(getPipeSize(r), 128 * 1024);

  // A regular file is no pipe; a closed fd is no fd.
  const dir = await makeTempDir(t);
  const file = openSync(join(dir, 'plain'), 'w');
  t.after(() => closeSync(file));
  assert.throws(() => getPipeSize(file), { name: 'PcapPipeError', code: 'EBADF', errno: 9 });
  assert.throws(() => setPipeSize(file, MIB), { name: 'PcapPipeError', code: 'EBADF' });
  assert.throws(() => getPipeSize(1 << 20), {
    code: 'EBADF',
    errno: 9,
    syscall: 'fcntl(F_GETPIPE_SZ)',
  });
  assert.throws(() => raisePipeSize(w, 0), RangeError);
});

test('raisePipeSize never shrinks, and above pipe-max-size gives what the privileges allow', async (t) => {
  const { r, w } = await fifoEnds(t);
  const max = pipeMaxSizeBytes();
  assert.equal(max, Number((await readFile('/proc/sys/fs/pipe-max-size', 'utf8')).trim()));
  assert.deepEqual(raisePipeSize(w, 256 * 1024), {
    requestedBytes: 256 * 1024,
    bytes: 256 * 1024,
    maxBytes: max,
    limitedBy: null,
  });
  assert.deepEqual(raisePipeSize(w, PIPE_DEFAULT_BYTES), {
    requestedBytes: PIPE_DEFAULT_BYTES,
    bytes: 256 * 1024,
    maxBytes: max,
    limitedBy: null,
  });
  const above = raisePipeSize(w, 4 * max);
  if (await hasCapSysResource()) {
    assert.deepEqual(above, {
      requestedBytes: 4 * max,
      bytes: 4 * max,
      maxBytes: max,
      limitedBy: null,
    });
  } else {
    assert.deepEqual(above, {
      requestedBytes: 4 * max,
      bytes: max,
      maxBytes: max,
      limitedBy: 'pipe-max-size',
    });
  }
  assert.equal(getPipeSize(r), above.bytes);
});

test('a writer without CAP_SYS_RESOURCE asking above pipe-max-size gets pipe-max-size, and says so', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['setpriv'] })) return;
  const dir = await makeTempDir(t);
  await mkfifo(join(dir, 'out.fifo'));
  const { stdout } = await withTimeout(
    runCommand('setpriv', ['--bounding-set', '-sys_resource', process.execPath, CHILD, 'cap', dir]),
    TEST_TIMEOUT_MS,
    'child (cap)',
  );
  const max = pipeMaxSizeBytes();
  const got = JSON.parse(stdout.toString()) as Record<string, unknown>;
  assert.deepEqual(got['pipe'], {
    requestedBytes: 4 * max,
    bytes: max,
    maxBytes: max,
    limitedBy: 'pipe-max-size',
  });
  assert.equal(got['readerSees'], max);
  assert.equal(got['whole'], true);
});

test('an unprivileged user over its pipe limit: the raise is refused (EPERM, reported), the FIFO still works', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['setpriv'] })) return;
  const soft = Number((await readFile('/proc/sys/fs/pipe-user-pages-soft', 'utf8')).trim());
  if (!(soft > 0 && soft * 4096 < HOG_FIFOS * MIB)) {
    t.skip(`fs.pipe-user-pages-soft is ${soft}: no per-user limit below ${HOG_FIFOS} MiB to reach`);
    return;
  }
  const dir = await makeTempDir(t);
  await chmod(dir, 0o777);
  // One mkfifo for all: 100 processes would be slow. Mode 0666: the child runs as another uid.
  await runCommand('mkfifo', [
    '-m',
    '0666',
    join(dir, 'out.fifo'),
    ...Array.from({ length: HOG_FIFOS }, (_, i) => join(dir, `hog-${i}.fifo`)),
  ]);
  // A uid of its own (no passwd entry needed): the per-user pipe count is nobody else's.
  const uid = String(61000 + (process.pid % 500));
  const { stdout } = await withTimeout(
    runCommand('setpriv', [
      '--reuid',
      uid,
      '--regid',
      uid,
      '--clear-groups',
      process.execPath,
      CHILD,
      'user-limit',
      dir,
      String(HOG_FIFOS),
    ]),
    TEST_TIMEOUT_MS,
    'child (user-limit)',
  );
  const got = JSON.parse(stdout.toString()) as {
    hogs: number;
    hogRefused: { limitedBy: string | null } | null;
    pipe: { requestedBytes: number; bytes: number; limitedBy: string | null };
    readerSees: number;
    whole: boolean;
  };
  assert.ok(got.hogs < HOG_FIFOS, `${got.hogs} pipes of 1 MiB and no refusal`);
  assert.equal(got.hogRefused?.limitedBy, 'EPERM');
  assert.equal(got.pipe.requestedBytes, MIB);
  assert.equal(got.pipe.limitedBy, 'EPERM');
  assert.ok(got.pipe.bytes < MIB);
  assert.equal(got.readerSees, got.pipe.bytes);
  assert.equal(got.whole, true);
});

test('PcapWriter raises the FIFO pipe at every open; a reader leaving a full 1 MiB pipe: delivered + lost = written, exactly', async (t) => {
  const fifo = await makeTempFifo(t);
  const readFd = openSync(fifo, READ_FLAGS);
  let readOpen = true;
  t.after(() => {
    if (readOpen) closeSync(readFd);
  });
  const w = await withTimeout(
    PcapWriter.openFifo(fifo, { pipeSizeBytes: MIB, probeMs: 600_000 }),
    TEST_TIMEOUT_MS,
    'open',
  );
  t.after(() => w.destroy());
  assert.deepEqual(w.pipe, {
    requestedBytes: MIB,
    bytes: MIB,
    maxBytes: pipeMaxSizeBytes(),
    limitedBy: null,
  });
  assert.equal(getPipeSize(readFd), MIB); // what the reader's end sees
  const errored = once(w, 'error');
  let written = 0;
  let writtenBytes = 0;
  const sent: Buffer[] = [encodePcapHeader()];
  for (let i = 0; i < 30; i++) {
    const b = batch(i, 100, 1000); // ~102 KiB each, ~3 MiB in all
    sent.push(b);
    written += 100;
    writtenBytes += b.length;
    w.write(b);
  }
  // The pipe took about its capacity (a write's last page may stay part full); the rest waits.
  const inPipe = pipeUnread(readFd);
  assert.ok(inPipe > MIB - 64 * 1024 && inPipe <= MIB, `${inPipe} bytes in the pipe`);
  assert.equal(inPipe + w.pendingBytes, PCAP_HEADER_BYTES + writtenBytes);

  // Read part of it, mid-record, and leave in the same tick: the pipe holds inPipe - k unread.
  const k = 300_007;
  const got = Buffer.alloc(k);
  let n = 0;
  while (n < k) n += readSync(readFd, got, n, k - n, null);
  closeSync(readFd);
  readOpen = false;

  const [err] = (await withTimeout(errored, TEST_TIMEOUT_MS, "'error'")) as [unknown];
  assert.ok(err instanceof PcapWriteError);
  assert.equal(err.code, 'ERR_PCAP_EPIPE');
  const stream = Buffer.concat(sent);
  assert.deepEqual(got, stream.subarray(0, k));
  const delivered = wholeRecords(got.subarray(PCAP_HEADER_BYTES));
  assert.equal(delivered.count + err.lostRecords, written);
  assert.equal(delivered.bytes + err.lostBytes, writtenBytes);
  assert.ok(err.lostBytes > inPipe - k, 'the pipe tail is counted lost');

  // The next reader gets a new pipe, raised again, and a fresh stream of whole records.
  const dir = join(fifo, '..');
  const reader = new Children(t).add(startFifoReader(fifo, join(dir, 'next.bin'), 0));
  const w2 = await withTimeout(
    PcapWriter.openFifo(fifo, { pipeSizeBytes: 4 * 65536 }),
    TEST_TIMEOUT_MS,
    'open #2',
  );
  assert.equal(w2.pipe?.bytes, 4 * 65536);
  const more: Buffer[] = [];
  for (let i = 0; i < 40; i++) {
    const b = batch(100 + i, 50, 1400);
    more.push(b);
    if (!w2.write(b)) await withTimeout(once(w2, 'drain'), TEST_TIMEOUT_MS, 'drain');
  }
  await withTimeout(w2.close(), TEST_TIMEOUT_MS, 'close #2');
  const { code } = await withTimeout(reader.exited, TEST_TIMEOUT_MS, 'reader EOF');
  assert.equal(code, 0);
  assert.deepEqual(
    await readFile(join(dir, 'next.bin')),
    Buffer.concat([encodePcapHeader(), ...more]),
  );
});

test('a pipe on stdout is raised too (open("-")), records whole', async (t) => {
  const dir = await makeTempDir(t);
  const script = join(dir, 'stdout-writer.mjs');
  const out = join(dir, 'out.pcap');
  const index = new URL('../src/index.js', import.meta.url).href;
  const records = encodeRecords([{ tsSec: 5, tsFrac: 6, data: Buffer.alloc(900, 3) }]);
  await writeFile(
    script,
    `import { PcapWriter, encodeRecords, getPipeSize } from ${JSON.stringify(index)};
const w = await PcapWriter.open('-', { pipeSizeBytes: 512 * 1024 });
process.stderr.write(JSON.stringify({ pipe: w.pipe, now: getPipeSize(1) }) + '\\n');
w.write(Buffer.from(${JSON.stringify(records.toString('hex'))}, 'hex'));
await w.close();
`,
  );
  // A shell pipeline: stdout is a pipe(2) (Node's own stdio pipes are socketpairs).
  const { stderr } = await withTimeout(
    runCommand('sh', ['-c', 'exec "$0" "$1" | cat > "$2"', process.execPath, script, out]),
    TEST_TIMEOUT_MS,
    'stdout writer',
  );
  const got = JSON.parse(stderr.trim()) as {
    pipe: { bytes: number; limitedBy: string | null };
    now: number;
  };
  assert.equal(got.pipe.bytes, 512 * 1024);
  assert.equal(got.pipe.limitedBy, null);
  assert.equal(got.now, 512 * 1024);
  assert.deepEqual(await readFile(out), Buffer.concat([encodePcapHeader(), records]));
});

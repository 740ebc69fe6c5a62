// Child process of pipe-size.test.ts, started without CAP_SYS_RESOURCE (setpriv): it is the
// FIFO's reader and writer itself, raises the pipe through PcapWriter and prints one JSON line.
//   cap DIR         ask 4 x pipe-max-size for DIR/out.fifo
//   user-limit DIR N  (as an unprivileged uid) raise DIR/hog-0..N-1.fifo to 1 MiB each until
//                     the kernel's per-user limit refuses, then open DIR/out.fifo asking 1 MiB
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import {
  PcapWriter,
  encodePcapHeader,
  encodeRecords,
  getPipeSize,
  pipeMaxSizeBytes,
  raisePipeSize,
  type PipeSizeOutcome,
} from '../src/index.js';

const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

async function main(): Promise<void> {
  const [mode, dir, hogFifos] = process.argv.slice(2);
  if (dir === undefined) throw new Error('usage: pipe-size-child cap|user-limit DIR [N]');
  const fifo = join(dir, 'out.fifo');
  let hogs = 0;
  let hogRefused: PipeSizeOutcome | null = null;
  const hogFds: number[] = [];
  let want = 4 * pipeMaxSizeBytes();
  if (mode === 'user-limit') {
    want = 1048576;
    for (; hogs < Number(hogFifos) && hogRefused === null; hogs++) {
      // O_RDWR opens a FIFO at once (Linux) and makes its pipe, charged to this uid.
      const fd = openSync(join(dir, `hog-${hogs}.fifo`), constants.O_RDWR | constants.O_NONBLOCK);
      hogFds.push(fd);
      const r = raisePipeSize(fd, want);
      if (r.limitedBy !== null) hogRefused = r;
    }
  }
  // The reader opens first, so the pipe is made (and charged) by this process, as an IDS would.
  const readFd = openSync(fifo, READ_FLAGS);
  const writer = await PcapWriter.openFifo(fifo, { pipeSizeBytes: want });
  const records = encodeRecords([{ tsSec: 1, tsFrac: 2, data: Buffer.alloc(6000, 7) }]);
  writer.write(records);
  await writer.close();
  const expected = Buffer.concat([encodePcapHeader(), records]);
  const got = Buffer.alloc(expected.length + 1);
  let n = 0;
  for (let i = 0; i < 100 && n < expected.length; i++) {
    n += readSync(readFd, got, n, got.length - n, null);
  }
  const out = {
    hogs,
    hogRefused,
    pipe: writer.pipe,
    readerSees: getPipeSize(readFd),
    whole: n === expected.length && got.subarray(0, n).equals(expected),
  };
  closeSync(readFd);
  for (const fd of hogFds) closeSync(fd);
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`pipe-size-child: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});

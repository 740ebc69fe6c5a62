// PcapWriter's output onto a FIFO, with exact accounting of what the reader got.
//
// Why not just a libuv stream, as for stdout: when a FIFO's reader dies, the bytes it had not
// read stay in the kernel's pipe buffer. Whoever opens the FIFO next while our write end is still
// open reads that stale tail (mid-record, no pcap header), and the packets in it are lost without
// anyone knowing how many. A stream also cannot say how much of a failed write the kernel took.
// So:
//  - data goes straight to the non-blocking fd with writev(2): its return value is exactly what
//    the kernel accepted, and EPIPE means that call took nothing. Only when the pipe is full does
//    one chunk of at most PIPE_BUF bytes go through the libuv stream, as the way to wait for room
//    without blocking the event loop: pipe(7) makes a write of up to PIPE_BUF bytes atomic (all
//    or nothing, EPIPE included), so the accepted offset stays exact;
//  - a second write fd (the "keeper") keeps the pipe alive when the stream's own fd is closed on
//    an error, so what the departed reader left unread can still be measured: FIONREAD on the
//    keeper (pipe-size.ts) says how many bytes are in the pipe, the reader consumed
//    `accepted - unread` bytes, records ending within that were delivered, the rest are counted
//    lost. Then we close both fds: with no reader and no writer left the kernel frees the pipe
//    and its stale tail, so the next reader gets a fresh pipe, header and whole records;
//  - the pipe can be raised after open (F_SETPIPE_SZ, `pipeSizeBytes`): through the kernel's
//    64 KiB a writer and a reader wake each other every 64 KiB at most; a larger pipe lets each
//    do more per wake-up (measured in docs/operations.md, "FIFO pipe size");
//  - while idle, a probe open (O_WRONLY|O_NONBLOCK fails with ENXIO once no reader is left,
//    fifo(7)) notices a reader that left; nothing else would until the next write.

import { once } from 'node:events';
import {
  closeSync,
  constants as fsConstants,
  fstatSync,
  open as openCb,
  openSync,
  writevSync,
} from 'node:fs';
import { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { PcapWriteError, type PcapLoss } from './errors.js';
import { pipeNative } from './native.js';
import {
  getPipeSize,
  pipeMaxSizeBytes,
  pipeUnread,
  raisePipeSize,
  type PipeSizeOutcome,
} from './pipe-size.js';
import { RECORD_OK, RecordCursor } from './record-walk.js';
import {
  errnoCode,
  NO_LOSS,
  toWriteError,
  type OutputHooks,
  type PcapOutput,
} from './pcap-output.js';

/** pipe(7) PIPE_BUF on Linux: a write of up to this many bytes to a pipe is atomic. */
export const PIPE_BUF_BYTES = 4096;

const WRITE_FLAGS = fsConstants.O_WRONLY | fsConstants.O_NONBLOCK;
/** Batches gathered into one writev(2); far below IOV_MAX (1024). */
const IOV_BATCHES = 64;

// The callback fs.open gives a bare fd. A FileHandle would close its fd when garbage-collected,
// pulling it out from under the net.Socket that owns it from then on.
const openAsync = promisify(openCb);

/**
 * Most bytes the pipe behind `fd` can hold unread, as far as we can know at open: its capacity
 * now, or /proc/sys/fs/pipe-max-size (at least 1 MiB, its default), the most a reader without
 * CAP_SYS_RESOURCE could raise it to later. Bytes accepted longer ago than this were read.
 */
function pipeCapBytes(fd: number): number {
  return Math.max(getPipeSize(fd), pipeMaxSizeBytes(), 1048576);
}

/** An AbortError shaped like Node's own (name `AbortError`, code `ABORT_ERR`, reason as cause). */
export function abortError(signal: AbortSignal): Error {
  const err = new Error('The operation was aborted', { cause: signal.reason });
  err.name = 'AbortError';
  (err as Error & { code: string }).code = 'ABORT_ERR';
  return err;
}

async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, undefined, signal ? { signal } : undefined);
  } catch (err) {
    if (signal?.aborted) throw abortError(signal);
    throw err;
  }
}

/** The two write fds {@link FifoOutput} needs: `fd` is written, `keeperFd` only held open. */
export interface FifoFds {
  fd: number;
  keeperFd: number;
  /** What raising the pipe did (`pipeSizeBytes`), or null when not asked to. */
  pipe: PipeSizeOutcome | null;
}

/**
 * Open a FIFO for writing without blocking: with O_NONBLOCK, open(2) fails with ENXIO while no
 * process has the FIFO open for reading (fifo(7)), so we poll every `retryMs` instead of parking
 * a libuv threadpool thread in a blocking open that nothing could cancel.
 *
 * With `pipeSizeBytes`, the pipe is then raised to that capacity ({@link raisePipeSize}: a
 * refusal is reported in `pipe`, not thrown). Every open makes a new pipe (the previous one was
 * freed when its last fd closed), so this is done per reader.
 *
 * @throws AbortError when `signal` aborts; PcapWriteError `ERR_PCAP_NOT_FIFO` if `path` is not
 *   a FIFO; the open(2) error otherwise (ENOENT, EACCES, ...); PcapPipeError
 *   `ERR_PCAP_NATIVE_LOAD` when the pipe helper is not built (checked before anything opens).
 */
export async function openFifoFds(
  path: string,
  retryMs: number,
  signal: AbortSignal | undefined,
  pipeSizeBytes?: number,
): Promise<FifoFds> {
  pipeNative(); // a FIFO output cannot count a departed reader's loss without it
  for (;;) {
    if (signal?.aborted) throw abortError(signal);
    let fd = -1;
    try {
      fd = await openAsync(path, WRITE_FLAGS);
      if (!fstatSync(fd).isFIFO()) {
        throw new PcapWriteError('ERR_PCAP_NOT_FIFO', `not a FIFO: ${path}`);
      }
      // The reader is there (the open succeeded), so this open succeeds too, unless the reader
      // left in between: then ENXIO and we start over.
      const keeperFd = openSync(path, WRITE_FLAGS);
      if (signal?.aborted) {
        closeSync(keeperFd);
        throw abortError(signal);
      }
      let pipe: PipeSizeOutcome | null = null;
      try {
        if (pipeSizeBytes !== undefined) pipe = raisePipeSize(fd, pipeSizeBytes);
      } catch (err) {
        closeSync(keeperFd);
        throw err;
      }
      return { fd, keeperFd, pipe };
    } catch (err) {
      if (fd >= 0) closeSync(fd);
      if (errnoCode(err) !== 'ENXIO') throw err;
    }
    await pause(retryMs, signal);
  }
}

/**
 * Whether a process has the FIFO at `path` open for reading: null if one has, else the ENXIO
 * error of the probing open(2).
 *
 * @throws the open(2) error other than ENXIO (ENOENT when the FIFO was removed, ...).
 */
export function probeReader(path: string): Error | null {
  let fd: number;
  try {
    fd = openSync(path, WRITE_FLAGS);
  } catch (err) {
    if (errnoCode(err) === 'ENXIO') return err as Error;
    throw err;
  }
  closeSync(fd);
  return null;
}

/**
 * Wait until no process has the FIFO at `path` open for reading, probing every `retryMs`.
 * Resolves true once none has (or the path is gone or unusable: nobody can attach through it),
 * false after `timeoutMs` with a reader still there.
 *
 * @throws AbortError when `signal` aborts.
 */
export async function waitReaderGone(
  path: string,
  retryMs: number,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (signal?.aborted) throw abortError(signal);
    try {
      if (probeReader(path) !== null) return true;
    } catch {
      return true;
    }
    if (Date.now() >= deadline) return false;
    await pause(retryMs, signal);
  }
}

/** Records of `records` that end at or before `limit` bytes: [count, bytes]. */
function recordsWithin(records: Buffer, limit: number): [number, number] {
  const c = new RecordCursor(records, 0, limit);
  while (c.next() === RECORD_OK);
  return [c.count, c.end];
}

/** A buffer given to `send()`, placed at stream offset `start`. */
interface Entry {
  buf: Buffer;
  count: number;
  start: number;
}

/**
 * The exact-accounting FIFO output (see the file comment). Stream offsets count every byte
 * written on this pipe, header included. `#entries[#head..]` are the buffers that may still be
 * unread (or unwritten); `#entries[#cursor..]` are those not yet wholly accepted by the kernel.
 */
export class FifoOutput implements PcapOutput {
  readonly #path: string;
  readonly #hooks: OutputHooks;
  readonly #fd: number;
  readonly #keeperFd: number;
  readonly #socket: Socket;
  readonly #probeTimer: NodeJS.Timeout;
  /** Bytes the pipe can hold unread at most (see pipeCapBytes). */
  readonly #pipeCapBytes: number;
  #entries: (Entry | undefined)[] = [];
  #head = 0;
  #cursor = 0;
  #enqueued = 0; // stream offset after the last buffer given to send()
  #accepted = 0; // stream offset the kernel has accepted
  #pendingRecords = 0; // records of #entries[#cursor..]
  #waiting = false; // a PIPE_BUF chunk is in the libuv stream, waiting for room in the pipe
  #waitingBytes = 0; // its size
  #active = true; // written since the last probe tick
  #open = true;
  /** Called once everything given to send() is accepted, or the output shuts. */
  #flushWaiters: (() => void)[] = [];

  /** Takes ownership of both fds. `probeMs`: idle check period for a departed reader. */
  constructor(path: string, fds: FifoFds, probeMs: number, hooks: OutputHooks) {
    this.#path = path;
    this.#hooks = hooks;
    this.#fd = fds.fd;
    this.#keeperFd = fds.keeperFd;
    this.#pipeCapBytes = pipeCapBytes(fds.fd);
    // A libuv pipe stream on the same fd, used only to wait for room (see #waitForRoom).
    this.#socket = new Socket({ fd: fds.fd, readable: false, writable: true });
    this.#socket.on('error', (err) => this.#readerGone(err, false));
    // Ref'd by default, like an open server socket: an open output is work in progress.
    this.#probeTimer = setInterval(() => this.#probe(), probeMs);
  }

  get pendingBytes(): number {
    return this.#enqueued - this.#accepted;
  }

  get pendingRecords(): number {
    // #pendingRecords counts whole buffers; the one being written may have records out already.
    const e = this.#entries[this.#cursor];
    if (e === undefined || e.count === 0 || this.#accepted === e.start) return this.#pendingRecords;
    return this.#pendingRecords - recordsWithin(e.buf, this.#accepted - e.start)[0];
  }

  send(buf: Buffer, count: number): void {
    if (!this.#open || buf.length === 0) return;
    this.#entries.push({ buf, count, start: this.#enqueued });
    this.#enqueued += buf.length;
    this.#pendingRecords += count;
    this.#active = true;
    if (!this.#waiting) this.#pump();
  }

  async end(): Promise<void> {
    if (this.#open && this.#cursor < this.#entries.length) {
      await new Promise<void>((resolve) => this.#flushWaiters.push(resolve));
    }
    if (!this.#open) return; // failed (reported) or destroyed while flushing
    // A reader that left without the whole stream is found here rather than never: after we
    // close, nobody could tell what it missed.
    let gone: Error | null = null;
    try {
      gone = probeReader(this.#path);
    } catch {
      // removed or replaced: the reader still attached keeps what is in the pipe
    }
    if (gone !== null) {
      this.#readerGone(gone, true);
      return;
    }
    const closed = once(this.#socket, 'close').catch(() => undefined);
    this.#shut();
    await closed;
  }

  destroy(): PcapLoss {
    if (!this.#open) return NO_LOSS;
    // What the kernel took stays readable after we close; what it did not take is dropped.
    const loss = this.#lossBeyond(this.#accepted);
    this.#shut();
    return loss;
  }

  setRef(ref: boolean): void {
    if (ref) this.#probeTimer.ref();
    else this.#probeTimer.unref();
  }

  /** Write what is queued, straight to the fd, until it is all accepted or the pipe is full. */
  #pump(): void {
    const before = this.#accepted;
    const iov: Buffer[] = [];
    while (this.#open && !this.#waiting && this.#cursor < this.#entries.length) {
      iov.length = 0;
      let want = 0;
      for (let i = this.#cursor; i < this.#entries.length && iov.length < IOV_BATCHES; i++) {
        const e = this.#entries[i]!;
        const from = i === this.#cursor ? this.#accepted - e.start : 0;
        iov.push(from === 0 ? e.buf : e.buf.subarray(from));
        want += e.buf.length - from;
      }
      let n = 0;
      try {
        n = writevSync(this.#fd, iov);
      } catch (err) {
        if (errnoCode(err) !== 'EAGAIN') {
          this.#readerGone(err, false);
          return;
        }
      }
      this.#advance(n);
      // A non-blocking pipe takes less than offered only when it is full.
      if (n < want) this.#waitForRoom();
    }
    if (this.#cursor === this.#entries.length) this.#flushDone();
    if (this.#accepted !== before) this.#hooks.onProgress();
  }

  /**
   * The pipe is full: hand the next at most PIPE_BUF bytes to the libuv stream, which writes them
   * once there is room (epoll, no blocked thread). Atomic, so when its callback comes the kernel
   * took exactly that chunk, or nothing (EPIPE).
   */
  #waitForRoom(): void {
    const e = this.#entries[this.#cursor]!;
    const from = this.#accepted - e.start;
    const chunk = e.buf.subarray(from, from + Math.min(PIPE_BUF_BYTES, e.buf.length - from));
    this.#waiting = true;
    this.#waitingBytes = chunk.length;
    this.#socket.write(chunk, (err) => {
      if (!this.#open) return;
      this.#waiting = false;
      this.#waitingBytes = 0;
      if (err) {
        this.#readerGone(err, false);
        return;
      }
      this.#advance(chunk.length);
      this.#pump();
    });
  }

  #advance(n: number): void {
    if (n === 0) return;
    this.#accepted += n;
    const entries = this.#entries;
    while (this.#cursor < entries.length) {
      const e = entries[this.#cursor]!;
      if (e.start + e.buf.length > this.#accepted) break;
      this.#pendingRecords -= e.count;
      this.#cursor++;
    }
    // A pipe never holds more than its capacity unread, so older buffers were surely read.
    const surelyRead = this.#accepted - this.#pipeCapBytes;
    while (this.#head < this.#cursor) {
      const e = entries[this.#head]!;
      if (e.start + e.buf.length > surelyRead) break;
      entries[this.#head++] = undefined; // let it be freed
    }
    if (this.#head === entries.length) {
      this.#entries = [];
      this.#head = 0;
      this.#cursor = 0;
    } else if (this.#head > 1024 && this.#head * 2 > entries.length) {
      this.#entries = entries.slice(this.#head);
      this.#cursor -= this.#head;
      this.#head = 0;
    }
  }

  /** Idle check: a probe open fails with ENXIO once no reader is left. */
  #probe(): void {
    if (!this.#open) return;
    if (this.#active || this.#waiting || this.#cursor < this.#entries.length) {
      // Busy: the next write reports a departure with EPIPE. Probe only after a quiet period.
      this.#active = false;
      return;
    }
    let gone: Error | null = null;
    try {
      gone = probeReader(this.#path);
    } catch {
      // The FIFO was removed or replaced: nobody new can attach to our pipe; a write finds out.
    }
    if (gone !== null) this.#readerGone(gone, false);
  }

  /**
   * The reader left (EPIPE, or ENXIO from a probe): measure what it left unread, count what it
   * did not get whole, close both fds (which frees the pipe and that tail) and report. With
   * `quietIfWhole` (at close), a reader that left with everything is no error.
   */
  #readerGone(cause: unknown, quietIfWhole: boolean): void {
    if (!this.#open) return;
    const code = errnoCode(cause);
    // Only with no reader left is what sits in the pipe lost for sure.
    const unread = code === 'EPIPE' || code === 'ENXIO' ? this.#unreadInPipe() : 0;
    const loss = this.#lossBeyond(this.#accepted - unread);
    this.#shut();
    if (quietIfWhole && loss.lostRecords === 0) return;
    this.#hooks.onError(toWriteError(cause, loss));
  }

  /** Bytes in the pipe the departed reader did not read (FIONREAD on the keeper, still open). */
  #unreadInPipe(): number {
    try {
      return pipeUnread(this.#keeperFd);
    } catch {
      return 0; // cannot happen on an open pipe fd; count it all as delivered rather than throw
    }
  }

  /** Records given to send() that end past stream offset `consumed`. */
  #lossBeyond(consumed: number): PcapLoss {
    let lostRecords = 0;
    let lostBytes = 0;
    for (let i = this.#head; i < this.#entries.length; i++) {
      const e = this.#entries[i]!;
      if (e.count === 0 || e.start + e.buf.length <= consumed) continue;
      const [n, bytes] = e.start >= consumed ? [0, 0] : recordsWithin(e.buf, consumed - e.start);
      lostRecords += e.count - n;
      lostBytes += e.buf.length - bytes;
    }
    return { lostRecords, lostBytes };
  }

  #flushDone(): void {
    const waiters = this.#flushWaiters;
    this.#flushWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * Stop at a record boundary (a reader must never get a partial record): drop what is queued
   * beyond the record the pipe is taking now, give the pipe up to `timeoutMs` to take the rest
   * of that record, then close. Records dropped, and the one record still cut at the timeout,
   * are the returned loss; a reader that leaves meanwhile is reported through `onError` as
   * usual.
   */
  finish(timeoutMs: number): Promise<PcapLoss> {
    if (!this.#open) return Promise.resolve(NO_LOSS);
    const dropped = this.#cutAtRecord();
    if (this.#cursor >= this.#entries.length && !this.#waiting) {
      this.#shut();
      return Promise.resolve(dropped);
    }
    return new Promise<PcapLoss>((resolve) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        // The reader did not take even that much: the cut record is lost with the rest.
        timedOut = true;
        const rest = this.destroy();
        resolve({
          lostRecords: dropped.lostRecords + rest.lostRecords,
          lostBytes: dropped.lostBytes + rest.lostBytes,
        });
      }, timeoutMs);
      this.#flushWaiters.push(() => {
        if (timedOut) return;
        clearTimeout(timer);
        this.#shut();
        resolve(dropped);
      });
    });
  }

  /**
   * Cut what is queued right after the record in progress: the one the kernel (or the PIPE_BUF
   * chunk waiting for room) has taken part of. Returns the records cut away.
   */
  #cutAtRecord(): PcapLoss {
    const i = this.#cursor;
    const e = this.#entries[i];
    if (e === undefined) return NO_LOSS;
    // Bytes of this buffer the pipe has (or will have, once the waiting chunk lands).
    const taken = this.#accepted + this.#waitingBytes - e.start;
    let keep = 0;
    let keepCount = 0;
    if (taken > 0) {
      if (e.count === 0) {
        keep = e.buf.length; // the pcap header: finish it
      } else {
        const c = new RecordCursor(e.buf);
        while (c.next() === RECORD_OK && c.end < taken);
        keep = c.end;
        keepCount = c.count;
      }
    }
    let lostRecords = e.count - keepCount;
    let lostBytes = e.count > 0 ? e.buf.length - keep : 0;
    for (let j = i + 1; j < this.#entries.length; j++) {
      const later = this.#entries[j]!;
      lostRecords += later.count;
      if (later.count > 0) lostBytes += later.buf.length;
    }
    this.#entries.length = keep > 0 ? i + 1 : i;
    if (keep > 0)
      this.#entries[i] = { buf: e.buf.subarray(0, keep), count: keepCount, start: e.start };
    this.#enqueued = e.start + keep;
    this.#pendingRecords = keepCount;
    if (keep > 0 && this.#accepted === this.#enqueued) {
      // Cut exactly where the pipe stopped: nothing of it is in progress after all.
      this.#cursor = i + 1;
      this.#pendingRecords = 0;
    }
    return { lostRecords, lostBytes };
  }

  /** Close both fds and forget everything; the reader sees EOF after what is in the pipe. */
  #shut(): void {
    if (!this.#open) return;
    this.#open = false;
    clearInterval(this.#probeTimer);
    this.#entries = [];
    this.#head = 0;
    this.#cursor = 0;
    this.#enqueued = this.#accepted;
    this.#pendingRecords = 0;
    this.#socket.destroy(); // closes fd
    closeSync(this.#keeperFd);
    this.#flushDone();
  }
}

// The pcap stream into a FIFO, with exact accounting of what each reader got.
//
// Why not a plain stream writer: when a FIFO's reader dies, the bytes it had not read yet are
// still in the kernel pipe buffer. Whoever opens the FIFO next while our write end is still
// open reads that stale tail (mid-record, no pcap header), and the packets in it are lost
// without anyone knowing how many. So:
//  - we hold a second write fd ("keeper") that keeps the pipe alive after the stream's own fd
//    is destroyed on EPIPE, read the unread tail back out through a non-blocking read fd, and
//    only then close: the next reader gets a fresh pipe, a fresh header, whole records;
//  - writes are chunks of at most PIPE_BUF (4096) bytes, one in flight at a time. pipe(7): a
//    write of up to PIPE_BUF bytes is atomic, with O_NONBLOCK it either writes all or fails.
//    So the stream offset the kernel accepted is known exactly, and what the reader consumed is
//    accepted - unread: records ending within it were delivered, every other one is counted.
//  - while idle, a probe open (O_WRONLY|O_NONBLOCK fails with ENXIO when no reader is left,
//    fifo(7)) notices a reader that left, so a new reader does not attach to the old pipe.

import {
  closeSync,
  constants as fsConstants,
  open as openCb,
  openSync,
  readFileSync,
  readSync,
} from 'node:fs';
import { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { encodePcapHeader, PCAP_RECORD_HEADER_BYTES } from '@nflog-pipe/pcap-writer';
import type { PcapSink, PcapSinkOptions, PcapSinkStats } from './pcap-sink.js';

/** Longest wait for the old reader to go after a reopen request, ms. */
const REOPEN_WAIT_MS = 5000;

/** pipe(7) PIPE_BUF on Linux: writes up to this size are atomic. */
export const PIPE_BUF_BYTES = 4096;

const openAsync = promisify(openCb);
const WRITE_FLAGS = fsConstants.O_WRONLY | fsConstants.O_NONBLOCK;
const READ_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NONBLOCK;

/** The kernel's cap on a pipe's buffer: a reader can hold at most this much unread. */
function pipeMaxBytes(): number {
  try {
    return Number(readFileSync('/proc/sys/fs/pipe-max-size', 'utf8').trim()) || 1048576;
  } catch {
    return 1048576;
  }
}

interface QueuedBatch {
  records: Buffer;
  count: number;
  /** Bytes of `records` already taken into chunks. */
  taken: number;
  /** Order of arrival, to tell batches pushed before a reopen request from later ones. */
  serial: number;
}

/** A batch whose bytes went (partly) into the current pipe; `start` is its stream offset. */
interface LedgerEntry {
  records: Buffer;
  count: number;
  start: number;
  /** Counted as out (its last byte was accepted). */
  counted: boolean;
}

/** Records of `records` that end at or before `limit` bytes: [count, bytes]. */
function recordsWithin(records: Buffer, limit: number): [number, number] {
  let offset = 0;
  let n = 0;
  while (offset < records.length) {
    const end = offset + PCAP_RECORD_HEADER_BYTES + records.readUInt32LE(offset + 8);
    if (end > limit) break;
    offset = end;
    n++;
  }
  return [n, offset];
}

/**
 * A {@link PcapSink} writing into a FIFO. Opens without blocking (retrying while there is no
 * reader), reopens whenever the reader goes away, gives every reader a fresh pcap header and
 * then whole records only, and keeps ingesting meanwhile: a queue of whole batches bounded by
 * `queueBytes` absorbs bursts, then whole incoming batches are dropped and counted.
 */
export class FifoSink implements PcapSink {
  readonly #path: string;
  readonly #opts: PcapSinkOptions;
  readonly #retryMs: number;
  readonly #header: Buffer;
  readonly #pipeMax = pipeMaxBytes();
  readonly #abort = new AbortController();

  #queue: QueuedBatch[] = [];
  #queueHead = 0;
  #queuedBytes = 0; // untaken bytes of queued batches
  #queuedPackets = 0; // packets of batches not yet fully taken

  #socket: Socket | null = null;
  #keeperFd = -1;
  #headerPending = false;
  #inFlight = false;
  #accepted = 0; // stream offset accepted by the kernel on the current pipe
  #taken = 0; // stream offset handed out in chunks
  #ledger: LedgerEntry[] = [];
  #reopenWanted = false;
  #serial = 0;
  #reopenBefore = 0; // with #reopenWanted: batches with a smaller serial still go to the old reader
  #closing = false;
  #closed: Promise<void> | null = null;
  #probeTimer: NodeJS.Timeout | null = null;
  #idleWaiters: (() => void)[] = [];
  #loop: Promise<void> | null = null;
  #stats: PcapSinkStats = {
    outPackets: 0,
    outBytes: 0,
    lostPackets: 0,
    queuedPackets: 0,
    queuedBytes: 0,
    opens: 0,
  };

  /**
   * Start writing to the FIFO at `path` (it must exist and be a FIFO; the caller checks). The
   * first open happens in the background: `push()` may be called at once.
   */
  constructor(path: string, options: PcapSinkOptions) {
    this.#path = path;
    this.#opts = options;
    this.#retryMs = options.retryMs ?? 200;
    this.#header = encodePcapHeader({ linktype: options.linktype, nanosecond: options.nanosecond });
    this.#loop = this.#openLoop();
  }

  push(records: Buffer, count: number): boolean {
    if (this.#closing || count === 0) return count === 0;
    if (this.#queuedBytes + records.length > this.#opts.queueBytes) {
      this.#lose(count, 'queue-full');
      return false;
    }
    this.#queue.push({ records, count, taken: 0, serial: this.#serial++ });
    this.#queuedBytes += records.length;
    this.#queuedPackets += count;
    this.#pump();
    return true;
  }

  reopen(): void {
    if (this.#socket === null) return; // not open: the open loop already waits for a reader
    this.#reopenWanted = true;
    this.#reopenBefore = this.#serial;
    this.#pump();
  }

  stats(): PcapSinkStats {
    return { ...this.#stats, queuedPackets: this.#queuedPackets, queuedBytes: this.#queuedBytes };
  }

  close(flushMs: number): Promise<void> {
    this.#closed ??= this.#close(flushMs);
    return this.#closed;
  }

  async #close(flushMs: number): Promise<void> {
    this.#closing = true;
    if (this.#socket !== null && (this.#queuedPackets > 0 || this.#inFlight)) {
      const idle = new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
      const timer = sleep(flushMs, undefined, { ref: false }).then(() => undefined);
      await Promise.race([idle, timer]);
    }
    this.#abort.abort();
    if (this.#probeTimer) clearInterval(this.#probeTimer);
    // Whatever is still queued (no reader, or a reader too slow to take it in time) is lost.
    this.#dropQueue('shutdown');
    if (this.#socket !== null) {
      // Bytes already in the pipe stay readable after we close; the reader then sees EOF.
      this.#settleLedger(this.#accepted);
      const socket = this.#socket;
      this.#socket = null;
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.destroy();
      });
      this.#closeKeeper();
    }
    await this.#loop?.catch(() => undefined);
  }

  /**
   * After a reopen request the old reader still has the FIFO open until it has read the rest
   * and seen EOF; opening now would hand it a second stream. Wait (bounded) until no reader is
   * left, probing with O_NONBLOCK opens that fail with ENXIO then.
   */
  async #waitReaderGone(signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + REOPEN_WAIT_MS;
    while (Date.now() < deadline) {
      try {
        closeSync(openSync(this.#path, WRITE_FLAGS));
      } catch {
        return; // ENXIO: no reader (any other error: let the open loop report it)
      }
      await sleep(this.#retryMs, undefined, { signal });
    }
    this.#opts.logger.warn('old FIFO reader still there after reopen; reopening anyway', {
      path: this.#path,
    });
  }

  /** Open the FIFO (retrying while it has no reader) and start writing. */
  async #openLoop(afterReopen = false): Promise<void> {
    const signal = this.#abort.signal;
    if (afterReopen) {
      try {
        await this.#waitReaderGone(signal);
      } catch {
        return; // aborted by close()
      }
    }
    for (;;) {
      if (signal.aborted || this.#closing) return;
      let fd = -1;
      try {
        fd = await openAsync(this.#path, WRITE_FLAGS);
        // The reader is there (open succeeded), so the keeper open succeeds too, unless the
        // reader left in between: then ENXIO and we start over.
        this.#keeperFd = openSync(this.#path, WRITE_FLAGS);
      } catch (err) {
        if (fd >= 0) closeSync(fd);
        const code = (err as { code?: unknown }).code;
        if (code !== 'ENXIO') {
          this.#opts.logger.error('cannot open the FIFO', { path: this.#path, err });
          this.#opts.onEnd?.(err as Error);
          return;
        }
        try {
          await sleep(this.#retryMs, undefined, { signal });
        } catch {
          return;
        }
        continue;
      }
      if (this.#closing) {
        closeSync(fd);
        this.#closeKeeper();
        return;
      }
      this.#attach(fd);
      return;
    }
  }

  #attach(fd: number): void {
    const socket = new Socket({ fd, readable: false, writable: true });
    socket.on('error', (err) => this.#readerGone(socket, err));
    this.#socket = socket;
    this.#stats.opens++;
    this.#accepted = 0;
    this.#taken = 0;
    this.#ledger = [];
    this.#headerPending = true;
    this.#opts.logger.info('FIFO reader attached', { path: this.#path, reader: this.#stats.opens });
    // Ref'd on purpose: an open output is work in progress; close() clears it.
    this.#probeTimer ??= setInterval(() => this.#probe(), this.#retryMs);
    this.#pump();
  }

  /** Idle check: a probe open fails with ENXIO once no reader is left. */
  #probe(): void {
    if (this.#socket === null || this.#inFlight) return;
    let fd = -1;
    try {
      fd = openSync(this.#path, WRITE_FLAGS);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'ENXIO' || code === 'ENOENT') this.#readerGone(this.#socket, err);
      return;
    }
    closeSync(fd);
  }

  /** Next chunk: at most PIPE_BUF bytes, from the header and the queued batches in order. */
  #nextChunk(): Buffer | null {
    if (this.#headerPending) {
      this.#headerPending = false;
      this.#taken += this.#header.length;
      return this.#header;
    }
    const pieces: Buffer[] = [];
    let size = 0;
    while (size < PIPE_BUF_BYTES && this.#queueHead < this.#queue.length) {
      const b = this.#queue[this.#queueHead]!;
      // On a pending reopen, what was pushed before the request still goes to this reader.
      if (this.#reopenWanted && b.serial >= this.#reopenBefore) break;
      if (b.taken === 0)
        this.#ledger.push({
          records: b.records,
          count: b.count,
          start: this.#taken + size,
          counted: false,
        });
      const n = Math.min(PIPE_BUF_BYTES - size, b.records.length - b.taken);
      pieces.push(b.records.subarray(b.taken, b.taken + n));
      b.taken += n;
      size += n;
      this.#queuedBytes -= n;
      if (b.taken === b.records.length) {
        this.#queuedPackets -= b.count;
        this.#queue[this.#queueHead++] = undefined as unknown as QueuedBatch; // let it be freed
      }
    }
    this.#compactQueue();
    if (size === 0) return null;
    this.#taken += size;
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, size);
  }

  #compactQueue(): void {
    if (this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    } else if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
  }

  #pump(): void {
    const socket = this.#socket;
    if (socket === null || this.#inFlight) return;
    const chunk = this.#nextChunk();
    if (chunk === null) {
      if (this.#reopenWanted) this.#finishReopen(socket);
      else this.#wakeIdle();
      return;
    }
    this.#inFlight = true;
    socket.write(chunk, (err) => {
      if (this.#socket !== socket) return; // this pipe was already settled
      this.#inFlight = false;
      if (err) {
        this.#readerGone(socket, err);
        return;
      }
      this.#accepted += chunk.length;
      this.#countAccepted();
      this.#pump();
    });
  }

  /** Count batches whose last byte the kernel accepted; forget those surely read. */
  #countAccepted(): void {
    let drop = 0;
    for (const e of this.#ledger) {
      const end = e.start + e.records.length;
      if (!e.counted && end <= this.#accepted) {
        e.counted = true;
        this.#stats.outPackets += e.count;
        this.#stats.outBytes += e.records.length;
        this.#opts.onOut?.(e.count, e.records.length);
      }
      if (!e.counted) break;
      // A pipe holds at most pipe-max-size bytes, so this batch was read for sure.
      if (end + this.#pipeMax <= this.#accepted) drop++;
    }
    if (drop > 0) this.#ledger.splice(0, drop);
  }

  /**
   * Settle the current pipe given that the reader consumed the first `consumed` stream bytes:
   * records ending within it are delivered, every other taken record is lost.
   */
  #settleLedger(consumed: number): void {
    let lost = 0;
    for (const e of this.#ledger) {
      const [n, bytes] = recordsWithin(e.records, consumed - e.start);
      if (e.counted) {
        if (n < e.count) {
          // Counted as out when accepted, but still in the pipe when the reader died.
          this.#stats.outPackets -= e.count - n;
          this.#stats.outBytes -= e.records.length - bytes;
          this.#opts.onOut?.(-(e.count - n), -(e.records.length - bytes));
        }
      } else if (n > 0) {
        this.#stats.outPackets += n;
        this.#stats.outBytes += bytes;
        this.#opts.onOut?.(n, bytes);
      }
      lost += e.count - n;
    }
    // The batch in progress is in the ledger; its untaken rest leaves the queue with it.
    const head = this.#queue[this.#queueHead];
    if (head !== undefined && head.taken > 0) {
      this.#queuedBytes -= head.records.length - head.taken;
      this.#queuedPackets -= head.count;
      this.#queueHead++;
      this.#compactQueue();
    }
    this.#ledger = [];
    if (lost > 0) this.#lose(lost, 'reader-gone');
  }

  /** The reader left (EPIPE, or a probe saw no reader): settle, clean the pipe, reopen. */
  #readerGone(socket: Socket, err: unknown): void {
    if (this.#socket !== socket) return;
    this.#socket = null;
    this.#inFlight = false;
    socket.destroy();
    const unread = this.#drainPipe();
    this.#closeKeeper();
    const code = (err as { code?: unknown }).code;
    if (code !== 'EPIPE' && code !== 'ENXIO') {
      this.#opts.logger.warn('FIFO write failed, reopening', { path: this.#path, err });
    }
    this.#settleLedger(this.#accepted - unread);
    this.#opts.logger.info('FIFO reader gone, reopening', {
      path: this.#path,
      unread_bytes: unread,
    });
    this.#reopenWanted = false;
    this.#wakeIdle();
    if (!this.#closing) this.#loop = this.#openLoop();
  }

  /** Read back what the departed reader left in the pipe; returns its size in bytes. */
  #drainPipe(): number {
    if (this.#keeperFd < 0) return 0;
    let fd = -1;
    try {
      fd = openSync(this.#path, READ_FLAGS);
    } catch {
      return 0; // the FIFO was removed: nobody can read the old pipe again anyway
    }
    const buf = Buffer.allocUnsafe(65536);
    let total = 0;
    try {
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n <= 0) break;
        total += n;
        if (total > this.#pipeMax) break; // cannot happen with one pipe; stay bounded anyway
      }
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'EAGAIN') throw err;
    } finally {
      closeSync(fd);
    }
    return total;
  }

  #finishReopen(socket: Socket): void {
    this.#reopenWanted = false;
    this.#settleLedger(this.#accepted); // the reader keeps what is in the pipe, then sees EOF
    this.#socket = null;
    socket.destroy();
    this.#closeKeeper();
    this.#opts.logger.info('FIFO closed on request, reopening', { path: this.#path });
    this.#loop = this.#openLoop(true);
  }

  #closeKeeper(): void {
    if (this.#keeperFd >= 0) closeSync(this.#keeperFd);
    this.#keeperFd = -1;
  }

  #dropQueue(why: 'shutdown'): void {
    const head = this.#queue[this.#queueHead];
    let lost = this.#queuedPackets;
    // A batch already partly written is in the ledger and settles there.
    if (head !== undefined && head.taken > 0 && this.#socket !== null) lost -= head.count;
    this.#queue = [];
    this.#queueHead = 0;
    this.#queuedBytes = 0;
    this.#queuedPackets = 0;
    if (lost > 0) this.#lose(lost, why);
  }

  #lose(packets: number, why: 'queue-full' | 'reader-gone' | 'shutdown'): void {
    this.#stats.lostPackets += packets;
    this.#opts.onLost?.(packets, why);
  }

  #wakeIdle(): void {
    if (this.#queuedPackets > 0 || this.#inFlight) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}

// PcapWriter's output onto a regular file, written with positional writev(2) on an fd we own.
//
// Why not an fs.WriteStream: when the disk fills, a write(2) takes part of a buffer and the
// next one fails with ENOSPC, so the file ends inside a record; to cut it back we must know
// exactly which buffers the kernel took whole and truncate while the fd is still ours, after
// the one write in flight has returned. A WriteStream closes its fd when destroyed and hides
// its write in progress. So this output keeps the queue itself, one writev in flight at a time.

import { closeSync, ftruncateSync, writev } from 'node:fs';
import type { PcapBatch, PcapLoss } from './errors.js';
import { NO_LOSS, toWriteError, type OutputHooks, type PcapOutput } from './pcap-output.js';

/** Buffers gathered into one writev(2); far below IOV_MAX (1024). */
const IOV_BUFFERS = 64;

/** A buffer given to send(), with the records it holds (0 for the header). */
interface Entry {
  buf: Buffer;
  count: number;
}

/**
 * The file output (see the file comment). `#committed` is the file offset after the last
 * buffer the kernel took whole; everything given to send() beyond it is pending, and on a
 * failure or a destroy the file is truncated back to it, so it holds only whole records.
 */
export class FileOutput implements PcapOutput {
  readonly #fd: number;
  readonly #hooks: OutputHooks;
  #queue: Entry[] = [];
  #head = 0;
  /** Bytes of `#queue[#head]` already written (a short write took part of it). */
  #partial = 0;
  #committed: number;
  #pendingBytes = 0;
  #pendingRecords = 0;
  #pendingRecordBytes = 0;
  #inFlight = false;
  /** Failed or destroyed: nothing more is written; the fd is cut back and closed. */
  #done = false;
  #fdClosed = false;
  #ending: (() => void) | null = null;
  #finished: Promise<void>;
  #finish!: () => void;

  /**
   * Takes ownership of `fd` (open for writing, positioned writes are used).
   * @param baseOffset where writing starts: the file's size when appending, else 0
   */
  constructor(fd: number, baseOffset: number, hooks: OutputHooks) {
    this.#fd = fd;
    this.#committed = baseOffset;
    this.#hooks = hooks;
    this.#finished = new Promise((resolve) => (this.#finish = resolve));
  }

  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  get pendingRecords(): number {
    return this.#pendingRecords;
  }

  send(buf: Buffer, count: number): void {
    if (this.#done || buf.length === 0) return;
    this.#queue.push({ buf, count });
    this.#pendingBytes += buf.length;
    this.#pendingRecords += count;
    if (count > 0) this.#pendingRecordBytes += buf.length;
    if (!this.#inFlight) this.#pump();
  }

  async end(): Promise<void> {
    if (!this.#done && (this.#inFlight || this.#head < this.#queue.length)) {
      await new Promise<void>((resolve) => (this.#ending = resolve));
    }
    if (!this.#done) this.#closeFd(false);
    await this.#finished;
  }

  destroy(): PcapLoss {
    if (this.#done) return NO_LOSS;
    const loss = this.#drop();
    // A write in flight cannot be recalled: cut back once it has returned.
    if (!this.#inFlight) this.#closeFd(true);
    return loss;
  }

  finish(): Promise<PcapLoss> {
    // destroy() already cuts the file back to its last whole record.
    return Promise.resolve(this.destroy());
  }

  setRef(): void {
    // no timers of our own: a write in flight keeps the loop alive while it lasts
  }

  #pump(): void {
    if (this.#done || this.#inFlight) return;
    if (this.#head >= this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
      const ending = this.#ending;
      this.#ending = null;
      ending?.();
      return;
    }
    const iov: Buffer[] = [];
    for (let i = this.#head; i < this.#queue.length && iov.length < IOV_BUFFERS; i++) {
      const b = this.#queue[i]!.buf;
      iov.push(i === this.#head && this.#partial > 0 ? b.subarray(this.#partial) : b);
    }
    this.#inFlight = true;
    writev(this.#fd, iov, this.#committed + this.#partial, (err, written) => {
      this.#inFlight = false;
      if (this.#done) {
        this.#closeFd(true); // destroyed meanwhile: what this write added is cut off again
        return;
      }
      if (err) {
        this.#fail(err);
        return;
      }
      this.#advance(written);
      this.#pump();
    });
  }

  /** `n` more bytes were written: whole buffers become committed (and leave the pending counts). */
  #advance(n: number): void {
    let left = n;
    while (left > 0 && this.#head < this.#queue.length) {
      const e = this.#queue[this.#head]!;
      const rest = e.buf.length - this.#partial;
      if (left < rest) {
        this.#partial += left;
        break;
      }
      left -= rest;
      this.#partial = 0;
      this.#committed += e.buf.length;
      this.#pendingBytes -= e.buf.length;
      this.#pendingRecords -= e.count;
      if (e.count > 0) this.#pendingRecordBytes -= e.buf.length;
      this.#queue[this.#head++] = { buf: EMPTY, count: 0 }; // let it be freed
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (n > 0) this.#hooks.onProgress();
  }

  #drop(): PcapLoss {
    const loss = { lostRecords: this.#pendingRecords, lostBytes: this.#pendingRecordBytes };
    this.#done = true;
    this.#queue = [];
    this.#head = 0;
    this.#partial = 0;
    this.#pendingBytes = 0;
    this.#pendingRecords = 0;
    this.#pendingRecordBytes = 0;
    const ending = this.#ending;
    this.#ending = null;
    ending?.();
    return loss;
  }

  #fail(err: unknown): void {
    // Every buffer not written whole is cut off the file again: none of it is lost yet, so it
    // goes back to whoever wrote it (`unwritten`) instead of into the loss.
    const unwritten: PcapBatch[] = [];
    for (let i = this.#head; i < this.#queue.length; i++) {
      const e = this.#queue[i]!;
      if (e.count > 0) unwritten.push({ records: e.buf, count: e.count });
    }
    this.#drop();
    this.#closeFd(true);
    this.#hooks.onError(toWriteError(err, NO_LOSS, unwritten));
  }

  /** Close the fd, first cutting the file back to the last whole buffer when `cut`. */
  #closeFd(cut: boolean): void {
    if (this.#fdClosed) return;
    this.#fdClosed = true;
    try {
      if (cut) ftruncateSync(this.#fd, this.#committed);
    } catch {
      // EIO and the like: the error being reported already says the file is in trouble
    } finally {
      try {
        closeSync(this.#fd);
      } catch {
        // a close error (EIO) changes nothing about what was written
      }
      this.#finish();
    }
  }
}

const EMPTY = Buffer.alloc(0);

// PcapWriter's output onto a Node stream: a regular file (fs stream) or a pipe on stdout.
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { PcapLoss } from './errors.js';
import { toWriteError, NO_LOSS, type OutputHooks, type PcapOutput } from './pcap-output.js';

/**
 * Writes each buffer as one `stream.write()`, so a record is never split by us. Counts what the
 * stream has not acknowledged yet; on an error that is what the reader never got (for a pipe on
 * stdout, bytes already in the pipe are not known and count as delivered).
 */
export class StreamOutput implements PcapOutput {
  readonly #stream: Writable;
  readonly #hooks: OutputHooks;
  #pendingBytes = 0;
  #pendingRecords = 0;
  #pendingRecordBytes = 0;
  #done = false; // failed or destroyed: callbacks that still arrive are ignored

  constructor(stream: Writable, hooks: OutputHooks) {
    this.#stream = stream;
    this.#hooks = hooks;
    stream.on('error', (err: unknown) => this.#fail(err));
  }

  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  get pendingRecords(): number {
    return this.#pendingRecords;
  }

  send(buf: Buffer, count: number): void {
    const len = buf.length;
    const recordBytes = count > 0 ? len : 0;
    this.#pendingBytes += len;
    this.#pendingRecords += count;
    this.#pendingRecordBytes += recordBytes;
    this.#stream.write(buf, (err) => {
      if (this.#done) return;
      if (err) {
        this.#fail(err);
        return;
      }
      this.#pendingBytes -= len;
      this.#pendingRecords -= count;
      this.#pendingRecordBytes -= recordBytes;
      this.#hooks.onProgress();
    });
  }

  async end(): Promise<void> {
    const stream = this.#stream;
    if (stream.closed) return;
    const closed = once(stream, 'close').catch(() => undefined); // errors go through #fail
    // destroy() after 'finish' also covers the fd-1 file stream, which never closes itself.
    if (!this.#done) stream.end(() => stream.destroy());
    else stream.destroy();
    await closed;
  }

  destroy(): PcapLoss {
    if (this.#done) {
      this.#stream.destroy();
      return NO_LOSS;
    }
    const loss = this.#drop();
    this.#stream.destroy();
    return loss;
  }

  finish(): Promise<PcapLoss> {
    // A pipe on stdout may be left with part of the buffer in progress (it is counted lost);
    // only the FIFO output can tell where its reader is.
    return Promise.resolve(this.destroy());
  }

  setRef(): void {
    // no timers of our own: the stream's pending writes keep the loop alive while they last
  }

  #drop(): PcapLoss {
    const loss = { lostRecords: this.#pendingRecords, lostBytes: this.#pendingRecordBytes };
    this.#done = true;
    this.#pendingBytes = 0;
    this.#pendingRecords = 0;
    this.#pendingRecordBytes = 0;
    return loss;
  }

  #fail(err: unknown): void {
    if (this.#done) return;
    const loss = this.#drop();
    this.#stream.destroy();
    this.#hooks.onError(toWriteError(err, loss));
  }
}

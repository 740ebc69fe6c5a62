import { EventEmitter, once } from 'node:events';
import {
  close as closeFd,
  constants as fsConstants,
  createWriteStream,
  fstatSync,
  open as openFd,
  type WriteStream,
} from 'node:fs';
import { stat } from 'node:fs/promises';
import { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { PcapWriteError } from './errors.js';
import { encodePcapHeader, type PcapHeaderOptions } from './header.js';
import { countRecords } from './records.js';

/** Where a {@link PcapWriter} writes: a named pipe, a regular file (or device), or fd 1. */
export type PcapWriterKind = 'fifo' | 'file' | 'stdout';

/** Default {@link PcapWriterOptions.highWaterMarkBytes}: 4 MiB. */
export const PCAP_WRITER_DEFAULT_HWM_BYTES = 4 * 1024 * 1024;

/** Default {@link PcapWriterOptions.retryMs}: 200 ms between FIFO open attempts. */
export const PCAP_WRITER_DEFAULT_RETRY_MS = 200;

/** Options for {@link PcapWriter.open}; header fields as in {@link encodePcapHeader}. */
export interface PcapWriterOptions extends PcapHeaderOptions {
  /** Aborting gives up waiting for a FIFO reader; `open()` then rejects with an AbortError. */
  signal?: AbortSignal;
  /** Milliseconds between attempts to open a FIFO that has no reader yet. Default 200. */
  retryMs?: number;
  /** `write()` returns false once this many bytes are queued. Default 4 MiB. */
  highWaterMarkBytes?: number;
}

/** An AbortError shaped like Node's own (name `AbortError`, code `ABORT_ERR`, reason as cause). */
function abortError(signal: AbortSignal): Error {
  const err = new Error('The operation was aborted', { cause: signal.reason });
  err.name = 'AbortError';
  (err as Error & { code: string }).code = 'ABORT_ERR';
  return err;
}

// The callback fs.open gives a bare fd. A FileHandle would close its fd when garbage-collected,
// pulling it out from under the net.Socket that owns it from then on.
const openFdAsync = promisify(openFd);
const closeFdAsync = promisify(closeFd);

function toWriteError(err: unknown): PcapWriteError {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'EPIPE') {
    return new PcapWriteError('ERR_PCAP_EPIPE', 'pcap reader went away (EPIPE)', { cause: err });
  }
  const why = err instanceof Error ? err.message : String(err);
  return new PcapWriteError('ERR_PCAP_WRITE', `pcap write failed: ${why}`, { cause: err });
}

/**
 * Open a FIFO for writing without blocking: with O_NONBLOCK, open(2) fails with ENXIO while no
 * process has the FIFO open for reading (fifo(7)), so we poll every `retryMs` instead of parking
 * a libuv threadpool thread in a blocking open that nothing could cancel.
 */
async function openFifo(
  path: string,
  retryMs: number,
  signal: AbortSignal | undefined,
): Promise<number> {
  for (;;) {
    if (signal?.aborted) throw abortError(signal);
    let fd: number | undefined;
    try {
      fd = await openFdAsync(path, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ENXIO') throw err;
    }
    if (fd !== undefined) {
      if (signal?.aborted) {
        await closeFdAsync(fd);
        throw abortError(signal);
      }
      return fd;
    }
    try {
      await sleep(retryMs, undefined, signal ? { signal } : undefined);
    } catch (err) {
      if (signal?.aborted) throw abortError(signal);
      throw err;
    }
  }
}

/** A libuv pipe stream on `fd`: writes are non-blocking, queue in JS, and fail with EPIPE. */
function pipeStream(fd: number): Socket {
  return new Socket({ fd, readable: false, writable: true });
}

async function fileStream(path: string | null, fd?: number): Promise<WriteStream> {
  const stream =
    fd === undefined
      ? createWriteStream(path ?? '', { flags: 'w' })
      : // fd 1 belongs to the process, not to us: never close it.
        createWriteStream('', { fd, autoClose: false });
  if (fd === undefined) await once(stream, 'open'); // rejects with the open(2) error (EACCES, ...)
  return stream;
}

/**
 * A live pcap stream onto a FIFO, a regular file or stdout.
 *
 * The global header is written first; after that {@link write} takes buffers of whole pcap
 * records (the shape the native addon and the wire format carry) and passes each as one buffer to
 * the underlying stream, so a reader never sees a partial record from us. FIFOs and pipes are
 * written through a libuv stream (`net.Socket`), so a slow reader gives back-pressure (`write()`
 * returns false, `'drain'` follows) rather than a blocked event loop.
 *
 * Events:
 * - `'error'` (PcapWriteError): `ERR_PCAP_EPIPE` when the reader went away, `ERR_PCAP_WRITE`
 *   otherwise; the writer is then dead (queued bytes are discarded) and the caller reopens. As
 *   with any EventEmitter, an `'error'` without a listener is thrown.
 * - `'drain'`: after `write()` returned false, the queue has fallen to half the high-water mark.
 *
 * Buffers given to `write()` are queued without copying: do not modify them afterwards.
 */
export class PcapWriter extends EventEmitter {
  readonly #stream: Writable;
  readonly #kind: PcapWriterKind;
  readonly #hwmBytes: number;
  #pendingBytes = 0;
  #needDrain = false;
  #dead = false;
  #closeRequested = false;
  #closing: Promise<void> | null = null;
  #error: PcapWriteError | null = null;

  private constructor(stream: Writable, kind: PcapWriterKind, hwmBytes: number) {
    super();
    this.#stream = stream;
    this.#kind = kind;
    this.#hwmBytes = hwmBytes;
    stream.on('error', (err: unknown) => this.#fail(err));
  }

  /**
   * Open `dest` and write the pcap global header.
   *
   * - `'-'`: stdout. A pipe or socket on fd 1 is wrapped in a `net.Socket` (async writes with
   *   back-pressure; closing the writer closes fd 1 so the reader sees EOF); anything else (a
   *   file, a tty) is written through an fs stream that leaves fd 1 open.
   * - a FIFO path: opened `O_WRONLY | O_NONBLOCK`; ENXIO (no reader yet) is retried every
   *   `retryMs` until a reader appears or `signal` aborts.
   * - any other path: created or truncated, written through `fs.createWriteStream`.
   *
   * @throws AbortError (code `ABORT_ERR`, `cause` the abort reason) if `signal` aborts first;
   *   the fs system error (`ENOENT`, `EACCES`, ...) if `dest` cannot be opened.
   */
  static async open(dest: string, options: PcapWriterOptions = {}): Promise<PcapWriter> {
    const {
      signal,
      retryMs = PCAP_WRITER_DEFAULT_RETRY_MS,
      highWaterMarkBytes = PCAP_WRITER_DEFAULT_HWM_BYTES,
      ...headerOptions
    } = options;
    const header = encodePcapHeader(headerOptions); // validates before anything is opened
    let stream: Writable;
    let kind: PcapWriterKind;
    if (dest === '-') {
      kind = 'stdout';
      const st = fstatSync(1);
      stream = st.isFIFO() || st.isSocket() ? pipeStream(1) : await fileStream(null, 1);
    } else {
      const st = await stat(dest).catch((err: unknown) => {
        if ((err as { code?: unknown }).code === 'ENOENT') return null;
        throw err;
      });
      if (st?.isFIFO()) {
        kind = 'fifo';
        stream = pipeStream(await openFifo(dest, retryMs, signal));
      } else {
        kind = 'file';
        stream = await fileStream(dest);
      }
    }
    const writer = new PcapWriter(stream, kind, highWaterMarkBytes);
    writer.#send(header);
    return writer;
  }

  /** What `dest` turned out to be: `'fifo'`, `'file'` or `'stdout'`. */
  get kind(): PcapWriterKind {
    return this.#kind;
  }

  /** Bytes handed to `write()` (and the header) that the OS has not yet accepted. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** The error that killed this writer, or null while it is alive. */
  get error(): PcapWriteError | null {
    return this.#error;
  }

  /**
   * Queue a buffer of whole pcap records (possibly empty). It is passed as one buffer to the
   * stream, so a record is never split by us.
   *
   * @returns false when the queue is at or above the high-water mark (wait for `'drain'`), and
   *   always false once the writer is dead or closing (the records are then discarded).
   * @throws PcapFormatError `ERR_PCAP_TRUNCATED` if `records` does not end on a record boundary.
   */
  write(records: Buffer): boolean {
    if (this.#dead || this.#closeRequested) return false;
    countRecords(records);
    if (records.length > 0) this.#send(records);
    if (this.#pendingBytes >= this.#hwmBytes) {
      this.#needDrain = true;
      return false;
    }
    return true;
  }

  /**
   * Flush what is queued and close the output. Safe to call more than once (every call returns
   * the same promise). Later `write()` calls return false.
   *
   * @throws PcapWriteError if flushing fails (for example `ERR_PCAP_EPIPE`); such an error is
   *   not also emitted as `'error'`. A writer that was already dead closes without error.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** Close the output at once, discarding anything queued. Emits nothing; safe to repeat. */
  destroy(): void {
    this.#closeRequested = true;
    this.#dead = true;
    this.#pendingBytes = 0;
    this.#stream.destroy();
  }

  async #close(): Promise<void> {
    const stream = this.#stream;
    const wasDead = this.#dead;
    this.#closeRequested = true;
    if (!stream.closed) {
      const closed = once(stream, 'close').catch(() => undefined); // errors go through #fail
      // destroy() after 'finish' also covers the fd-1 file stream, which never closes itself.
      if (!this.#dead) stream.end(() => stream.destroy());
      else stream.destroy();
      await closed;
    }
    if (!wasDead && this.#error) throw this.#error;
  }

  #send(buf: Buffer): void {
    const len = buf.length;
    this.#pendingBytes += len;
    this.#stream.write(buf, (err) => {
      if (this.#dead) return;
      if (err) {
        this.#fail(err);
        return;
      }
      this.#pendingBytes -= len;
      if (this.#needDrain && this.#pendingBytes <= this.#hwmBytes / 2) {
        this.#needDrain = false;
        this.emit('drain');
      }
    });
  }

  #fail(err: unknown): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#pendingBytes = 0;
    this.#error = toWriteError(err);
    this.#stream.destroy();
    if (!this.#closeRequested) this.emit('error', this.#error);
  }
}

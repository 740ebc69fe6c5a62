import { EventEmitter } from 'node:events';
import {
  closeSync,
  constants as fsConstants,
  createWriteStream,
  fstatSync,
  open as openCb,
  readSync,
} from 'node:fs';
import { stat } from 'node:fs/promises';
import { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { PCAP_HEADER_BYTES } from './constants.js';
import { PcapWriteError, type PcapLoss } from './errors.js';
import { FifoOutput, openFifoFds, waitReaderGone } from './fifo-output.js';
import { FileOutput } from './file-output.js';
import { encodePcapHeader, type PcapHeaderOptions } from './header.js';
import { NO_LOSS, type OutputHooks, type PcapOutput } from './pcap-output.js';
import { PIPE_MAX_REQUEST_BYTES, raisePipeSize, type PipeSizeOutcome } from './pipe-size.js';
import { countRecords } from './records.js';
import { StreamOutput } from './stream-output.js';

/** Where a {@link PcapWriter} writes: a named pipe, a regular file (or device), or fd 1. */
export type PcapWriterKind = 'fifo' | 'file' | 'stdout';

/** Default {@link PcapWriterOptions.highWaterMarkBytes}: 4 MiB. */
export const PCAP_WRITER_DEFAULT_HWM_BYTES = 4 * 1024 * 1024;

/** Default {@link PcapWriterOptions.retryMs}: 200 ms between FIFO open attempts. */
export const PCAP_WRITER_DEFAULT_RETRY_MS = 200;

/** Default {@link PcapWriterOptions.probeMs}: 200 ms between idle checks for a FIFO reader. */
export const PCAP_WRITER_DEFAULT_PROBE_MS = 200;

/** Default `timeoutMs` of {@link PcapWriter.waitReaderGone}: 5000 ms. */
export const PCAP_WRITER_DEFAULT_READER_GONE_MS = 5000;

/** Options for {@link PcapWriter.open}; header fields as in {@link encodePcapHeader}. */
export interface PcapWriterOptions extends PcapHeaderOptions {
  /** Aborting gives up waiting for a FIFO reader; `open()` then rejects with an AbortError. */
  signal?: AbortSignal;
  /** Milliseconds between attempts to open a FIFO that has no reader yet. Default 200. */
  retryMs?: number;
  /**
   * FIFO only: a writer with nothing to write checks every this many milliseconds that its
   * reader is still there (an O_NONBLOCK open(2) fails with ENXIO once none is), so a reader that
   * left is reported (`ERR_PCAP_EPIPE`) before a new reader could attach to the old pipe.
   * Default 200.
   */
  probeMs?: number;
  /** `write()` returns false once this many bytes are queued. Default 4 MiB. */
  highWaterMarkBytes?: number;
  /**
   * FIFO (and a pipe on stdout) only: raise the pipe's capacity to this many bytes after each
   * open (fcntl F_SETPIPE_SZ; the kernel rounds up to a power of two pages). Above
   * /proc/sys/fs/pipe-max-size, a process without CAP_SYS_RESOURCE gets pipe-max-size. A
   * refusal does not fail the open: {@link PcapWriter.pipe} says what the pipe got. Default:
   * leave the kernel's 64 KiB.
   */
  pipeSizeBytes?: number;
  /**
   * Regular files only: keep what is already in the file and append to it, when it starts with
   * exactly the header this writer would write (the same linktype, snaplen and resolution); an
   * absent or empty file gets a fresh header. The file must end on a record boundary, as every
   * file this writer left does (it cuts a failed write back). Default false: the file is
   * truncated and starts with a fresh header.
   */
  append?: boolean;
}

/** Options for {@link PcapWriter.waitReaderGone}. */
export interface PcapWaitReaderGoneOptions {
  /** Give up after this many milliseconds (resolving false). Default 5000. */
  timeoutMs?: number;
  /** Aborting rejects with an AbortError. */
  signal?: AbortSignal;
}

// The callback fs.open gives a bare fd (a FileHandle would close it when garbage-collected).
const openAsync = promisify(openCb);

/**
 * Open the regular file `path` for a writer: truncated (`append` false), or appended to when it
 * already starts with `header`. Returns the fd (owned by the caller), where writing starts, and
 * whether the header must still be written.
 *
 * @throws the open(2) error (ENOENT, EACCES, EISDIR, ...); PcapWriteError
 *   `ERR_PCAP_APPEND_MISMATCH` when appending to a file that starts with another header
 */
async function openFile(
  path: string,
  header: Buffer,
  append: boolean,
): Promise<{ fd: number; baseOffset: number; writeHeader: boolean }> {
  if (!append) return { fd: await openAsync(path, 'w'), baseOffset: 0, writeHeader: true };
  // Not O_APPEND: Linux's pwrite(2) would ignore the offset, and FileOutput writes at offsets.
  const fd = await openAsync(path, fsConstants.O_RDWR | fsConstants.O_CREAT);
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return { fd, baseOffset: 0, writeHeader: true };
    const head = Buffer.alloc(PCAP_HEADER_BYTES);
    const n = size >= PCAP_HEADER_BYTES ? readSync(fd, head, 0, PCAP_HEADER_BYTES, 0) : 0;
    if (n !== PCAP_HEADER_BYTES || !head.equals(header)) {
      throw new PcapWriteError(
        'ERR_PCAP_APPEND_MISMATCH',
        `${path} does not start with this stream's pcap header; not appending to it`,
      );
    }
    return { fd, baseOffset: size, writeHeader: false };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/**
 * A live pcap stream onto a FIFO, a regular file or stdout.
 *
 * The global header is written first; after that {@link write} takes buffers of whole pcap
 * records (the shape the native addon and the wire format carry), so a reader never sees a
 * partial record from us. Records already checked upstream come with their count and are not
 * walked again. Nothing blocks the event loop: a slow reader gives back-pressure
 * (`write()` returns false, `'drain'` follows).
 *
 * Every record given to `write()` ends up either delivered or lost, and losses are reported:
 * the `'error'` event's {@link PcapWriteError} (and a rejected `close()`) carries `lostRecords`
 * and `lostBytes`, and `destroy()` returns them. On a FIFO this is exact, including records the
 * reader left unread in the pipe, and that stale tail is read back out, so the next reader gets a
 * fresh pipe: header first, then whole records. A FIFO reader that leaves while nothing is being
 * written is noticed within about two `probeMs`.
 *
 * Events:
 * - `'error'` (PcapWriteError): `ERR_PCAP_EPIPE` when the reader went away, `ERR_PCAP_WRITE`
 *   otherwise; the writer is then dead (queued bytes are discarded) and the caller reopens. It is
 *   emitted asynchronously, also when a `write()` call found the reader gone. As with any
 *   EventEmitter, an `'error'` without a listener is thrown.
 * - `'drain'`: after `write()` returned false, the queue has fallen to half the high-water mark.
 *
 * Buffers given to `write()` are queued without copying: do not modify them afterwards.
 */
export class PcapWriter extends EventEmitter {
  readonly #out: PcapOutput;
  readonly #kind: PcapWriterKind;
  readonly #path: string | null;
  readonly #hwmBytes: number;
  readonly #retryMs: number;
  #needDrain = false;
  #dead = false;
  #inWrite = false;
  #closeRequested = false;
  #closing: Promise<void> | null = null;
  #error: PcapWriteError | null = null;
  #pipe: PipeSizeOutcome | null = null;

  private constructor(
    kind: PcapWriterKind,
    path: string | null,
    options: { hwmBytes: number; retryMs: number },
    makeOutput: (hooks: OutputHooks) => PcapOutput,
  ) {
    super();
    this.#kind = kind;
    this.#path = path;
    this.#hwmBytes = options.hwmBytes;
    this.#retryMs = options.retryMs;
    this.#out = makeOutput({
      onProgress: () => this.#progress(),
      onError: (err) => this.#fail(err),
    });
  }

  /**
   * Open `dest` and write the pcap global header.
   *
   * - `'-'`: stdout. A pipe or socket on fd 1 is wrapped in a `net.Socket` (async writes with
   *   back-pressure; closing the writer closes fd 1 so the reader sees EOF); anything else (a
   *   file, a tty) is written through an fs stream that leaves fd 1 open.
   * - a FIFO path: as {@link openFifo}.
   * - any other path: created or truncated (or, with `append`, appended to), written with
   *   positional writev(2) on an fd the writer owns: a write that fails (a full disk) is cut
   *   back to the last whole record before `'error'`, and so is what `destroy()` drops, so the
   *   file never ends mid-record.
   *
   * @throws AbortError (code `ABORT_ERR`, `cause` the abort reason) if `signal` aborts first;
   *   the fs system error (`ENOENT`, `EACCES`, ...) if `dest` cannot be opened; PcapWriteError
   *   `ERR_PCAP_APPEND_MISMATCH` (with `append`) if the file starts with another header.
   */
  static async open(dest: string, options: PcapWriterOptions = {}): Promise<PcapWriter> {
    const { header, hwmBytes, retryMs } = PcapWriter.#settings(options);
    if (dest === '-') {
      const st = fstatSync(1);
      const pipe =
        st.isFIFO() && options.pipeSizeBytes !== undefined
          ? raisePipeSize(1, options.pipeSizeBytes)
          : null;
      const stream: Writable =
        st.isFIFO() || st.isSocket()
          ? new Socket({ fd: 1, readable: false, writable: true })
          : // fd 1 belongs to the process, not to us: never close it.
            createWriteStream('', { fd: 1, autoClose: false });
      const writer = new PcapWriter(
        'stdout',
        null,
        { hwmBytes, retryMs },
        (hooks) => new StreamOutput(stream, hooks),
      );
      writer.#pipe = pipe;
      writer.#out.send(header, 0);
      return writer;
    }
    const st = await stat(dest).catch((err: unknown) => {
      if ((err as { code?: unknown }).code === 'ENOENT') return null;
      throw err;
    });
    if (st?.isFIFO()) return PcapWriter.openFifo(dest, options);
    const { fd, baseOffset, writeHeader } = await openFile(dest, header, options.append === true);
    const writer = new PcapWriter(
      'file',
      dest,
      { hwmBytes, retryMs },
      (hooks) => new FileOutput(fd, baseOffset, hooks),
    );
    if (writeHeader) writer.#out.send(header, 0);
    return writer;
  }

  /**
   * Open the FIFO at `path` and write the pcap global header. It is opened
   * `O_WRONLY | O_NONBLOCK`; ENXIO (no reader yet) is retried every `retryMs` until a reader
   * appears or `signal` aborts. Unlike {@link open}, never creates a file.
   *
   * @throws AbortError (code `ABORT_ERR`) if `signal` aborts first; PcapWriteError
   *   `ERR_PCAP_NOT_FIFO` if `path` is something else; the open(2) error (`ENOENT`, `EACCES`).
   */
  static async openFifo(path: string, options: PcapWriterOptions = {}): Promise<PcapWriter> {
    const { header, hwmBytes, retryMs } = PcapWriter.#settings(options);
    const probeMs = options.probeMs ?? PCAP_WRITER_DEFAULT_PROBE_MS;
    const fds = await openFifoFds(path, retryMs, options.signal, options.pipeSizeBytes);
    const writer = new PcapWriter(
      'fifo',
      path,
      { hwmBytes, retryMs },
      (hooks) => new FifoOutput(path, fds, probeMs, hooks),
    );
    writer.#pipe = fds.pipe;
    writer.#out.send(header, 0);
    return writer;
  }

  static #settings(options: PcapWriterOptions): {
    header: Buffer;
    hwmBytes: number;
    retryMs: number;
  } {
    const { linktype, snaplen, nanosecond, pipeSizeBytes } = options;
    if (
      pipeSizeBytes !== undefined &&
      !(
        Number.isInteger(pipeSizeBytes) &&
        pipeSizeBytes >= 1 &&
        pipeSizeBytes <= PIPE_MAX_REQUEST_BYTES
      )
    )
      throw new RangeError(
        `pipeSizeBytes must be an integer of 1..${PIPE_MAX_REQUEST_BYTES}: ${pipeSizeBytes}`,
      );
    return {
      // validates before anything is opened
      header: encodePcapHeader({ linktype, snaplen, nanosecond }),
      hwmBytes: options.highWaterMarkBytes ?? PCAP_WRITER_DEFAULT_HWM_BYTES,
      retryMs: options.retryMs ?? PCAP_WRITER_DEFAULT_RETRY_MS,
    };
  }

  /** What `dest` turned out to be: `'fifo'`, `'file'` or `'stdout'`. */
  get kind(): PcapWriterKind {
    return this.#kind;
  }

  /** Bytes handed to `write()` (and the header) that the OS has not yet accepted. */
  get pendingBytes(): number {
    return this.#dead ? 0 : this.#out.pendingBytes;
  }

  /** Records handed to `write()` whose last byte the OS has not yet accepted. */
  get pendingRecords(): number {
    return this.#dead ? 0 : this.#out.pendingRecords;
  }

  /**
   * What raising the pipe did at open (`pipeSizeBytes`): the capacity it got and, when less
   * than asked, why (`limitedBy`). Null without `pipeSizeBytes`, or when the output is no pipe.
   */
  get pipe(): PipeSizeOutcome | null {
    return this.#pipe;
  }

  /** The error that killed this writer, or null while it is alive. */
  get error(): PcapWriteError | null {
    return this.#error;
  }

  /**
   * Queue a buffer of whole pcap records (possibly empty). A record is never split by us. On a
   * FIFO the bytes go to the pipe at once when it has room; what it does not take waits.
   *
   * Without `count` the records are walked once to count them and to refuse a buffer that does
   * not end on a record boundary. With `count` they are trusted: pass it only for records that
   * were already walked and checked (e.g. by `decodeFrame`/`validateRecords` of
   * `@nflog-pipe/shared`), so the packet path walks each batch once. The writer never cuts a
   * buffer it took, so whole records in are whole records out either way; `count` only feeds
   * `pendingRecords` and the loss counts.
   *
   * @param records whole pcap records in the header's byte order and resolution
   * @param count the number of records in `records`, when already known
   * @returns false when the queue is at or above the high-water mark (wait for `'drain'`), and
   *   always false once the writer is dead or closing (the records are then discarded and not
   *   counted in any loss: they were never taken).
   * @throws PcapFormatError `ERR_PCAP_TRUNCATED` if, without `count`, `records` does not end on
   *   a record boundary.
   */
  write(records: Buffer, count?: number): boolean {
    if (this.#dead || this.#closeRequested) return false;
    const n = count ?? countRecords(records);
    if (records.length > 0) {
      this.#inWrite = true;
      try {
        this.#out.send(records, n);
      } finally {
        this.#inWrite = false;
      }
    }
    if (this.#dead) return false; // the reader was found gone; 'error' follows
    if (this.#out.pendingBytes >= this.#hwmBytes) {
      this.#needDrain = true;
      return false;
    }
    return true;
  }

  /**
   * Flush what is queued and close the output. Safe to call more than once (every call returns
   * the same promise). Later `write()` calls return false. On a FIFO, bytes already in the pipe
   * stay readable: the reader gets them, then EOF.
   *
   * @throws PcapWriteError if flushing fails (for example `ERR_PCAP_EPIPE`, with the loss), or,
   *   on a FIFO, if the reader had already left without all of the stream; such an error is not
   *   also emitted as `'error'`. A writer that was already dead closes without error.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /**
   * Close the output at once, discarding anything queued. Emits nothing; safe to repeat.
   *
   * @returns the records given to `write()` that the OS had not taken whole and that are now
   *   lost (zero when already closed or dead). On a FIFO, what the pipe took stays readable.
   */
  destroy(): PcapLoss {
    this.#closeRequested = true;
    if (this.#dead) {
      this.#out.destroy(); // idempotent; releases what a failed output may still hold
      return NO_LOSS;
    }
    this.#dead = true;
    return this.#out.destroy();
  }

  /**
   * Close at the next record boundary, for a stop that cannot wait for a slow reader: what is
   * queued beyond the record being written is dropped, that record gets up to `timeoutMs` to
   * reach the reader whole, then the output closes. On a FIFO the reader so never ends with a
   * partial record unless it takes nothing at all for `timeoutMs`; a file is cut back to its
   * last whole record; on stdout it is `destroy()`. May follow {@link close} (whose promise then
   * settles too); emits nothing.
   *
   * @returns the records dropped (and the one cut, after a timeout): they never reached the
   *   reader whole. A reader that left meanwhile is reported by `close()`'s rejection instead.
   */
  async finish(timeoutMs: number): Promise<PcapLoss> {
    this.#closeRequested = true;
    if (this.#dead) {
      this.#out.destroy();
      return NO_LOSS;
    }
    const loss = await this.#out.finish(timeoutMs);
    this.#dead = true;
    return loss;
  }

  /**
   * FIFO only (other kinds resolve true at once): after {@link close}, wait until the reader has
   * closed its end, probing every `retryMs`. Opening the FIFO again before that would append a
   * new stream to what the old reader is still reading instead of giving it EOF.
   *
   * @returns true once no reader is left, false if one still is after `timeoutMs`.
   * @throws AbortError (code `ABORT_ERR`) if `signal` aborts.
   */
  waitReaderGone(options: PcapWaitReaderGoneOptions = {}): Promise<boolean> {
    if (this.#kind !== 'fifo' || this.#path === null) return Promise.resolve(true);
    const { timeoutMs = PCAP_WRITER_DEFAULT_READER_GONE_MS, signal } = options;
    return waitReaderGone(this.#path, this.#retryMs, timeoutMs, signal);
  }

  /**
   * Let this writer keep the event loop alive while it is open (the default). Only a FIFO writer
   * has anything that would: its idle check for a departed reader (`probeMs`).
   */
  ref(): this {
    this.#out.setRef(true);
    return this;
  }

  /** Let the process exit while this writer is open and idle (pending writes still hold it). */
  unref(): this {
    this.#out.setRef(false);
    return this;
  }

  async #close(): Promise<void> {
    const wasDead = this.#dead;
    this.#closeRequested = true;
    if (wasDead) {
      // Releases what a failed output still holds; a file is cut back to its last whole record.
      this.#out.destroy();
      await this.#out.end();
      return;
    }
    await this.#out.end();
    if (this.#error) throw this.#error;
  }

  #progress(): void {
    if (!this.#needDrain || this.#out.pendingBytes > this.#hwmBytes / 2) return;
    this.#needDrain = false;
    // Never from inside write(): the caller is not waiting for it yet.
    if (this.#inWrite) process.nextTick(() => this.emit('drain'));
    else this.emit('drain');
  }

  #fail(err: PcapWriteError): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#error = err;
    if (!this.#closeRequested) process.nextTick(() => this.emit('error', err));
  }
}

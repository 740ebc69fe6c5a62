// A rotated set of pcap files (`--rotate-dir`, `--rotate-size`, `--rotate-seconds`), like
// tcpdump's -C/-G: each file a complete pcap with its own header, cut at record boundaries, a
// new one after so many bytes or seconds. Each file is written by a FileSink (pcap-writer's
// positional writes: a full disk cuts it back to its last whole record and retries), so this
// file only decides where one file ends and the next begins.

import { constants as fsConstants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PCAP_HEADER_BYTES, recordEnd } from '@nflog-pipe/pcap-writer';
import { ReceiverError } from './errors.js';
import { FileSink } from './file-sink.js';
import type { PcapSink, PcapSinkOptions, PcapSinkStats } from './pcap-sink.js';
import { SinkLedger } from './sink-ledger.js';

/** Default ms between attempts to open the next file after an attempt failed. */
export const ROTATE_RETRY_MS = 1000;

/** Options of {@link RotatingFileSink.open}. */
export interface RotatingFileSinkOptions extends PcapSinkOptions {
  /** Directory the files are created in (must exist and be writable). */
  dir: string;
  /**
   * Most bytes of one file, its 24-byte header included; 0 = no size limit. A record larger
   * than a whole file gets a file of its own (a record is never split).
   */
  maxFileBytes: number;
  /** A file is closed this many ms after it was opened; 0 = no time limit. */
  intervalMs: number;
  /** How long closing a finished file may take to write what it holds, ms. */
  closeFlushMs: number;
  /** First part of every file name. Default `nflog`. */
  prefix?: string;
  /** Wall clock, ms since the epoch (names and intervals). Default Date.now. */
  now?: () => number;
}

/** What one finished (or current) file holds, for tests and the closing log line. */
export interface RotatedFile {
  path: string;
  /** Bytes handed to it (header included). */
  bytes: number;
}

/**
 * A {@link PcapSink} writing a sequence of pcap files in `dir`, named
 * `PREFIX-YYYYMMDDTHHMMSSZ-NNNNNN.pcap`: the UTC time the file was opened and a counter, so
 * the names sort in time order (a name that exists already is skipped, never overwritten). A
 * file is opened when the first batch for it arrives (an idle receiver makes no empty files)
 * and closed when the next batch would take it past `maxFileBytes` (the batch is split at a
 * record boundary: its first records end this file, the rest begin the next) or `intervalMs`
 * after it was opened (a timer, so a quiet feed still gets its file closed on time). SIGHUP
 * (`reopen()`) closes the current file at once.
 *
 * Every record pushed ends up in exactly one file or counted lost: while the next file is
 * opening, batches wait in a queue bounded by `queueBytes` (beyond it they are dropped and
 * counted, `queue-full`); each FileSink counts what it cannot write (a full disk); a file that
 * cannot be opened loses what waited for it (`output-error`, warned once per failure episode)
 * and is tried again after `retryMs`. Counters are the sum over every file.
 */
export class RotatingFileSink implements PcapSink {
  readonly #opts: RotatingFileSinkOptions;
  readonly #now: () => number;
  readonly #prefix: string;
  readonly #retryMs: number;
  /** Batches waiting for the next file to open; its counters are the sum over every file. */
  readonly #ledger: SinkLedger;
  #current: FileSink | null = null;
  #currentPath = '';
  #currentBytes = 0;
  #opening: Promise<void> | null = null;
  #retryAtMs = 0;
  #warnedOpen = false;
  #timer: NodeJS.Timeout | null = null;
  #closingFiles = new Set<Promise<void>>();
  #files: RotatedFile[] = [];
  #seq = 0;
  #closed: Promise<void> | null = null;

  private constructor(options: RotatingFileSinkOptions) {
    this.#opts = options;
    this.#now = options.now ?? Date.now;
    this.#prefix = options.prefix ?? 'nflog';
    this.#retryMs = options.retryMs ?? ROTATE_RETRY_MS;
    this.#ledger = new SinkLedger(options);
  }

  /**
   * Check that `dir` is a directory this process may create files in; no file is created until
   * the first batch.
   *
   * @throws ReceiverError `ERR_RECV_OUTPUT` naming the directory and the errno code
   */
  static async open(options: RotatingFileSinkOptions): Promise<RotatingFileSink> {
    const dir = options.dir;
    const fail = (why: string, cause?: unknown): never => {
      throw new ReceiverError('ERR_RECV_OUTPUT', `--rotate-dir ${dir}: ${why}`, { cause });
    };
    const st = await stat(dir).catch((err: unknown) =>
      fail(`cannot be reached (${codeOf(err)})`, err),
    );
    if (!st.isDirectory()) fail('not a directory (ENOTDIR)');
    await access(dir, fsConstants.W_OK | fsConstants.X_OK).catch((err: unknown) =>
      fail(`no file can be created in it (${codeOf(err)})`, err),
    );
    return new RotatingFileSink(options);
  }

  /** The files opened so far, oldest first, with the bytes handed to each. */
  get files(): readonly RotatedFile[] {
    return this.#files;
  }

  push(records: Buffer, count: number): boolean {
    if (count === 0) return true;
    if (this.#closed !== null) return false;
    return this.#route(records, count);
  }

  /** Write a batch into the current file, cutting files where the size limit falls. */
  #route(records: Buffer, count: number): boolean {
    const max = this.#opts.maxFileBytes;
    let offset = 0;
    let left = count;
    while (left > 0) {
      if (this.#current === null) return this.#wait(records.subarray(offset), left);
      const room = max > 0 ? max - this.#currentBytes : Infinity;
      const rest = records.length - offset;
      if (rest <= room) {
        this.#write(offset === 0 ? records : records.subarray(offset), left);
        return true;
      }
      // The records that still fit this file (a walk of this batch only here).
      let end = offset;
      let n = 0;
      for (let e; n < left && (e = recordEnd(records, end)) - offset <= room; end = e) n++;
      if (n === 0 && this.#currentBytes === PCAP_HEADER_BYTES) {
        end = recordEnd(records, offset); // larger than a whole file: it gets one of its own
        n = 1;
      }
      if (n > 0) this.#write(records.subarray(offset, end), n);
      offset = end;
      left -= n;
      this.#finishCurrent();
    }
    return true;
  }

  #write(records: Buffer, count: number): void {
    this.#currentBytes += records.length;
    this.#files[this.#files.length - 1]!.bytes = this.#currentBytes;
    this.#current!.push(records, count);
  }

  /** Keep a batch for the file being opened (opening it now if need be). */
  #wait(records: Buffer, count: number): boolean {
    if (this.#ledger.queuedBytes + records.length > this.#opts.queueBytes) {
      this.#ledger.lose(count, 'queue-full');
      return false;
    }
    this.#ledger.enqueue(records, count);
    if (this.#opening === null && this.#now() >= this.#retryAtMs) this.#opening = this.#openNext();
    return true;
  }

  async #openNext(): Promise<void> {
    let path = '';
    let sink: FileSink | null = null;
    try {
      path = await this.#nextPath();
      sink = await FileSink.open(path, {
        linktype: this.#opts.linktype,
        nanosecond: this.#opts.nanosecond,
        queueBytes: this.#opts.queueBytes,
        logger: this.#opts.logger,
        ...(this.#opts.retryMs !== undefined ? { retryMs: this.#opts.retryMs } : {}),
        onOut: (packets, bytes) => this.#ledger.outCounts(packets, bytes),
        onLost: (packets, why) => this.#ledger.lose(packets, why),
      });
    } catch (err) {
      this.#opening = null;
      this.#retryAtMs = this.#now() + this.#retryMs;
      if (!this.#warnedOpen) {
        this.#warnedOpen = true;
        this.#opts.logger.warn(
          'cannot open the next rotated pcap file; what waits for it is dropped (counted), retrying (warned once until a file opens)',
          { dir: this.#opts.dir, err },
        );
      }
      this.#ledger.dropQueue('output-error');
      return;
    }
    this.#opening = null;
    this.#warnedOpen = false;
    this.#current = sink;
    this.#currentPath = path;
    this.#currentBytes = PCAP_HEADER_BYTES;
    this.#files.push({ path, bytes: PCAP_HEADER_BYTES });
    this.#ledger.opened();
    this.#opts.logger.info('rotated pcap file opened', { path });
    // (A close() that came while this opened waits for it, then closes this file.)
    if (this.#opts.intervalMs > 0 && this.#closed === null) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#finishCurrent();
      }, this.#opts.intervalMs);
      this.#timer.unref();
    }
    for (const b of this.#ledger.takeQueue()) this.#route(b.records, b.count);
  }

  /** A name no file has yet: the time now and the next counter value. */
  async #nextPath(): Promise<string> {
    const time = new Date(this.#now())
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    for (;;) {
      this.#seq++;
      const path = join(
        this.#opts.dir,
        `${this.#prefix}-${time}-${String(this.#seq).padStart(6, '0')}.pcap`,
      );
      const exists = await stat(path).then(
        () => true,
        () => false,
      );
      if (!exists) return path;
    }
  }

  /** Close the current file (in the background); the next batch opens the next one. */
  #finishCurrent(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const sink = this.#current;
    if (sink === null) return;
    this.#current = null;
    const path = this.#currentPath;
    const bytes = this.#currentBytes;
    const closing = sink.close(this.#opts.closeFlushMs).then(() => {
      this.#closingFiles.delete(closing);
      this.#opts.logger.info('rotated pcap file closed', { path, bytes });
    });
    this.#closingFiles.add(closing);
  }

  reopen(): void {
    this.#finishCurrent();
  }

  stats(): PcapSinkStats {
    const s = this.#ledger.stats();
    const cur = this.#current?.stats();
    return {
      ...s,
      queuedPackets: s.queuedPackets + (cur?.queuedPackets ?? 0),
      queuedBytes: s.queuedBytes + (cur?.queuedBytes ?? 0),
    };
  }

  /** What a drop warning reports about this output. */
  state(): Record<string, string | number> {
    return { dir: this.#opts.dir, file: this.#currentPath, files: this.#files.length };
  }

  close(flushMs: number): Promise<void> {
    this.#closed ??= this.#close(flushMs);
    return this.#closed;
  }

  async #close(flushMs: number): Promise<void> {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#opening;
    const sink = this.#current;
    this.#current = null;
    this.#ledger.dropQueue('shutdown');
    if (sink !== null) {
      await sink.close(flushMs);
      this.#opts.logger.info('rotated pcap file closed', {
        path: this.#currentPath,
        bytes: this.#currentBytes,
      });
    }
    await Promise.all(this.#closingFiles);
  }
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'error';
}

import { statSync } from 'node:fs';
import { stat, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PcapWriter, type PcapWriteError } from '@nflog-pipe/pcap-writer';
import type { PcapSink, PcapSinkOptions, PcapSinkStats } from './pcap-sink.js';
import { SinkLedger } from './sink-ledger.js';

/** Default ms between attempts to write a file output again after a write failed. */
export const FILE_SINK_RETRY_MS = 1000;

/**
 * A {@link PcapSink} onto a regular file or stdout (`-`), through {@link PcapWriter}. While the
 * writer signals back-pressure, whole batches wait in a queue bounded by `queueBytes`; beyond it
 * they are dropped and counted. A stdout reader that goes away (EPIPE) ends the sink cleanly
 * (`onEnd(null)`): there is nothing to reopen; another stdout error ends it with the error.
 *
 * A file that cannot be written (a full disk, EIO, a quota) does not end anything: the writer
 * cuts the file back to its last whole record and hands back the batches it had not written,
 * which go back to the front of the queue (out again until written); a warning is logged once,
 * batches queue up (bounded, as above, plus what the writer handed back) and the file is tried
 * again every `retryMs` once its file system has room: appended to when the path is still that
 * file, or started afresh (header first) when it was rotated away. Only what does not fit the
 * queue meanwhile is lost (`queue-full`). So the file holds whole records only, exactly
 * `outPackets` of them once the sink is closed.
 *
 * SIGHUP (`reopen()`) on a file that was renamed or removed (log rotation) flushes, closes and
 * starts a fresh pcap at the path; if the path is still the file being written, nothing is
 * truncated and writing goes on.
 */
export class FileSink implements PcapSink {
  readonly #dest: string;
  readonly #opts: PcapSinkOptions;
  readonly #retryMs: number;
  #writer: PcapWriter | null = null;
  /** The writer that failed last; closing it waits until it has cut the file back. */
  #failed: PcapWriter | null = null;
  /** dev:ino of the file being written, to tell a rotated path from the same file. */
  #fileId: string | null = null;
  #opening: Promise<void> = Promise.resolve();
  /** Its queue holds batches waiting out the writer's back-pressure or a failed output. */
  readonly #ledger: SinkLedger;
  #blocked = false;
  #ended = false;
  #closed: Promise<void> | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #warnedFault = false;
  /** The sink's lost count when the output failed (null while it works), for the "writable again" line. */
  #lostAtFault: number | null = null;

  private constructor(dest: string, options: PcapSinkOptions) {
    this.#dest = dest;
    this.#opts = options;
    this.#retryMs = options.retryMs ?? FILE_SINK_RETRY_MS;
    this.#ledger = new SinkLedger(options);
  }

  /**
   * Open `dest` (a regular file path, created or truncated, or `-` for stdout) and write the
   * pcap header.
   *
   * @throws the open error (ENOENT, EACCES, EISDIR, ...): nothing is left open then.
   */
  static async open(dest: string, options: PcapSinkOptions): Promise<FileSink> {
    const sink = new FileSink(dest, options);
    await sink.#attach(false);
    return sink;
  }

  /** Open a writer (appending to the file it had, when `append`) and start using it. */
  async #attach(append: boolean): Promise<void> {
    const writer = await PcapWriter.open(this.#dest, {
      linktype: this.#opts.linktype,
      nanosecond: this.#opts.nanosecond,
      append,
    });
    writer.on('error', (err: PcapWriteError) => this.#writeFailed(writer, err));
    writer.on('drain', () => {
      if (this.#writer !== writer) return;
      this.#blocked = false;
      this.#flush();
    });
    this.#writer = writer;
    this.#blocked = false;
    this.#fileId = this.#dest === '-' ? null : fileId(await stat(this.#dest).catch(() => null));
    this.#ledger.opened();
    this.#flush();
  }

  #writeFailed(writer: PcapWriter, err: PcapWriteError): void {
    if (this.#writer !== writer) return;
    this.#writer = null;
    this.#failed = writer;
    if (this.#dest === '-') {
      this.#ledger.settle(err, 'reader-gone');
      this.#end(err.code === 'ERR_PCAP_EPIPE' ? null : err);
      return;
    }
    // The writer has cut the file back to its last whole record and hands back what it had not
    // written: that waits for the retry, in order, ahead of what came since.
    this.#ledger.settle(err, 'output-error');
    this.#ledger.requeue(err.unwritten);
    this.#lostAtFault ??= this.#ledger.stats().lostPackets - err.lostRecords;
    if (!this.#warnedFault) {
      this.#warnedFault = true;
      this.#opts.logger.warn(
        'cannot write the pcap output; ingestion, the ring and queries go on, retrying (lost records counted in loss_fifo_pkt; warned once)',
        { dest: this.#dest, err },
      );
    }
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#ended || this.#closed !== null || this.#retryTimer !== null) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#opening = this.#retry();
    }, this.#retryMs);
  }

  /** One attempt to write the file again; schedules the next one if it cannot yet. */
  async #retry(): Promise<void> {
    if (this.#ended || this.#closed !== null) return;
    // Retry only once the file system has room for the oldest waiting batch: writing into a
    // disk that is still full would only lose that batch as well.
    const need = Math.max(4096, this.#ledger.peek()?.records.length ?? 0);
    const fs = await statfs(dirname(this.#dest)).catch(() => null);
    if (fs !== null && fs.bavail * fs.bsize < need) {
      this.#scheduleRetry();
      return;
    }
    // The failed writer cuts the file back to its last whole record before its close resolves.
    await this.#failed?.close().catch(() => undefined);
    this.#failed = null;
    let same = false;
    try {
      same = this.#fileId !== null && fileId(statSync(this.#dest)) === this.#fileId;
    } catch {
      // gone (rotated away while the disk was full): start a fresh pcap at the path
    }
    try {
      await this.#attach(same);
    } catch (err) {
      this.#opts.logger.debug('pcap output still not writable', { dest: this.#dest, err });
      this.#scheduleRetry();
      return;
    }
    this.#opts.logger.info('pcap output writable again', {
      dest: this.#dest,
      appended: same,
      lost_pkt: this.#ledger.stats().lostPackets - (this.#lostAtFault ?? 0),
    });
    this.#lostAtFault = null;
  }

  #end(err: Error | null): void {
    if (this.#ended) return;
    this.#ended = true;
    if (err) this.#opts.logger.error('cannot write the pcap output', { dest: this.#dest, err });
    else this.#opts.logger.info('pcap output reader went away', { dest: this.#dest });
    this.#opts.onEnd?.(err);
  }

  push(records: Buffer, count: number): boolean {
    if (count === 0) return true;
    if (this.#ended || this.#closed !== null) return false;
    if (this.#writable() && this.#ledger.queuedBatches === 0) {
      this.#write(records, count);
      return true;
    }
    if (this.#ledger.queuedBytes + records.length > this.#opts.queueBytes) {
      this.#ledger.lose(count, 'queue-full');
      return false;
    }
    this.#ledger.enqueue(records, count);
    return true;
  }

  /** A live writer without back-pressure (one that just failed takes nothing; 'error' follows). */
  #writable(): boolean {
    return this.#writer !== null && this.#writer.error === null && !this.#blocked;
  }

  #write(records: Buffer, count: number): void {
    // Checked and counted by the decoder: the writer takes the count, no second walk.
    if (!this.#writer!.write(records, count)) this.#blocked = true;
    this.#ledger.out(records, count);
  }

  #flush(): void {
    while (this.#writable() && this.#ledger.queuedBatches > 0) {
      const b = this.#ledger.dequeue()!;
      this.#write(b.records, b.count);
    }
  }

  reopen(): void {
    if (this.#dest === '-' || this.#writer === null || this.#ended) return;
    let now: string | null = null;
    try {
      now = fileId(statSync(this.#dest));
    } catch {
      // Gone (rotated away): reopen creates it.
    }
    if (now !== null && now === this.#fileId) {
      // Reopening would truncate the capture in place; rotation renames the file first.
      this.#opts.logger.info('SIGHUP: the path is still the file being written; kept', {
        dest: this.#dest,
      });
      return;
    }
    const old = this.#writer;
    this.#writer = null;
    this.#blocked = false;
    this.#opening = old
      .close()
      .catch((err: unknown) => {
        this.#ledger.settle(err as PcapWriteError, 'output-error');
        this.#opts.logger.warn('closing the pcap file failed', { err });
      })
      .then(() => this.#attach(false))
      .catch((err: unknown) => {
        this.#opts.logger.warn('cannot open the pcap output after SIGHUP; retrying', {
          dest: this.#dest,
          err,
        });
        this.#scheduleRetry();
      });
    this.#opts.logger.info('pcap file reopened on request', { dest: this.#dest });
  }

  stats(): PcapSinkStats {
    return this.#ledger.stats();
  }

  state(): Record<string, string | number> {
    const writer = this.#writer;
    return {
      // "blocked": the reader (stdout) or the disk is slower than the traffic.
      writer: writer === null ? 'failed' : this.#blocked ? 'blocked' : 'writing',
      held_bytes: this.#ledger.queuedBytes + (writer?.pendingBytes ?? 0),
      limit_bytes: this.#opts.queueBytes,
    };
  }

  close(flushMs: number): Promise<void> {
    this.#closed ??= this.#close(flushMs);
    return this.#closed;
  }

  async #close(flushMs: number): Promise<void> {
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    await this.#opening;
    this.#flush();
    this.#ledger.dropQueue('shutdown');
    const writer = this.#writer;
    this.#writer = null;
    if (writer === null) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), flushMs);
    });
    try {
      const r = await Promise.race([writer.close().then(() => 'closed' as const), timedOut]);
      // destroy() cuts a file back to its last whole record: what it drops is counted lost.
      if (r === 'timeout') this.#ledger.settle(writer.destroy(), 'shutdown');
    } catch (err) {
      // close() rejects only with the writer's PcapWriteError (its code is pcap-writer's).
      const writeErr = err as PcapWriteError;
      const gone = writeErr.code === 'ERR_PCAP_EPIPE';
      this.#ledger.settle(writeErr, gone ? 'reader-gone' : 'output-error');
      if (!gone) this.#opts.logger.warn('flushing the pcap output failed', { err });
    } finally {
      clearTimeout(timer);
    }
  }
}

function fileId(st: { dev: number; ino: number } | null): string | null {
  return st === null ? null : `${st.dev}:${st.ino}`;
}

import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { PcapWriter, type PcapWriteError } from '@nflog-pipe/pcap-writer';
import type { PcapSink, PcapSinkOptions, PcapSinkStats } from './pcap-sink.js';
import { SinkLedger } from './sink-ledger.js';

/**
 * A {@link PcapSink} onto a regular file or stdout (`-`), through {@link PcapWriter}. While the
 * writer signals back-pressure, whole batches wait in a queue bounded by `queueBytes`; beyond it
 * they are dropped and counted. A stdout reader that goes away (EPIPE) ends the sink cleanly
 * (`onEnd(null)`): there is nothing to reopen. A file write error ends it with the error.
 * SIGHUP (`reopen()`) on a file that was renamed or removed (log rotation) flushes, closes and
 * starts a fresh pcap at the path; if the path is still the file being written, nothing is
 * truncated and writing goes on.
 * Batches count as out when handed to the writer; those it reports lost (not yet accepted by the
 * OS when the output failed, or when `close()` ran out of time) move from out to lost.
 */
export class FileSink implements PcapSink {
  readonly #dest: string;
  readonly #opts: PcapSinkOptions;
  #writer: PcapWriter | null = null;
  /** dev:ino of the file being written, to tell a rotated path from the same file. */
  #fileId: string | null = null;
  #opening: Promise<void> | null = null;
  /** Its queue holds batches waiting out the writer's back-pressure. */
  readonly #ledger: SinkLedger;
  #blocked = false;
  #ended = false;
  #closed: Promise<void> | null = null;

  /** Opens `dest` (a regular file path, or `-` for stdout) in the background. */
  constructor(dest: string, options: PcapSinkOptions) {
    this.#dest = dest;
    this.#opts = options;
    this.#ledger = new SinkLedger(options);
    this.#opening = this.#open();
  }

  async #open(): Promise<void> {
    try {
      const writer = await PcapWriter.open(this.#dest, {
        linktype: this.#opts.linktype,
        nanosecond: this.#opts.nanosecond,
      });
      writer.on('error', (err: PcapWriteError) => {
        if (this.#writer !== writer) return;
        this.#writer = null;
        this.#ledger.settle(err, 'reader-gone');
        this.#end(this.#dest === '-' && err.code === 'ERR_PCAP_EPIPE' ? null : err);
      });
      writer.on('drain', () => {
        this.#blocked = false;
        this.#flush();
      });
      this.#writer = writer;
      this.#fileId = this.#dest === '-' ? null : fileId(await stat(this.#dest).catch(() => null));
      this.#ledger.opened();
      this.#flush();
    } catch (err) {
      this.#end(err as Error);
    }
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
        this.#ledger.settle(err as PcapWriteError, 'reader-gone');
        this.#opts.logger.warn('closing the pcap file failed', { err });
      })
      .then(() => this.#open());
    this.#opts.logger.info('pcap file reopened on request', { dest: this.#dest });
  }

  stats(): PcapSinkStats {
    return this.#ledger.stats();
  }

  close(flushMs: number): Promise<void> {
    this.#closed ??= this.#close(flushMs);
    return this.#closed;
  }

  async #close(flushMs: number): Promise<void> {
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
      if (r === 'timeout') this.#ledger.settle(writer.destroy(), 'shutdown');
    } catch (err) {
      // close() rejects only with the writer's PcapWriteError (its code is pcap-writer's).
      const writeErr = err as PcapWriteError;
      const gone = writeErr.code === 'ERR_PCAP_EPIPE';
      this.#ledger.settle(writeErr, gone ? 'reader-gone' : 'shutdown');
      if (!gone) this.#opts.logger.warn('flushing the pcap output failed', { err });
    } finally {
      clearTimeout(timer);
    }
  }
}

function fileId(st: { dev: number; ino: number } | null): string | null {
  return st === null ? null : `${st.dev}:${st.ino}`;
}

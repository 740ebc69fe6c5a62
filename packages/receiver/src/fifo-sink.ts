// The receiver's pcap stream into a FIFO: one PcapWriter per reader, reopened whenever the
// reader leaves, and a bounded queue of whole batches so ingestion never waits for a reader.
// The pipe work and the exact count of what each reader got are PcapWriter's (pcap-writer).

import { PcapWriter, type PcapWriteError, type PipeSizeOutcome } from '@nflog-pipe/pcap-writer';
import type { PcapSink, PcapSinkOptions, PcapSinkStats } from './pcap-sink.js';
import { SinkLedger } from './sink-ledger.js';

/** Longest wait for the old reader to go after a reopen request, ms. */
const REOPEN_WAIT_MS = 5000;

/**
 * At a stop, after the flush timeout: how long a slow reader may take to read the rest of the
 * record the pipe was in the middle of, so its stream still ends on a record boundary, ms.
 */
export const FIFO_FINISH_RECORD_MS = 1000;

/** Options of a {@link FifoSink}: those of every sink, and the pipe's capacity. */
export interface FifoSinkOptions extends PcapSinkOptions {
  /**
   * Raise each reader's pipe to this capacity after the open, bytes (`--fifo-pipe-size`;
   * F_SETPIPE_SZ, at most /proc/sys/fs/pipe-max-size without CAP_SYS_RESOURCE). A pipe that
   * gets less is warned about once. Absent: the kernel's 64 KiB.
   */
  pipeSizeBytes?: number;
}

/** What an operator can do about a pipe smaller than asked, by `PipeSizeOutcome.limitedBy`. */
function pipeHint(limitedBy: string): string {
  if (limitedBy === 'pipe-max-size')
    return 'capped at /proc/sys/fs/pipe-max-size: raise it (sysctl fs.pipe-max-size) or give the receiver CAP_SYS_RESOURCE';
  if (limitedBy === 'EPERM')
    return "refused: the FIFO reader's user is over fs.pipe-user-pages-soft (pipes are charged to the reader that opened first)";
  return `refused (${limitedBy})`;
}

/**
 * A {@link PcapSink} writing into a FIFO. Opens without blocking (retrying while there is no
 * reader), reopens whenever the reader goes away, gives every reader a fresh pcap header and
 * then whole records only, and keeps ingesting meanwhile: batches wait (no reader yet) or sit in
 * the writer (reader slower than the traffic) up to `queueBytes` in all, beyond which whole
 * incoming batches are dropped and counted.
 *
 * Accounting: a batch counts as out when handed to the writer; when a reader leaves, the writer
 * reports exactly which of those records it did not get whole (still queued, cut, or left unread
 * in the pipe), and they move from out to lost (`onOut` with negative values, then `onLost`).
 */
export class FifoSink implements PcapSink {
  readonly #path: string;
  readonly #opts: FifoSinkOptions;
  readonly #retryMs: number;
  readonly #abort = new AbortController();

  #writer: PcapWriter | null = null;
  /** The writer closing on reopen() (its reader still reads) and its close. */
  #retiring: { writer: PcapWriter; closed: Promise<void> } | null = null;
  /** Its queue holds batches waiting for a reader. */
  readonly #ledger: SinkLedger;
  #closing = false;
  #closed: Promise<void> | null = null;
  #loop: Promise<void>;
  /** A pipe smaller than asked is warned about once; the "reader attached" lines carry the size. */
  #pipeWarned = false;

  /**
   * Start writing to the FIFO at `path` (it must exist and be a FIFO). The first open happens in
   * the background: `push()` may be called at once.
   */
  constructor(path: string, options: FifoSinkOptions) {
    this.#path = path;
    this.#opts = options;
    this.#retryMs = options.retryMs ?? 200;
    this.#ledger = new SinkLedger(options);
    this.#loop = this.#openLoop();
  }

  push(records: Buffer, count: number): boolean {
    if (count === 0) return true;
    if (this.#closing) return false;
    const writer = this.#writer;
    const held = this.#ledger.queuedBytes + (writer?.pendingBytes ?? 0); // 0 once dead
    if (held + records.length > this.#opts.queueBytes) {
      this.#ledger.lose(count, 'queue-full');
      return false;
    }
    this.#offer(records, count);
    return true;
  }

  reopen(): void {
    const old = this.#writer;
    if (old === null) return; // not open: the open loop already waits for a reader
    this.#writer = null; // what is pushed from now on waits for the next reader
    this.#opts.logger.info('FIFO closed on request, reopening', { path: this.#path });
    this.#loop = this.#reopen(old);
  }

  stats(): PcapSinkStats {
    return this.#ledger.stats();
  }

  state(): Record<string, string | number> {
    const writer = this.#writer;
    return {
      // "waiting": no reader has the FIFO open (or the last one just left).
      reader: writer !== null && writer.error === null ? 'attached' : 'waiting',
      readers: this.#ledger.stats().opens,
      held_bytes: this.#ledger.queuedBytes + (writer?.pendingBytes ?? 0),
      limit_bytes: this.#opts.queueBytes,
    };
  }

  close(flushMs: number): Promise<void> {
    this.#closed ??= this.#close(flushMs);
    return this.#closed;
  }

  async #close(flushMs: number): Promise<void> {
    this.#closing = true;
    const closing: { writer: PcapWriter; closed: Promise<void> }[] = [];
    if (this.#writer !== null) {
      closing.push({ writer: this.#writer, closed: this.#closeWriter(this.#writer) });
      this.#writer = null;
    }
    if (this.#retiring !== null) closing.push(this.#retiring);
    if (closing.length > 0) {
      // Give the readers up to flushMs to take what the writers hold.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, flushMs)));
      await Promise.race([Promise.all(closing.map((c) => c.closed)), timeout]);
      clearTimeout(timer);
      const held = closing.reduce((n, c) => n + c.writer.pendingRecords, 0);
      if (held > 0) {
        this.#opts.logger.info(
          'flush timeout: the FIFO reader is slow; finishing the record in progress, dropping the rest',
          { path: this.#path, dropped_pkt_max: held, finish_ms: FIFO_FINISH_RECORD_MS },
        );
      }
      // What a writer still holds now is lost, but never the rest of a record its reader has
      // begun: that one is finished first (bounded). After a complete flush this is nothing.
      for (const c of closing) {
        this.#ledger.settle(await c.writer.finish(FIFO_FINISH_RECORD_MS), 'shutdown');
        await c.closed;
      }
    }
    this.#abort.abort();
    // Whatever is still queued (no reader came) is lost.
    this.#ledger.dropQueue('shutdown');
    await this.#loop.catch(() => undefined);
  }

  /** Hand a batch to the live writer, or keep it for the next reader. */
  #offer(records: Buffer, count: number): void {
    const writer = this.#writer;
    // A writer that just found its reader gone takes nothing more; its 'error' is on the way.
    if (writer !== null && writer.error === null) {
      // Checked and counted by the decoder: the writer takes the count, no second walk. Above
      // the high-water mark it still takes them; the bound is ours.
      writer.write(records, count);
      this.#ledger.out(records, count);
      return;
    }
    this.#ledger.enqueue(records, count);
  }

  /** Open the FIFO (the writer retries while it has no reader) and start writing. */
  async #openLoop(): Promise<void> {
    if (this.#closing) return;
    let writer: PcapWriter;
    try {
      writer = await PcapWriter.openFifo(this.#path, {
        linktype: this.#opts.linktype,
        nanosecond: this.#opts.nanosecond,
        retryMs: this.#retryMs,
        probeMs: this.#retryMs,
        signal: this.#abort.signal,
        ...(this.#opts.pipeSizeBytes !== undefined
          ? { pipeSizeBytes: this.#opts.pipeSizeBytes }
          : {}),
      });
    } catch (err) {
      if (this.#abort.signal.aborted) return; // close() gave up waiting for a reader
      this.#opts.logger.error('cannot open the FIFO', { path: this.#path, err });
      this.#opts.onEnd?.(err as Error);
      return;
    }
    if (this.#closing) {
      writer.destroy();
      return;
    }
    writer.on('error', (err: PcapWriteError) => this.#readerGone(writer, err));
    this.#writer = writer;
    const reader = this.#ledger.opened();
    const pipe = writer.pipe;
    this.#opts.logger.info('FIFO reader attached', {
      path: this.#path,
      reader,
      ...(pipe !== null ? { pipe_bytes: pipe.bytes } : {}),
    });
    if (pipe !== null) this.#checkPipe(pipe);
    // The reader may leave while this runs; the rest then waits for the next one.
    for (const b of this.#ledger.takeQueue()) this.#offer(b.records, b.count);
  }

  /** Warn once when a reader's pipe got less than `--fifo-pipe-size`. */
  #checkPipe(pipe: PipeSizeOutcome): void {
    if (pipe.limitedBy === null || this.#pipeWarned) return;
    this.#pipeWarned = true;
    this.#opts.logger.warn('FIFO pipe smaller than --fifo-pipe-size (warned once)', {
      path: this.#path,
      requested_bytes: pipe.requestedBytes,
      pipe_bytes: pipe.bytes,
      pipe_max_bytes: pipe.maxBytes,
      why: pipeHint(pipe.limitedBy),
    });
  }

  /** The reader left (or the write failed): count what it missed, then wait for the next one. */
  #readerGone(writer: PcapWriter, err: PcapWriteError): void {
    if (this.#writer !== writer) return;
    this.#writer = null;
    if (err.code !== 'ERR_PCAP_EPIPE') {
      this.#opts.logger.warn('FIFO write failed, reopening', { path: this.#path, err });
    }
    this.#ledger.settle(err, 'reader-gone');
    this.#opts.logger.info('FIFO reader gone, reopening', {
      path: this.#path,
      lost_pkt: err.lostRecords,
    });
    if (!this.#closing) this.#loop = this.#openLoop();
  }

  /**
   * SIGHUP: the current reader gets what was pushed before, then EOF. Opening again before it
   * has closed its end would append the new stream to the old one, so wait (bounded) for that.
   */
  async #reopen(old: PcapWriter): Promise<void> {
    const retiring = { writer: old, closed: this.#closeWriter(old) };
    this.#retiring = retiring;
    await retiring.closed;
    if (this.#retiring === retiring) this.#retiring = null;
    try {
      const gone = await old.waitReaderGone({
        timeoutMs: REOPEN_WAIT_MS,
        signal: this.#abort.signal,
      });
      if (!gone) {
        this.#opts.logger.warn('old FIFO reader still there after reopen; reopening anyway', {
          path: this.#path,
        });
      } else {
        // A new reader that opened the FIFO while the old one was still attached has been
        // handed an EOF by the probe (a writer cannot tell readers apart without native code);
        // from here on, a new reader gets the fresh stream.
        this.#opts.logger.info('old FIFO reader gone; waiting for the next one', {
          path: this.#path,
        });
      }
    } catch {
      return; // aborted by close()
    }
    await this.#openLoop();
  }

  /** Flush and close `writer`; a reader that left meanwhile is counted. Never rejects. */
  async #closeWriter(writer: PcapWriter): Promise<void> {
    try {
      await writer.close();
    } catch (err) {
      this.#ledger.settle(err as PcapWriteError, 'reader-gone');
    }
  }
}

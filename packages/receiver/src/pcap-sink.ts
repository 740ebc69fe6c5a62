import type { Logger } from '@nflog-pipe/shared';
import type { SinkLossReason } from './sink-ledger.js';

/** Counters every sink keeps; packets and bytes are pcap records (16-byte headers included). */
export interface PcapSinkStats {
  /**
   * Records handed to the output's pcap writer, minus those it later reported lost (a FIFO
   * reader that left without reading them, an output that failed or could not flush in time).
   * Once the sink is closed this is exactly what the readers got.
   */
  outPackets: number;
  /** Bytes of `outPackets`. */
  outBytes: number;
  /**
   * Records lost at the sink: queue full, not taken whole by a reader that left, not written by
   * a failing output (a full disk), shutdown.
   */
  lostPackets: number;
  /** Records waiting in the sink's queue for an output (not yet handed to a writer). */
  queuedPackets: number;
  /** Bytes waiting in the sink's queue. */
  queuedBytes: number;
  /** Times the output was opened (each FIFO reader counts once). */
  opens: number;
}

/** Callbacks a sink uses to report what it counts, so the caller can feed its metrics. */
export interface PcapSinkEvents {
  /** Records handed to the output (negative values move records the writer reported lost). */
  onOut?(packets: number, bytes: number): void;
  /**
   * Records lost at the sink (`why`: `queue-full`, `reader-gone`, `shutdown`, `output-error`;
   * `unconvertible` for records the fan-out could not convert to the sink's linktype).
   */
  onLost?(packets: number, why: SinkLossReason): void;
  /** The output cannot continue (a stdout reader gone or failing, a FIFO that cannot be opened); the caller stops. */
  onEnd?(err: Error | null): void;
}

/** Options shared by the sinks. */
export interface PcapSinkOptions extends PcapSinkEvents {
  /** pcap linktype written in each header. */
  linktype: number;
  /** Write the nanosecond magic (the records must already hold nanoseconds). */
  nanosecond: boolean;
  /**
   * Most bytes of whole batches held while the output is absent or slow: the sink's queue, plus
   * for a FIFO what its writer holds (a file or stdout writer holds up to 4 MiB more).
   */
  queueBytes: number;
  /**
   * ms between attempts to open a FIFO without a reader and between idle reader checks (default
   * 200), and between attempts to write a failed file output again (default 1000).
   */
  retryMs?: number;
  /** Where lifecycle lines go. */
  logger: Logger;
}

/** An output for the receiver's pcap stream: takes whole batches, never blocks the caller. */
export interface PcapSink {
  /**
   * Queue one batch of whole records for the output. When the queue would exceed its bound the
   * whole batch is dropped and counted. The buffer is referenced, not copied. The records must
   * already be checked (`count` whole records, as the decoder leaves them): they are not walked
   * again.
   *
   * @returns false when the batch was dropped
   */
  push(records: Buffer, count: number): boolean;
  /** Reopen the output (SIGHUP): the current output gets whole records, then a new one starts. */
  reopen(): void;
  /**
   * Stop: write what is queued for at most `flushMs`, then close. Records still queued are
   * counted lost (`shutdown`). Safe to call twice.
   */
  close(flushMs: number): Promise<void>;
  /** Current counters. */
  stats(): PcapSinkStats;
  /**
   * What an operator needs to know about the output when it drops (its reader, what it holds,
   * its bound), as `key=value` log fields.
   */
  state?(): Record<string, string | number>;
}

// An output that drops batches because its queue is full (a FIFO reader slower than the
// traffic, or none at all) must say so where an operator looks, not only in a counter: the
// first drop of an episode is a warning with the output's state; the drops after it are only
// counted until the output has been quiet for a while, and the next drop after that is news.

import type { Logger } from '@nflog-pipe/shared';
import type { SinkLossReason } from './sink-ledger.js';

/** Default {@link OutputDropWarningOptions.quietMs}: 60 s without drops ends an episode. */
export const OUTPUT_DROP_QUIET_MS = 60_000;

/** Options of {@link OutputDropWarning}. */
export interface OutputDropWarningOptions {
  /** The output's label (fifo, file, stdout, rotate). */
  output: string;
  /** Where it writes (the DST path, the rotate directory). */
  dest: string;
  /** The output's state at the moment of the drop (reader attached or not, queued bytes, ...). */
  state(): Record<string, string | number>;
  logger: Logger;
  /** Drops this long apart belong to two episodes, ms. Default OUTPUT_DROP_QUIET_MS. */
  quietMs?: number;
  /** Clock, ms. Default Date.now. */
  now?: () => number;
}

/**
 * Watches one output's losses (its `onLost`) and warns at the first `queue-full` drop of each
 * episode: `output queue full: dropping whole batches` with the output, its destination, its
 * state, the packets of that first drop and of the previous episode. Other losses (a reader
 * that left with records unread, a failing file, the stop) have log lines of their own.
 */
export class OutputDropWarning {
  readonly #opts: OutputDropWarningOptions;
  readonly #quietMs: number;
  readonly #now: () => number;
  #lastDropMs: number | null = null;
  #episodePackets = 0;
  #episodes = 0;

  constructor(options: OutputDropWarningOptions) {
    this.#opts = options;
    this.#quietMs = options.quietMs ?? OUTPUT_DROP_QUIET_MS;
    this.#now = options.now ?? Date.now;
  }

  /** Episodes warned about so far. */
  get episodes(): number {
    return this.#episodes;
  }

  /** `packets` were lost at the output for `why`. */
  lost(packets: number, why: SinkLossReason): void {
    if (why !== 'queue-full' || packets === 0) return;
    const now = this.#now();
    if (this.#lastDropMs === null || now - this.#lastDropMs >= this.#quietMs) {
      this.#episodes++;
      this.#opts.logger.warn(
        'output queue full: dropping whole batches (its reader is slower than the traffic, or absent); counted in loss_fifo_pkt, warned again after a quiet period',
        {
          output: this.#opts.output,
          dest: this.#opts.dest,
          ...this.#opts.state(),
          lost_pkt: packets,
          quiet_s: this.#quietMs / 1000,
          ...(this.#lastDropMs !== null ? { previous_episode_pkt: this.#episodePackets } : {}),
        },
      );
      this.#episodePackets = 0;
    }
    this.#episodePackets += packets;
    this.#lastDropMs = now;
  }
}

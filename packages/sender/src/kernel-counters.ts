// The sender's kernel counters → metrics adapter. The netlink socket keeps cumulative counters;
// statsd wants increments, and the first overrun deserves one warning (ulogd2 warns once too).

import type { NflogStats } from '@nflog-pipe/nflog-native';
import { METRIC, type Logger, type Metrics } from '@nflog-pipe/shared';

/**
 * Folds an NflogSocket's cumulative `kernelDropped` and `enobufs` into `loss.kernel.pkt` and
 * `loss.kernel.enobufs` increments, and warns once, at the first ENOBUFS, that the kernel is
 * dropping packets (the counter carries the rest).
 */
export class KernelCounters {
  #metrics: Metrics;
  #log: Logger;
  #dropped = 0;
  #enobufs = 0;

  constructor(metrics: Metrics, log: Logger) {
    this.#metrics = metrics;
    this.#log = log;
    // Exported from the start, at 0.
    metrics.counter(METRIC.LOSS_KERNEL_PKT);
    metrics.counter(METRIC.LOSS_KERNEL_ENOBUFS);
  }

  /**
   * Adds what grew since the last call to the metrics.
   * @param s the socket's counters now (cumulative since open)
   * @returns `s`, for the caller's own use
   */
  sync(s: NflogStats): NflogStats {
    if (s.kernelDropped > this.#dropped)
      this.#metrics.increment(METRIC.LOSS_KERNEL_PKT, s.kernelDropped - this.#dropped);
    if (s.enobufs > this.#enobufs) {
      if (this.#enobufs === 0) {
        this.#log.warn(
          'the kernel dropped packets (ENOBUFS: we read too slowly); counted as loss.kernel.pkt from now on',
          {
            enobufs: s.enobufs,
            dropped_kernel: s.kernelDropped,
          },
        );
      }
      this.#metrics.increment(METRIC.LOSS_KERNEL_ENOBUFS, s.enobufs - this.#enobufs);
    }
    this.#dropped = s.kernelDropped;
    this.#enobufs = s.enobufs;
    return s;
  }
}

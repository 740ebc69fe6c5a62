// The sender's kernel counters → metrics adapter. The netlink socket keeps cumulative counters;
// statsd wants increments, and the first overrun deserves one warning (ulogd2 warns once too).

import type { NflogStats } from '@nflog-pipe/nflog-native';
import { METRIC, type Logger, type MetricSeries, type Metrics } from '@nflog-pipe/shared';

/** The socket counters that become metrics one for one. */
type FoldedCounter = 'truncated' | 'checksumsFixed' | 'checksumsIncomplete' | 'orderLate';

/**
 * Folds an NflogSocket's cumulative `kernelDropped` and `enobufs` into `loss.kernel.pkt` and
 * `loss.kernel.enobufs` increments, and warns once, at the first ENOBUFS, that the kernel is
 * dropping packets (the counter carries the rest). Its `truncated`, `checksumsFixed`,
 * `checksumsIncomplete` and `orderLate` become `truncated.pkt`, `checksums.fixed.pkt`,
 * `checksums.incomplete.pkt` and `order.late.pkt`; the first late packet is warned about once.
 */
export class KernelCounters {
  #metrics: Metrics;
  #log: Logger;
  #dropped = 0;
  #enobufs = 0;
  /** The other cumulative counters as last folded in. */
  #seen: Record<FoldedCounter, number> = {
    truncated: 0,
    checksumsFixed: 0,
    checksumsIncomplete: 0,
    orderLate: 0,
  };

  constructor(metrics: Metrics, log: Logger) {
    this.#metrics = metrics;
    this.#log = log;
    // Exported from the start, at 0.
    metrics.counter(METRIC.LOSS_KERNEL_PKT);
    metrics.counter(METRIC.LOSS_KERNEL_ENOBUFS);
    metrics.counter(METRIC.TRUNCATED_PKT);
    metrics.counter(METRIC.CHECKSUMS_FIXED_PKT);
    metrics.counter(METRIC.CHECKSUMS_INCOMPLETE_PKT);
    metrics.counter(METRIC.ORDER_LATE_PKT);
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
    if (s.orderLate > 0 && this.#seen.orderLate === 0) {
      this.#log.warn(
        'packets left out of kernel order (a kernel batch came later than the hold allows); counted as order.late.pkt from now on',
        { order_late: s.orderLate },
      );
    }
    this.#fold(METRIC.TRUNCATED_PKT, 'truncated', s.truncated);
    this.#fold(METRIC.CHECKSUMS_FIXED_PKT, 'checksumsFixed', s.checksumsFixed);
    this.#fold(METRIC.CHECKSUMS_INCOMPLETE_PKT, 'checksumsIncomplete', s.checksumsIncomplete);
    this.#fold(METRIC.ORDER_LATE_PKT, 'orderLate', s.orderLate);
    return s;
  }

  #fold(name: MetricSeries, key: FoldedCounter, now: number): void {
    const before = this.#seen[key];
    if (now > before) this.#metrics.increment(name, now - before);
    this.#seen[key] = now;
  }
}

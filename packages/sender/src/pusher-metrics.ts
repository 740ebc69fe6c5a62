// The sender's pusher → metrics adapter: what the never-blocking PUSH end reports about each
// message becomes the sender's counters, so raw_out and loss.zmq_queue count exactly what
// ZeroMQ accepted and refused.

import { METRIC, type Logger, type Metrics, type PusherCallbacks } from '@nflog-pipe/shared';

/**
 * The callbacks a sender gives its NonBlockingPusher: accepted messages count in
 * `raw_out.pkt` (packets) and `raw_out.bytes` (the message as queued, headers included), refused
 * ones in `loss.zmq_queue.pkt`; an unexpected send error is warned about (once per code: the
 * pusher reports each code once, and counts the messages as dropped).
 *
 * Heartbeats carry 0 packets: their bytes count in raw_out.bytes, and neither their delivery nor
 * a refused attempt adds to a packet counter.
 */
export function pusherMetrics(metrics: Metrics, log: Logger): PusherCallbacks {
  return {
    onSent: (packets, bytes) => {
      if (packets > 0) metrics.increment(METRIC.RAW_OUT_PKT, packets);
      metrics.increment(METRIC.RAW_OUT_BYTES, bytes);
    },
    onDropped: (packets) => {
      if (packets > 0) metrics.increment(METRIC.LOSS_QUEUE_PKT, packets);
    },
    onError: (err) =>
      log.warn(
        'ZeroMQ send failed; counting as queue drops (further errors of this kind are not logged)',
        { err },
      ),
  };
}

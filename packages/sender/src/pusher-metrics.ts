// The sender's pusher → metrics adapter: what the never-blocking PUSH end reports about each
// message becomes the sender's counters, so raw_out and loss.zmq_queue count exactly what
// ZeroMQ accepted and refused.

import { METRIC, type Logger, type Metrics, type PusherCallbacks } from '@nflog-pipe/shared';

/**
 * The callbacks a sender gives its NonBlockingPusher: accepted messages count in
 * METRIC.SENT_PKT (packets) and SENT_BYTES (the message as queued, headers included), refused
 * ones in LOSS_QUEUE_PKT (all exported from the start, at 0); an unexpected send error is warned about (once per code: the
 * pusher reports each code once, and counts the messages as dropped).
 *
 * Heartbeats carry 0 packets: their bytes count in raw_out.bytes, and neither their delivery nor
 * a refused attempt adds to a packet counter.
 */
export function pusherMetrics(metrics: Metrics, log: Logger): PusherCallbacks {
  const sentPkt = metrics.counter(METRIC.SENT_PKT);
  const sentBytes = metrics.counter(METRIC.SENT_BYTES);
  const lost = metrics.counter(METRIC.LOSS_QUEUE_PKT);
  return {
    onSent: (packets, bytes) => {
      if (packets > 0) sentPkt.inc(packets);
      sentBytes.inc(bytes);
    },
    onDropped: (packets) => {
      if (packets > 0) lost.inc(packets);
    },
    onError: (err) =>
      log.warn(
        'ZeroMQ send failed; counting as queue drops (further errors of this kind are not logged)',
        { err },
      ),
  };
}

// The sender's pusher → metrics adapter: what the never-blocking PUSH end reports about each
// message becomes the sender's counters, so raw_out and loss.zmq_queue count exactly what
// ZeroMQ accepted and refused.

import { METRIC, type Logger, type Metrics, type PusherCallbacks } from '@nflog-pipe/shared';
import type { ShardLabels } from './shard-router.js';

/**
 * The callbacks a sender gives its NonBlockingPusher: accepted messages count in
 * METRIC.SENT_PKT (packets) and SENT_BYTES (the message as queued, headers included), refused
 * ones in LOSS_QUEUE_PKT (all exported from the start, at 0); an unexpected send error is warned about (once per code: the
 * pusher reports each code once, and counts the messages as dropped).
 *
 * With `shard` (one shard of a sender with several endpoints), each outcome also counts in that
 * shard's series (METRIC.SHARD_SENT_PKT, SHARD_SENT_BYTES, SHARD_LOSS_QUEUE_PKT).
 *
 * Heartbeats carry 0 packets: their bytes count in raw_out.bytes, and neither their delivery nor
 * a refused attempt adds to a packet counter.
 */
export function pusherMetrics(metrics: Metrics, log: Logger, shard?: ShardLabels): PusherCallbacks {
  const sentPkt = metrics.counter(METRIC.SENT_PKT);
  const sentBytes = metrics.counter(METRIC.SENT_BYTES);
  const lost = metrics.counter(METRIC.LOSS_QUEUE_PKT);
  // A shard's outcomes count in the totals above and in its own series.
  const labels = shard === undefined ? undefined : { ...shard };
  const shardPkt = labels && metrics.counter(METRIC.SHARD_SENT_PKT, labels);
  const shardBytes = labels && metrics.counter(METRIC.SHARD_SENT_BYTES, labels);
  const shardLost = labels && metrics.counter(METRIC.SHARD_LOSS_QUEUE_PKT, labels);
  return {
    onSent: (packets, bytes) => {
      if (packets > 0) {
        sentPkt.inc(packets);
        shardPkt?.inc(packets);
      }
      sentBytes.inc(bytes);
      shardBytes?.inc(bytes);
    },
    onDropped: (packets) => {
      if (packets > 0) {
        lost.inc(packets);
        shardLost?.inc(packets);
      }
    },
    onError: (err) =>
      log.warn(
        'ZeroMQ send failed; counting as queue drops (further errors of this kind are not logged)',
        { err },
      ),
  };
}

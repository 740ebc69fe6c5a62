/**
 * Every statsd metric name, declared once. Call sites use these constants and never assemble
 * names from strings. The first eight keep the Python tool's names so existing dashboards work.
 */
export const METRIC = {
  RAW_IN_PKT: 'raw_in.pkt',
  RAW_IN_BYTES: 'raw_in.bytes',
  RAW_OUT_PKT: 'raw_out.pkt',
  RAW_OUT_BYTES: 'raw_out.bytes',
  COMPRESS_IN_PKT: 'compress_in.pkt',
  COMPRESS_IN_BYTES: 'compress_in.bytes',
  COMPRESS_OUT_PKT: 'compress_out.pkt',
  COMPRESS_OUT_BYTES: 'compress_out.bytes',
  DECOMPRESS_IN_PKT: 'decompress_in.pkt',
  DECOMPRESS_IN_BYTES: 'decompress_in.bytes',
  DECOMPRESS_OUT_PKT: 'decompress_out.pkt',
  DECOMPRESS_OUT_BYTES: 'decompress_out.bytes',
  /** Packets the kernel dropped before we read them (NFLOG sequence gaps). */
  LOSS_KERNEL_PKT: 'loss.kernel.pkt',
  /** ENOBUFS episodes on the netlink socket. */
  LOSS_KERNEL_ENOBUFS: 'loss.kernel.enobufs',
  /** Packets dropped because the ZeroMQ send queue (SNDHWM) was full. */
  LOSS_QUEUE_PKT: 'loss.zmq_queue.pkt',
  /** Packets dropped by the rate-control shaper above the high watermark. */
  LOSS_SHAPER_PKT: 'loss.shaper.pkt',
  /** Packets missing between frames of one sender (sequence gaps seen by the receiver). */
  LOSS_NETWORK_PKT: 'loss.network.pkt',
  /** Packets dropped at the receiver because the FIFO reader was absent or too slow. */
  LOSS_FIFO_PKT: 'loss.fifo.pkt',
  /** Frames that failed to decode (bad magic, lying lengths, corrupt or oversize deflate). */
  BAD_FRAMES: 'bad_frames',
  /** Query dumps served from the ring buffer. */
  QUERIES: 'queries',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

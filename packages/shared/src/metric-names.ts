import { family, series, type MetricSeries } from './metric-declaration.js';

// Every metric, declared once: the Prometheus families (FAMILY) and the series call sites count
// into (METRIC), each with its statsd name where statsd has one. Call sites use these constants
// and never assemble names from strings. The statsd names keep the Python tool's (raw_in.pkt ...)
// so existing dashboards work. The table of what each means is docs/operations.md ("Metrics").

/** Buckets of the delivery delay histogram, seconds: from one flush interval to a stale feed. */
export const DELIVERY_DELAY_BUCKETS_S = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
] as const;

/** Buckets of the query duration histogram, seconds. */
export const QUERY_DURATION_BUCKETS_S = [
  0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

/** Every Prometheus family. */
export const FAMILY = {
  PACKETS: family({
    name: 'nflog_pipe_packets_total',
    type: 'counter',
    help: 'Packets that passed a stage of this daemon (captured, sent, received, written, relayed).',
    labelNames: ['stage', 'output'],
  }),
  BYTES: family({
    name: 'nflog_pipe_bytes_total',
    type: 'counter',
    help: 'Bytes that passed a stage of this daemon, as that stage sees them (see docs/operations.md).',
    labelNames: ['stage', 'output'],
  }),
  LOST_PACKETS: family({
    name: 'nflog_pipe_lost_packets_total',
    type: 'counter',
    help: 'Packets lost, by the stage where they were lost.',
    labelNames: ['stage', 'output'],
  }),
  KERNEL_OVERRUNS: family({
    name: 'nflog_pipe_kernel_overruns_total',
    type: 'counter',
    help: 'ENOBUFS overrun episodes on the netlink socket (the packets are in lost_packets_total{stage="kernel"}).',
    labelNames: [],
  }),
  BAD_FRAMES: family({
    name: 'nflog_pipe_bad_frames_total',
    type: 'counter',
    help: 'Messages that did not decode, had another linktype or a sequence jump no sender could make; skipped.',
    labelNames: [],
  }),
  QUERIES: family({
    name: 'nflog_pipe_queries_total',
    type: 'counter',
    help: 'Ring buffer dumps served.',
    labelNames: [],
  }),
  QUERY_DURATION: family({
    name: 'nflog_pipe_query_duration_seconds',
    type: 'histogram',
    help: 'Time to answer one query, from its request to its reply queued.',
    labelNames: [],
    buckets: QUERY_DURATION_BUCKETS_S,
  }),
  DELIVERY_DELAY: family({
    name: 'nflog_pipe_delivery_delay_seconds',
    type: 'histogram',
    help: 'Age of the oldest packet of each batch when the receiver hands the batch to its output (now minus its pcap timestamp), one observation per batch.',
    labelNames: [],
    buckets: DELIVERY_DELAY_BUCKETS_S,
  }),
  RING_CAPACITY_BYTES: family({
    name: 'nflog_pipe_ring_capacity_bytes',
    type: 'gauge',
    help: 'Size of the ring buffer (--buffer-window).',
    labelNames: [],
  }),
  RING_BYTES: family({
    name: 'nflog_pipe_ring_bytes',
    type: 'gauge',
    help: 'Bytes of records held in the ring buffer.',
    labelNames: [],
  }),
  RING_PACKETS: family({
    name: 'nflog_pipe_ring_packets',
    type: 'gauge',
    help: 'Packets held in the ring buffer.',
    labelNames: [],
  }),
  PEER_DISCONNECTS: family({
    name: 'nflog_pipe_peer_disconnects_total',
    type: 'counter',
    help: 'ZeroMQ peer connections that ended after their handshake, at a receiving socket: a peer that went away, or one that sent a message over ZMQ_MAXMSGSIZE (refused unread).',
    labelNames: ['socket'],
  }),
  CONNECTED_PEERS: family({
    name: 'nflog_pipe_connected_peers',
    type: 'gauge',
    help: 'ZeroMQ peers connected to a socket of this daemon whose handshake completed.',
    labelNames: ['socket'],
  }),
  AUTH_REJECTED: family({
    name: 'nflog_pipe_auth_rejected_total',
    type: 'counter',
    help: 'Handshakes a CURVE socket of this daemon refused (key not on its allowlist, no CURVE, wrong server key).',
    labelNames: ['socket'],
  }),
  BUILD_INFO: family({
    name: 'nflog_pipe_build_info',
    type: 'gauge',
    help: 'Always 1; the labels say which tool and version runs.',
    labelNames: ['tool', 'version', 'nodejs_version'],
  }),
  LOGGED_PACKETS: family({
    name: 'nflog_pipe_logged_packets_total',
    type: 'counter',
    help: 'Packets NFLOG delivered to the sender, by group and log prefix (with --prefix-labels: the prefix key=value pairs).',
    labelNames: ['group', 'prefix'],
    openLabels: true,
  }),
  LOGGED_BYTES: family({
    name: 'nflog_pipe_logged_bytes_total',
    type: 'counter',
    help: 'IP bytes (original length) of the packets in logged_packets_total.',
    labelNames: ['group', 'prefix'],
    openLabels: true,
  }),
  ACCOUNTING_SERIES: family({
    name: 'nflog_pipe_accounting_series',
    type: 'gauge',
    help: 'Distinct (group, prefix) pairs counted by the accounting table (at most --max-series; beyond it packets go to group="other").',
    labelNames: [],
  }),
  GROUP_LOST_PACKETS: family({
    name: 'nflog_pipe_group_lost_packets_total',
    type: 'counter',
    help: 'Packets the kernel dropped before the sender read them, by NFLOG group.',
    labelNames: ['group'],
  }),
  SENDER_PACKETS: family({
    name: 'nflog_pipe_sender_packets_total',
    type: 'counter',
    help: 'Packets received from one sender (v1 frames), by its id and host.',
    labelNames: ['sender_id', 'sender_host'],
  }),
  SENDER_LOST_PACKETS: family({
    name: 'nflog_pipe_sender_lost_packets_total',
    type: 'counter',
    help: "Packets missing from one sender's sequence numbers, by its id and host.",
    labelNames: ['sender_id', 'sender_host'],
  }),
  TRUNCATED_PACKETS: family({
    name: 'nflog_pipe_truncated_packets_total',
    type: 'counter',
    help: "Records the sender read cut short (copy range, snaplen, NFLOG's 65531-byte limit, BIG TCP): incl_len < orig_len.",
    labelNames: [],
  }),
  CHECKSUM_PACKETS: family({
    name: 'nflog_pipe_checksum_packets_total',
    type: 'counter',
    help: 'Locally generated packets whose checksums the sender completed as on the wire (result="fixed") or could not complete (result="incomplete": cut, fragments; left as logged).',
    labelNames: ['result'],
  }),
  ORDER_LATE_PACKETS: family({
    name: 'nflog_pipe_order_late_packets_total',
    type: 'counter',
    help: 'Packets the sender shipped after a newer one of its groups: out of kernel order (a kernel batch later than the hold allows).',
    labelNames: [],
  }),
  REORDER_PACKETS: family({
    name: 'nflog_pipe_reorder_packets_total',
    type: 'counter',
    help: 'Packets the receiver\'s reorder window wrote other than as they came: outcome="late" (after a packet that sorts after them; stamped with the last timestamp written), "restamped" (in kernel order, timestamp raised to the last written), "overflow" (released early: the window was full).',
    labelNames: ['outcome'],
  }),
  REORDER_HELD_PACKETS: family({
    name: 'nflog_pipe_reorder_held_packets',
    type: 'gauge',
    help: "Packets held in the receiver's reorder window.",
    labelNames: [],
  }),
  REORDER_HELD_BYTES: family({
    name: 'nflog_pipe_reorder_held_bytes',
    type: 'gauge',
    help: 'Bytes of the batches the reorder window holds (at most --reorder-buffer, plus the batch being taken).',
    labelNames: [],
  }),
  SHARD_PACKETS: family({
    name: 'nflog_pipe_shard_packets_total',
    type: 'counter',
    help: 'Packets of one shard of a sender with several endpoints: routed to it (stage="routed") and in messages its ZeroMQ queue accepted (stage="sent").',
    labelNames: ['shard', 'endpoint', 'stage'],
  }),
  SHARD_BYTES: family({
    name: 'nflog_pipe_shard_bytes_total',
    type: 'counter',
    help: "Bytes of the messages one shard's ZeroMQ queue accepted (frame headers included, compressed size when compressed).",
    labelNames: ['shard', 'endpoint', 'stage'],
  }),
  SHARD_LOST_PACKETS: family({
    name: 'nflog_pipe_shard_lost_packets_total',
    type: 'counter',
    help: 'Packets one shard lost: its ZeroMQ queue was full (stage="zmq_queue"), or its rate control dropped them (stage="shaper").',
    labelNames: ['shard', 'endpoint', 'stage'],
  }),
  SHARD_MOVES: family({
    name: 'nflog_pipe_shard_moves_total',
    type: 'counter',
    help: 'Failovers of one shard: its flows moved to the other shards (direction="out") or came back (direction="in").',
    labelNames: ['shard', 'endpoint', 'direction'],
  }),
  SHARD_LIVE: family({
    name: 'nflog_pipe_shard_live',
    type: 'gauge',
    help: 'Whether flows are routed to this shard now (1) or it is out after a failover (0).',
    labelNames: ['shard', 'endpoint'],
  }),
  OUTPUT_CLIENTS: family({
    name: 'nflog_pipe_output_clients',
    type: 'gauge',
    help: 'Clients connected to an output of the receiver (PCAP-over-IP).',
    labelNames: ['output'],
  }),
  SENDERS: family({
    name: 'nflog_pipe_senders',
    type: 'gauge',
    help: 'Senders the receiver remembers (their sequence numbers are tracked).',
    labelNames: [],
  }),
} as const;

const F = FAMILY;

/** Every series call sites count into; the statsd name of each is the third argument. */
export const METRIC = {
  /** Sender: packets read from NFLOG. */
  CAPTURED_PKT: series(F.PACKETS, { stage: 'captured' }, 'raw_in.pkt'),
  /** Sender: bytes of those packets (captured bytes, record headers not included). */
  CAPTURED_BYTES: series(F.BYTES, { stage: 'captured' }, 'raw_in.bytes'),
  /** Sender: packets in messages ZeroMQ accepted into its send queue. */
  SENT_PKT: series(F.PACKETS, { stage: 'sent' }, 'raw_out.pkt'),
  /** Sender: those messages' bytes as queued (frame headers included, compressed if so). */
  SENT_BYTES: series(F.BYTES, { stage: 'sent' }, 'raw_out.bytes'),
  /** Receiver: packets in good frames. */
  RECEIVED_PKT: series(F.PACKETS, { stage: 'received' }, 'raw_in.pkt'),
  /** Receiver: their pcap record bytes (16-byte record headers included). */
  RECEIVED_BYTES: series(F.BYTES, { stage: 'received' }, 'raw_in.bytes'),
  /** Receiver: packets the DST output accepted (`output`: fifo, file, stdout). */
  WRITTEN_PKT: series(F.PACKETS, { stage: 'written' }, 'raw_out.pkt', ['output']),
  /** Receiver: their pcap record bytes. */
  WRITTEN_BYTES: series(F.BYTES, { stage: 'written' }, 'raw_out.bytes', ['output']),
  COMPRESS_IN_PKT: series(F.PACKETS, { stage: 'compress_in' }, 'compress_in.pkt'),
  COMPRESS_IN_BYTES: series(F.BYTES, { stage: 'compress_in' }, 'compress_in.bytes'),
  COMPRESS_OUT_PKT: series(F.PACKETS, { stage: 'compress_out' }, 'compress_out.pkt'),
  COMPRESS_OUT_BYTES: series(F.BYTES, { stage: 'compress_out' }, 'compress_out.bytes'),
  DECOMPRESS_IN_PKT: series(F.PACKETS, { stage: 'decompress_in' }, 'decompress_in.pkt'),
  DECOMPRESS_IN_BYTES: series(F.BYTES, { stage: 'decompress_in' }, 'decompress_in.bytes'),
  DECOMPRESS_OUT_PKT: series(F.PACKETS, { stage: 'decompress_out' }, 'decompress_out.pkt'),
  DECOMPRESS_OUT_BYTES: series(F.BYTES, { stage: 'decompress_out' }, 'decompress_out.bytes'),
  /** Packets the kernel dropped before we read them (NFLOG sequence gaps). */
  LOSS_KERNEL_PKT: series(F.LOST_PACKETS, { stage: 'kernel' }, 'loss.kernel.pkt'),
  /** ENOBUFS episodes on the netlink socket. */
  LOSS_KERNEL_ENOBUFS: series(F.KERNEL_OVERRUNS, {}, 'loss.kernel.enobufs'),
  /** Packets dropped because the ZeroMQ send queue (SNDHWM) was full. */
  LOSS_QUEUE_PKT: series(F.LOST_PACKETS, { stage: 'zmq_queue' }, 'loss.zmq_queue.pkt'),
  /** Packets dropped by the rate-control shaper above the high watermark. */
  LOSS_SHAPER_PKT: series(F.LOST_PACKETS, { stage: 'shaper' }, 'loss.shaper.pkt'),
  /** Packets missing between frames of one sender (sequence gaps seen by the receiver). */
  LOSS_NETWORK_PKT: series(F.LOST_PACKETS, { stage: 'network' }, 'loss.network.pkt'),
  /**
   * Packets an output could not take (FIFO reader absent or too slow, write failure). Stage
   * `fifo` is every output of the receiver (the name kept from the FIFO, the first one); the
   * DST's (`output`: fifo, file, stdout) is statsd's `loss.fifo.pkt`.
   */
  LOSS_FIFO_PKT: series(F.LOST_PACKETS, { stage: 'fifo' }, 'loss.fifo.pkt', ['output']),
  /** Receiver: packets PCAP-over-IP clients' sockets took, summed over the clients. */
  PCAP_OVER_IP_WRITTEN_PKT: series(
    F.PACKETS,
    { stage: 'written', output: 'pcap_over_ip' },
    'pcap_over_ip.out.pkt',
  ),
  /** Receiver: their pcap record bytes. */
  PCAP_OVER_IP_WRITTEN_BYTES: series(
    F.BYTES,
    { stage: 'written', output: 'pcap_over_ip' },
    'pcap_over_ip.out.bytes',
  ),
  /** Receiver: packets dropped for slow PCAP-over-IP clients (or queued for one that left). */
  LOSS_PCAP_OVER_IP_PKT: series(
    F.LOST_PACKETS,
    { stage: 'fifo', output: 'pcap_over_ip' },
    'loss.pcap_over_ip.pkt',
  ),
  /** Receiver: PCAP-over-IP clients connected now. */
  PCAP_OVER_IP_CLIENTS: series(F.OUTPUT_CLIENTS, { output: 'pcap_over_ip' }, undefined),
  /** Receiver: packets the rotated files took. */
  ROTATE_WRITTEN_PKT: series(F.PACKETS, { stage: 'written', output: 'rotate' }, 'rotate.out.pkt'),
  /** Receiver: their pcap record bytes. */
  ROTATE_WRITTEN_BYTES: series(F.BYTES, { stage: 'written', output: 'rotate' }, 'rotate.out.bytes'),
  /** Receiver: packets the rotated files could not take (queue full, full disk, a file that did not open). */
  LOSS_ROTATE_PKT: series(F.LOST_PACKETS, { stage: 'fifo', output: 'rotate' }, 'loss.rotate.pkt'),
  /**
   * Receiver: packets of frames refused after their header and records checked out (another
   * linktype than the output's, a sequence jump no sender could make).
   */
  LOSS_BAD_FRAME_PKT: series(F.LOST_PACKETS, { stage: 'bad_frame' }, 'loss.bad_frame.pkt'),
  /**
   * Frames that failed to decode (bad magic, lying lengths, corrupt or oversize deflate); at the
   * receiver also frames of another linktype or with a sequence jump no sender could make.
   */
  BAD_FRAMES: series(F.BAD_FRAMES, {}, 'bad_frames'),
  /** Query dumps served from the ring buffer. */
  QUERIES: series(F.QUERIES, {}, 'queries'),
  QUERY_DURATION: series(F.QUERY_DURATION, {}, undefined),
  DELIVERY_DELAY: series(F.DELIVERY_DELAY, {}, undefined),
  RING_CAPACITY_BYTES: series(F.RING_CAPACITY_BYTES, {}, undefined),
  RING_BYTES: series(F.RING_BYTES, {}, undefined),
  RING_PACKETS: series(F.RING_PACKETS, {}, undefined),
  /** `socket`: pull, push or query. Counted from completed handshakes (PeerWatch). */
  CONNECTED_PEERS: series(F.CONNECTED_PEERS, {}, undefined, ['socket']),
  /** Receiver: peer connections that ended (`socket`: pull); a message over ZMQ_MAXMSGSIZE ends one. */
  DISCONNECTS: series(F.PEER_DISCONNECTS, {}, 'disconnects', ['socket']),
  /** Handshakes refused by a CURVE server socket (`socket`: pull or query); nothing of such a client is received. */
  AUTH_REJECTED: series(F.AUTH_REJECTED, {}, 'auth.rejected', ['socket']),
  BUILD_INFO: series(F.BUILD_INFO, {}, undefined, ['tool', 'version', 'nodejs_version']),
  /** Sender accounting by rule: `group`, and `prefix` or (--prefix-labels) the prefix's own keys. */
  LOGGED_PKT: series(F.LOGGED_PACKETS, {}, undefined, ['group']),
  LOGGED_BYTES: series(F.LOGGED_BYTES, {}, undefined, ['group']),
  ACCOUNTING_SERIES: series(F.ACCOUNTING_SERIES, {}, undefined),
  GROUP_LOST_PKT: series(F.GROUP_LOST_PACKETS, {}, undefined, ['group']),
  SENDER_PKT: series(F.SENDER_PACKETS, {}, undefined, ['sender_id', 'sender_host']),
  SENDER_LOST_PKT: series(F.SENDER_LOST_PACKETS, {}, undefined, ['sender_id', 'sender_host']),
  SENDERS: series(F.SENDERS, {}, undefined),
  /** Sender: records cut short (incl_len < orig_len). */
  TRUNCATED_PKT: series(F.TRUNCATED_PACKETS, {}, 'truncated.pkt'),
  /** Sender: locally generated packets whose checksums were completed as on the wire. */
  CHECKSUMS_FIXED_PKT: series(F.CHECKSUM_PACKETS, { result: 'fixed' }, 'checksums.fixed.pkt'),
  /** Sender: locally generated packets whose checksums could not be completed (left as logged). */
  CHECKSUMS_INCOMPLETE_PKT: series(
    F.CHECKSUM_PACKETS,
    { result: 'incomplete' },
    'checksums.incomplete.pkt',
  ),
  /**
   * Receiver: packets the reorder window wrote after one that sorts after them (not lost: written,
   * stamped with the last timestamp written).
   */
  REORDER_LATE_PKT: series(F.REORDER_PACKETS, { outcome: 'late' }, 'reorder.late.pkt'),
  /** Receiver: packets written in kernel order with their timestamp raised to the last written. */
  REORDER_RESTAMPED_PKT: series(
    F.REORDER_PACKETS,
    { outcome: 'restamped' },
    'reorder.restamped.pkt',
  ),
  /** Receiver: packets the reorder window released early because it was full. */
  REORDER_OVERFLOW_PKT: series(F.REORDER_PACKETS, { outcome: 'overflow' }, 'reorder.overflow.pkt'),
  REORDER_HELD_PACKETS: series(F.REORDER_HELD_PACKETS, {}, undefined),
  REORDER_HELD_BYTES: series(F.REORDER_HELD_BYTES, {}, undefined),
  /** Sender: packets shipped out of kernel order. */
  ORDER_LATE_PKT: series(F.ORDER_LATE_PACKETS, {}, 'order.late.pkt'),
  /**
   * Sender with several endpoints, per shard (`shard`: its position in the endpoint list, from
   * 0; `endpoint`, Prometheus only): packets routed to it. statsd has one counter per shard.
   */
  SHARD_ROUTED_PKT: series(F.SHARD_PACKETS, { stage: 'routed' }, 'shard.{shard}.routed.pkt', [
    'shard',
    'endpoint',
  ]),
  /** Per shard: packets in messages its ZeroMQ queue accepted (part of raw_out.pkt). */
  SHARD_SENT_PKT: series(F.SHARD_PACKETS, { stage: 'sent' }, 'shard.{shard}.raw_out.pkt', [
    'shard',
    'endpoint',
  ]),
  /** Per shard: those messages' bytes (part of raw_out.bytes). */
  SHARD_SENT_BYTES: series(F.SHARD_BYTES, { stage: 'sent' }, 'shard.{shard}.raw_out.bytes', [
    'shard',
    'endpoint',
  ]),
  /** Per shard: packets dropped because its ZeroMQ queue was full (part of loss.zmq_queue.pkt). */
  SHARD_LOSS_QUEUE_PKT: series(
    F.SHARD_LOST_PACKETS,
    { stage: 'zmq_queue' },
    'shard.{shard}.loss.zmq_queue.pkt',
    ['shard', 'endpoint'],
  ),
  /** Per shard: packets its rate control dropped (part of loss.shaper.pkt). */
  SHARD_LOSS_SHAPER_PKT: series(
    F.SHARD_LOST_PACKETS,
    { stage: 'shaper' },
    'shard.{shard}.loss.shaper.pkt',
    ['shard', 'endpoint'],
  ),
  /** Per shard: failovers that moved its flows to the other shards. */
  SHARD_MOVED_OUT: series(F.SHARD_MOVES, { direction: 'out' }, 'shard.{shard}.moves.out', [
    'shard',
    'endpoint',
  ]),
  /** Per shard: returns of its flows after it came back. */
  SHARD_MOVED_IN: series(F.SHARD_MOVES, { direction: 'in' }, 'shard.{shard}.moves.in', [
    'shard',
    'endpoint',
  ]),
  /** Per shard: 1 while flows are routed to it. */
  SHARD_LIVE: series(F.SHARD_LIVE, {}, undefined, ['shard', 'endpoint']),
} as const satisfies Record<string, MetricSeries>;

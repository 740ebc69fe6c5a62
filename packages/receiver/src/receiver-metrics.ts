// The receiver's metrics in one place, so the engine only calls a few methods: counters bound
// once (the hot path adds), the delivery delay observed once per batch, and what lives in other
// structures (ring fill, per-sender counts of the SequenceTracker) folded in at each export.

import {
  METRIC,
  decodeFrameMeta,
  type CounterHandle,
  type GaugeHandle,
  type HistogramHandle,
  type Metrics,
} from '@nflog-pipe/shared';
import type { OutputName } from './output-fanout.js';
import type { ReorderStats } from './reorder-window.js';
import type { RingBuffer } from './ring-buffer.js';
import { SEQUENCE_TRACKER_DEFAULT_MAX_SENDERS, type SenderStats } from './sequence-tracker.js';

/** Longest sender host name kept as a label value, characters. */
const MAX_HOST_CHARS = 253;

/** Options of {@link ReceiverMetrics}. */
export interface ReceiverMetricsOptions {
  /** The ring, for its size and fill gauges; null without one. */
  ring: RingBuffer | null;
  /** The reorder window's counters now (read at each export); null without a window. */
  reorder: (() => ReorderStats) | null;
  /** The SequenceTracker's senders now (read at each export). */
  senders: () => SenderStats[];
  /** Records hold nanoseconds (`--pcap-nsec`), else microseconds. */
  nanosecond: boolean;
  /** A PCAP-over-IP output is configured (its clients gauge is exported from the start). */
  pcapOverIp?: boolean;
  /** Wall clock, ms since the epoch (default Date.now). */
  now?: () => number;
}

/** The counters of one output (`output` label), for the sink's callbacks. */
export interface OutputMetrics {
  onOut: (packets: number, bytes: number) => void;
  onLost: (packets: number) => void;
}

interface SenderSeries {
  host: string;
  packets: CounterHandle;
  lost: CounterHandle;
}

/**
 * Binds the receiver's series (METRIC.RECEIVED_*, WRITTEN_*{output} and the PCAP_OVER_IP_* and
 * ROTATE_* ones of those outputs, LOSS_NETWORK_PKT, LOSS_FIFO_PKT{output}, BAD_FRAMES,
 * LOSS_BAD_FRAME_PKT, DISCONNECTS{socket=pull}, PCAP_OVER_IP_CLIENTS, DELIVERY_DELAY) and, at
 * each export, folds in the reorder window's counters (REORDER_*_PKT) and sets its gauges and
 * the ring's, and the per-sender counters (SENDER_PKT, SENDER_LOST_PKT by sender_id and sender_host; the
 * host comes from the sender's v1 metadata, "" until it has been seen).
 *
 * Delivery delay: one observation per batch handed to the output (after the reorder window, so
 * its hold is included), of its first record — the oldest: the window writes in time order, and
 * without it a sender appends records in the order it read them. Observing per packet would cost a walk and a
 * histogram update per packet; the first record bounds the batch's delay from above (by at most
 * the sender's flush interval), which is the side an alert on a stale feed needs. Its count is
 * therefore batches, not packets. The delay is the receiver's clock minus the packet's pcap
 * timestamp (the kernel's, or the sender's read time for packets the kernel did not stamp), so
 * clock skew between hosts shifts it; a negative value (a sender clock ahead) counts as 0.
 */
export class ReceiverMetrics {
  readonly #metrics: Metrics;
  readonly #opts: ReceiverMetricsOptions;
  readonly #receivedPkt: CounterHandle;
  readonly #receivedBytes: CounterHandle;
  readonly #lossNetwork: CounterHandle;
  readonly #badFrames: CounterHandle;
  readonly #refused: CounterHandle;
  readonly #disconnects: CounterHandle;
  readonly #delay: HistogramHandle | null;
  readonly #hosts = new Map<string, string>();
  readonly #senderSeries = new Map<string, SenderSeries>();
  readonly #ringGauges: [GaugeHandle, GaugeHandle, GaugeHandle] | null;
  readonly #reorder: {
    late: CounterHandle;
    restamped: CounterHandle;
    overflow: CounterHandle;
    packets: GaugeHandle | null;
    bytes: GaugeHandle | null;
  } | null;
  readonly #senders: GaugeHandle | null;
  readonly #clients: GaugeHandle | null;
  readonly #unhook: () => void;

  constructor(metrics: Metrics, options: ReceiverMetricsOptions) {
    this.#metrics = metrics;
    this.#opts = options;
    this.#receivedPkt = metrics.counter(METRIC.RECEIVED_PKT);
    this.#receivedBytes = metrics.counter(METRIC.RECEIVED_BYTES);
    this.#lossNetwork = metrics.counter(METRIC.LOSS_NETWORK_PKT);
    this.#badFrames = metrics.counter(METRIC.BAD_FRAMES);
    this.#refused = metrics.counter(METRIC.LOSS_BAD_FRAME_PKT);
    this.#disconnects = metrics.counter(METRIC.DISCONNECTS, { socket: 'pull' });
    const prom = metrics.prometheus !== null;
    this.#delay = prom ? metrics.histogram(METRIC.DELIVERY_DELAY) : null;
    this.#senders = prom ? metrics.gauge(METRIC.SENDERS) : null;
    this.#clients = prom && options.pcapOverIp ? metrics.gauge(METRIC.PCAP_OVER_IP_CLIENTS) : null;
    this.#ringGauges =
      prom && options.ring !== null
        ? [
            metrics.gauge(METRIC.RING_CAPACITY_BYTES),
            metrics.gauge(METRIC.RING_BYTES),
            metrics.gauge(METRIC.RING_PACKETS),
          ]
        : null;
    this.#reorder =
      options.reorder === null
        ? null
        : {
            late: metrics.counter(METRIC.REORDER_LATE_PKT),
            restamped: metrics.counter(METRIC.REORDER_RESTAMPED_PKT),
            overflow: metrics.counter(METRIC.REORDER_OVERFLOW_PKT),
            packets: prom ? metrics.gauge(METRIC.REORDER_HELD_PACKETS) : null,
            bytes: prom ? metrics.gauge(METRIC.REORDER_HELD_BYTES) : null,
          };
    // The window keeps its own counts (nothing per record reaches a metric); both exporters
    // read them here.
    this.#unhook =
      prom || this.#reorder !== null ? metrics.onExport(() => this.#export()) : () => {};
  }

  /**
   * The counters of output `name`, exported at 0 from now on: the DST's (fifo, file, stdout)
   * are statsd's raw_out.* and loss.fifo.pkt, the others have statsd names of their own
   * (summing them into raw_out would count a packet once per output).
   */
  output(name: OutputName): OutputMetrics {
    const m = this.#metrics;
    let pkt: CounterHandle;
    let bytes: CounterHandle;
    let lost: CounterHandle;
    if (name === 'pcap_over_ip') {
      pkt = m.counter(METRIC.PCAP_OVER_IP_WRITTEN_PKT);
      bytes = m.counter(METRIC.PCAP_OVER_IP_WRITTEN_BYTES);
      lost = m.counter(METRIC.LOSS_PCAP_OVER_IP_PKT);
    } else if (name === 'rotate') {
      pkt = m.counter(METRIC.ROTATE_WRITTEN_PKT);
      bytes = m.counter(METRIC.ROTATE_WRITTEN_BYTES);
      lost = m.counter(METRIC.LOSS_ROTATE_PKT);
    } else {
      pkt = m.counter(METRIC.WRITTEN_PKT, { output: name });
      bytes = m.counter(METRIC.WRITTEN_BYTES, { output: name });
      lost = m.counter(METRIC.LOSS_FIFO_PKT, { output: name });
    }
    return {
      onOut: (packets, b) => {
        pkt.inc(packets);
        bytes.inc(b);
      },
      onLost: (packets) => lost.inc(packets),
    };
  }

  /** PCAP-over-IP clients connected now (Prometheus only). */
  outputClients(clients: number): void {
    this.#clients?.set(clients);
  }

  /** A batch of `count` checked records (`bytes` long) was received in a good frame. */
  received(bytes: number, count: number): void {
    this.#receivedPkt.inc(count);
    this.#receivedBytes.inc(bytes);
  }

  /** A batch is handed to the output: its delivery delay, from its first (oldest) record. */
  handedOut(records: Buffer): void {
    if (this.#delay === null || records.length < 8) return;
    const sec = records.readUInt32LE(0);
    const frac = records.readUInt32LE(4) / (this.#opts.nanosecond ? 1e9 : 1e6);
    const delayS = (this.#opts.now ?? Date.now)() / 1000 - (sec + frac);
    this.#delay.observe(delayS > 0 ? delayS : 0);
  }

  /** Packets missing from a sender's sequence. */
  lostNetwork(packets: number): void {
    this.#lossNetwork.inc(packets);
  }

  /** A message skipped as bad. */
  badFrame(): void {
    this.#badFrames.inc();
  }

  /** The packets of a frame refused after it decoded (another linktype, a sequence jump). */
  refusedPackets(packets: number): void {
    if (packets > 0) this.#refused.inc(packets);
  }

  /** ZeroMQ dropped a peer's connection to the PULL socket. */
  disconnected(): void {
    this.#disconnects.inc();
  }

  /** A v1 frame's metadata: its `host` becomes the sender's `sender_host` label. */
  senderMeta(senderId: string, meta: Buffer): void {
    if (this.#senders === null) return;
    let host: unknown;
    try {
      host = decodeFrameMeta(meta)['host'];
    } catch {
      return; // metadata is informational; a bad one changes no label
    }
    if (typeof host !== 'string') return;
    this.#hosts.set(senderId, host.slice(0, MAX_HOST_CHARS));
    // Bounded between exports too: forget hosts of senders the tracker no longer remembers.
    if (this.#hosts.size > 2 * SEQUENCE_TRACKER_DEFAULT_MAX_SENDERS) this.#prune();
  }

  /** Stops folding in at exports. */
  close(): void {
    this.#unhook();
  }

  #prune(): Set<string> {
    const live = new Set(this.#opts.senders().map((s) => s.id));
    for (const id of this.#hosts.keys()) if (!live.has(id)) this.#hosts.delete(id);
    return live;
  }

  #export(): void {
    const reorder = this.#reorder;
    if (reorder !== null) {
      const s = this.#opts.reorder!();
      reorder.late.inc(s.latePackets - reorder.late.value);
      reorder.restamped.inc(s.restampedPackets - reorder.restamped.value);
      reorder.overflow.inc(s.overflowPackets - reorder.overflow.value);
      reorder.packets?.set(s.heldPackets);
      reorder.bytes?.set(s.heldBytes);
    }
    if (this.#metrics.prometheus === null) return;
    const ring = this.#opts.ring;
    if (this.#ringGauges !== null && ring !== null) {
      const s = ring.stats();
      this.#ringGauges[0].set(ring.windowBytes);
      this.#ringGauges[1].set(s.bytes);
      this.#ringGauges[2].set(s.packets);
    }
    const senders = this.#opts.senders();
    this.#senders?.set(senders.length);
    const live = new Set<string>();
    for (const s of senders) {
      live.add(s.id);
      const host = this.#hosts.get(s.id) ?? '';
      let series = this.#senderSeries.get(s.id);
      if (series !== undefined && series.host !== host) {
        series.packets.remove();
        series.lost.remove();
        series = undefined;
      }
      if (series === undefined) {
        const labels = { sender_id: s.id, sender_host: host };
        series = {
          host,
          packets: this.#metrics.counter(METRIC.SENDER_PKT, labels),
          lost: this.#metrics.counter(METRIC.SENDER_LOST_PKT, labels),
        };
        this.#senderSeries.set(s.id, series);
      }
      series.packets.inc(s.packets - series.packets.value);
      series.lost.inc(s.lost - series.lost.value);
    }
    for (const [id, series] of this.#senderSeries) {
      if (live.has(id)) continue;
      series.packets.remove();
      series.lost.remove();
      this.#senderSeries.delete(id);
      this.#hosts.delete(id);
    }
  }
}

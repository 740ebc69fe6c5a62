// The receiver's outputs side by side: every batch goes to each of them (the DST FIFO/file/
// stdout, PCAP-over-IP clients, rotated files), in the linktype that output writes. Each output
// has its own queue, its own loss counter and its own `output` label; one that is slow or gone
// never holds up another, because no output ever blocks its caller.

import { convertRecords, type ConvertedBatch } from './linktype-convert.js';
import type { PcapSink, PcapSinkStats } from './pcap-sink.js';

/** The `output` label of each kind of output. */
export type OutputName = 'fifo' | 'file' | 'stdout' | 'pcap_over_ip' | 'rotate';

/** One output of a {@link OutputFanout}. */
export interface FanoutOutput {
  /** Its `output` label and the prefix of its fields in the stats line. */
  name: OutputName;
  /** The linktype it writes (101 or 239): batches of the other are converted for it. */
  linktype: number;
  sink: PcapSink;
  /**
   * Records that could not be converted to its linktype (a 239 record without a payload, for
   * a 101 output): counted lost for it.
   */
  onUnconvertible?(packets: number): void;
}

/** One output's counters: its sink's, with unconvertible records counted lost. */
export interface OutputStats {
  name: OutputName;
  linktype: number;
  stats: PcapSinkStats;
}

interface Entry extends FanoutOutput {
  unconvertible: number;
}

/**
 * Hands each batch to every output. A batch whose linktype an output does not write is
 * converted (linktype-convert.ts) once per batch, whichever number of outputs want it so: the
 * conversion is one walk and one buffer per batch, never per packet, and outputs of the batch's
 * own linktype get the very buffer that arrived.
 */
export class OutputFanout {
  readonly #outputs: Entry[] = [];

  /** Add an output; it gets every batch pushed from now on. */
  add(output: FanoutOutput): void {
    this.#outputs.push({ ...output, unconvertible: 0 });
  }

  /** The outputs, in the order they were added. */
  get outputs(): readonly FanoutOutput[] {
    return this.#outputs;
  }

  /**
   * Give one batch of `count` whole, checked records of `linktype` to every output (each
   * references or converts it; nothing is copied for an output of the same linktype).
   */
  push(records: Buffer, count: number, linktype: number): void {
    if (count === 0) return;
    let other: ConvertedBatch | null = null;
    for (const o of this.#outputs) {
      if (o.linktype === linktype) {
        o.sink.push(records, count);
        continue;
      }
      other ??= convertRecords(records, count, linktype, o.linktype);
      if (other.dropped > 0) {
        o.unconvertible += other.dropped;
        o.onUnconvertible?.(other.dropped);
      }
      if (other.count > 0) o.sink.push(other.records, other.count);
    }
  }

  /**
   * `packets` records were dropped before the fan-out because no output's linktype could hold
   * them (239 records without a packet, in a pipeline of 101): counted lost for every output.
   */
  unconvertible(packets: number): void {
    for (const o of this.#outputs) {
      o.unconvertible += packets;
      o.onUnconvertible?.(packets);
    }
  }

  /** SIGHUP: every output reopens as it defines it (a FIFO for its next reader, a new rotated file). */
  reopen(): void {
    for (const o of this.#outputs) o.sink.reopen();
  }

  /** Close every output, each given up to `flushMs` to write what it holds. */
  async close(flushMs: number): Promise<void> {
    await Promise.all(this.#outputs.map((o) => o.sink.close(flushMs)));
  }

  /** Every output's counters, in the order they were added. */
  stats(): OutputStats[] {
    return this.#outputs.map((o) => {
      const stats = o.sink.stats();
      return {
        name: o.name,
        linktype: o.linktype,
        stats: { ...stats, lostPackets: stats.lostPackets + o.unconvertible },
      };
    });
  }
}

// Each read from the kernel handed to the shards: by flow (every packet to the one receiver its
// flow hash maps to, so both directions of a flow reach one IDS) or duplicated (every packet to
// every receiver). Per read, not per packet: the native split groups the read by shard in one
// call, reading each record's flow hash from the index and copying the record once, and each
// shard gets its part as one batch, in kernel order.

import { NFLOG_INDEX_ENTRY_BYTES, groupByShard } from '@nflog-pipe/nflog-native';
import { rendezvousTable } from './rendezvous.js';

/** The labels of a shard's series: its position in the endpoint list (from 0) and endpoint. */
export interface ShardLabels {
  shard: string;
  endpoint: string;
}

/** How several endpoints share the packets. */
export type ShardMode = 'flow' | 'duplicate';

/** What a shard takes: one read's records (SendPipeline.pushRecords). */
export interface ShardSink {
  pushRecords(records: Buffer, count: number, index: Buffer): void;
}

/** Options of {@link ShardRouter}. */
export interface ShardRouterOptions {
  mode: ShardMode;
  /** The endpoints, one per sink, in the same order (their strings decide the flow mapping). */
  endpoints: readonly string[];
  sinks: readonly ShardSink[];
}

/** Routes reads to shards (see the file comment). */
export class ShardRouter {
  readonly #mode: ShardMode;
  readonly #endpoints: readonly string[];
  readonly #sinks: readonly ShardSink[];
  readonly #table: Uint8Array | undefined;
  /** groupByShard's [count, bytes] per shard, reused for every read. */
  readonly #perShard: Uint32Array;
  #live: boolean[];

  /** @throws RangeError when endpoints and sinks differ in number, or there are none */
  constructor(options: ShardRouterOptions) {
    const { mode, endpoints, sinks } = options;
    if (endpoints.length !== sinks.length || sinks.length === 0)
      throw new RangeError(`${sinks.length} sinks for ${endpoints.length} endpoints`);
    this.#mode = mode;
    this.#endpoints = endpoints;
    this.#sinks = sinks;
    this.#live = sinks.map(() => true);
    this.#perShard = new Uint32Array(2 * sinks.length);
    this.#table =
      mode === 'flow' && sinks.length > 1 ? rendezvousTable(endpoints, this.#live) : undefined;
  }

  /** Which shards take flows (all, until {@link setLive} says otherwise). */
  get live(): readonly boolean[] {
    return this.#live;
  }

  /**
   * From the next read on, flows go only to the `live` shards: the table is rebuilt, so the
   * flows of a shard taken out move to the others and nothing else moves. No effect in
   * duplicate mode or with one shard.
   * @throws RangeError when no shard is live or the list has the wrong length
   */
  setLive(live: readonly boolean[]): void {
    if (this.#table !== undefined) rendezvousTable(this.#endpoints, live, this.#table);
    this.#live = [...live];
  }

  /** Hands one read (records, count and their index entries, as NflogSocket delivers them) on. */
  push(records: Buffer, count: number, index: Buffer): void {
    const sinks = this.#sinks;
    if (this.#table === undefined) {
      // One shard, or duplicates: every sink gets the read itself (its frames copy it).
      for (const sink of sinks) sink.pushRecords(records, count, index);
      return;
    }
    const per = this.#perShard;
    const grouped = groupByShard(records, index, this.#table, sinks.length, per);
    let recordsBytes = 0;
    for (let s = 0; s < sinks.length; s++) recordsBytes += per[2 * s + 1]!;
    let r = 0;
    let e = recordsBytes;
    for (let s = 0; s < sinks.length; s++) {
      const n = per[2 * s]!;
      const bytes = per[2 * s + 1]!;
      if (n > 0) {
        const ixBytes = n * NFLOG_INDEX_ENTRY_BYTES;
        sinks[s]!.pushRecords(grouped.subarray(r, r + bytes), n, grouped.subarray(e, e + ixBytes));
        e += ixBytes;
      }
      r += bytes;
    }
  }
}

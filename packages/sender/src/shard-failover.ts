// When a shard's receiver is gone, its flows go elsewhere: the decisions of failover, kept apart
// from sockets and timers so they can be tested with a clock given. The sender samples every
// shard's health on a timer (is a receiver connected, by handshake? did its queue refuse the
// last message?) and feeds the samples here; this says which shards take flows.
//
// A live shard that has been unhealthy for `failoverMs` without a break goes out (its flows move
// to the others, which rendezvous hashing does without moving anything else). An out shard whose
// receiver has been connected again for `failoverMs` comes back in (its flows return). The
// symmetric hold keeps a flapping receiver from moving flows more than once per `failoverMs`.
// The last live shard is never taken out: with every receiver gone, moving its flows helps
// nobody, and its queue keeps what it can for whichever receiver comes back first.

/** One shard's health at one sample. */
export interface ShardHealth {
  /** A receiver has completed its handshake and not disconnected since. */
  connected: boolean;
  /** The last message offered to its ZeroMQ queue was refused (queue full). */
  queueFull: boolean;
}

/** Why a live shard went out, or stayed in although unhealthy. */
export type ShardTrouble = 'no receiver' | 'queue full';

/** A change the failover decided (or declined), for the sender's log and counters. */
export type ShardFailoverEvent =
  | { type: 'out'; shard: number; why: ShardTrouble; unhealthyMs: number }
  | { type: 'in'; shard: number; connectedMs: number }
  /** The shard would have gone out, but it is the last live one (once per spell). */
  | { type: 'kept'; shard: number; why: ShardTrouble };

/** Options of {@link ShardFailover}. */
export interface ShardFailoverOptions {
  /** Number of shards, >= 1. */
  shards: number;
  /** How long a shard must be unhealthy before it goes out, and connected before it returns, ms (> 0). */
  failoverMs: number;
  /** Called with every change, synchronously, after `live` reflects it. */
  onEvent: (event: ShardFailoverEvent) => void;
}

/** Per-shard state between samples. */
interface ShardState {
  live: boolean;
  /** Since when it has been unhealthy (live) or connected (out), ms; undefined = not. */
  since: number | undefined;
  /** A 'kept' event was sent for the current spell. */
  keptWarned: boolean;
}

/** Decides which shards take flows from their sampled health (see the file comment). */
export class ShardFailover {
  readonly #o: ShardFailoverOptions;
  readonly #state: ShardState[];
  readonly #live: boolean[];

  /** @throws RangeError for fewer than one shard or a failover time that is not > 0 */
  constructor(options: ShardFailoverOptions) {
    if (!Number.isInteger(options.shards) || options.shards < 1)
      throw new RangeError(`shards must be an integer >= 1, got ${options.shards}`);
    if (!(options.failoverMs > 0) || !Number.isFinite(options.failoverMs))
      throw new RangeError(`failoverMs must be > 0, got ${options.failoverMs}`);
    this.#o = options;
    this.#state = Array.from({ length: options.shards }, () => ({
      live: true,
      since: undefined,
      keptWarned: false,
    }));
    this.#live = this.#state.map(() => true);
  }

  /** Which shards take flows now (a copy). */
  get live(): boolean[] {
    return [...this.#live];
  }

  /**
   * Takes one sample of every shard's health at `nowMs` (a monotonic clock) and applies what
   * follows from it, each change reported through `onEvent`.
   * @throws RangeError when `health` does not have one entry per shard
   */
  observe(health: readonly ShardHealth[], nowMs: number): void {
    if (health.length !== this.#state.length)
      throw new RangeError(`${health.length} samples for ${this.#state.length} shards`);
    this.#state.forEach((st, shard) => {
      const h = health[shard]!;
      if (st.live) this.#observeLive(st, shard, h, nowMs);
      else this.#observeOut(st, shard, h, nowMs);
    });
  }

  #observeLive(st: ShardState, shard: number, h: ShardHealth, nowMs: number): void {
    const why: ShardTrouble | undefined = !h.connected
      ? 'no receiver'
      : h.queueFull
        ? 'queue full'
        : undefined;
    if (why === undefined) {
      st.since = undefined;
      st.keptWarned = false;
      return;
    }
    st.since ??= nowMs;
    const unhealthyMs = nowMs - st.since;
    if (unhealthyMs < this.#o.failoverMs) return;
    if (this.#live.filter(Boolean).length <= 1) {
      if (!st.keptWarned) {
        st.keptWarned = true;
        this.#o.onEvent({ type: 'kept', shard, why });
      }
      return;
    }
    st.live = false;
    st.since = undefined;
    st.keptWarned = false;
    this.#live[shard] = false;
    this.#o.onEvent({ type: 'out', shard, why, unhealthyMs });
  }

  #observeOut(st: ShardState, shard: number, h: ShardHealth, nowMs: number): void {
    // An out shard gets no messages, so its queue says nothing new: a receiver that is there
    // again is what counts. If it is still too slow, its queue fills again and it goes out again.
    if (!h.connected) {
      st.since = undefined;
      return;
    }
    st.since ??= nowMs;
    const connectedMs = nowMs - st.since;
    if (connectedMs < this.#o.failoverMs) return;
    st.live = true;
    st.since = undefined;
    this.#live[shard] = true;
    this.#o.onEvent({ type: 'in', shard, connectedMs });
  }
}

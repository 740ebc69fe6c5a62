// The rate-control decision, with an injected clock so tests are exact. The Python tool's
// shaper.py mixed this decision with zlib and framing; here it is only the arithmetic, and the
// v1 (per frame) and legacy (0x00/0x01 window) encodings sit on top of it.
//
// Exact semantics (also in the package README, "Rate control"):
//
// - The shaper measures the rate of the bytes offered to verdict(), over a window. It starts in
//   'pass' with an empty window opened at construction.
// - verdict(bytes) returns the current regime for this message, then adds `bytes` to the window.
//   The message that makes the window's byte count exceed `windowBytes` (strictly) closes it:
//   rate = windowed bytes / elapsed time, the next regime is chosen, a new empty window opens
//   at that instant. The closing message itself is handled under the old regime (it was part of
//   the window that was measured).
// - Next regime: rate > hwm (hwm != 0) → 'drop'; else rate > lwm (lwm != 0) → 'compress'; else
//   'pass'. Equal to a watermark is not above it (Python used `>` too).
// - Bytes are counted in every regime, dropped ones too: the shaper measures the offered load,
//   so a drop regime can see the load fall and recover. Python counted compressed output bytes
//   while compressing, so a steady load between the watermarks made it flap between compress
//   and pass every window; counting what is offered keeps one regime for one load.
// - Recovery is also bounded in time: in 'compress' or 'drop' a window also closes at the first
//   verdict() once elapsed ≥ windowBytes / (that regime's watermark). By then the window's rate
//   can no longer exceed that watermark, so waiting for it to fill (10 MiB at a trickle, with the
//   defaults) would only prolong dropping. In 'pass' only the byte count closes a window.
// - A window that closes with no measurable elapsed time has an infinite rate.
// - lwm = 0 never compresses; hwm = 0 never drops; both 0 disables the shaper: every verdict is
//   'pass' and no window is kept.

import { MIB } from '@nflog-pipe/shared';
import { ShaperRangeError } from './errors.js';

/** What the shaper decided for one message. */
export type ShaperVerdict = 'pass' | 'compress' | 'drop';

/** Default low watermark, bytes per second (1.0 MiB/s, as the Python tool). */
export const DEFAULT_LWM_BPS = 1 * MIB;
/** Default high watermark, bytes per second (5.0 MiB/s, as the Python tool). */
export const DEFAULT_HWM_BPS = 5 * MIB;

/**
 * The default measurement window for given watermarks: max(2·hwm, 4·lwm) bytes, i.e. two
 * seconds' worth at the high watermark (the Python tool's default). 0 when both are 0.
 */
export function defaultWindowBytes(lwmBps: number, hwmBps: number): number {
  return Math.floor(Math.max(2 * hwmBps, 4 * lwmBps));
}

/** Options of {@link RateShaper}. */
export interface RateShaperOptions {
  /** Low watermark in bytes per second: above it messages are compressed. 0 disables. */
  lwmBps: number;
  /** High watermark in bytes per second: above it messages are dropped. 0 disables. */
  hwmBps: number;
  /** Window size in bytes after which the rate is re-measured. Default {@link defaultWindowBytes}. */
  windowBytes?: number;
  /** Monotonic clock in milliseconds. Default `performance.now`. */
  now?: () => number;
  /** Called when a window closes and the regime changes (for a log line), with the measured rate. */
  onRegimeChange?: (regime: ShaperVerdict, rateBps: number, previous: ShaperVerdict) => void;
}

/** Counters of a {@link RateShaper}; packets are verdict() calls, bytes are what they offered. */
export interface RateShaperStats {
  passPkts: number;
  passBytes: number;
  compressPkts: number;
  compressBytes: number;
  dropPkts: number;
  dropBytes: number;
  /** Windows closed (rate measurements made). */
  windows: number;
  /** Rate measured when the last window closed, bytes per second (0 before the first). */
  lastRateBps: number;
}

function checkRate(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new ShaperRangeError(
      'ERR_SHAPER_BAD_WATERMARK',
      `${name} must be a finite number >= 0, got ${value}`,
    );
  }
}

/**
 * Decides, message by message, whether to pass, compress or drop, from the offered byte rate
 * measured over windows of `windowBytes` (see the semantics at the top of rate-shaper.ts and the
 * README). Pure arithmetic plus one clock read per call; no timers.
 *
 * @throws ShaperRangeError (a RangeError) `ERR_SHAPER_BAD_WATERMARK` when a watermark is negative
 *   or not finite, or when hwm < lwm with both non-zero; `ERR_SHAPER_BAD_WINDOW` when the window
 *   is not a positive finite number while a watermark is set.
 */
export class RateShaper {
  readonly lwmBps: number;
  readonly hwmBps: number;
  readonly windowBytes: number;
  /** False when both watermarks are 0: every verdict is 'pass'. */
  readonly enabled: boolean;
  #now: () => number;
  #onRegimeChange: RateShaperOptions['onRegimeChange'];
  #regime: ShaperVerdict = 'pass';
  #windowStartMs: number;
  #windowCount = 0;
  /** The instant the time rule closes the current window (Infinity in 'pass'). */
  #closeByMs = Infinity;
  #stats: RateShaperStats = {
    passPkts: 0,
    passBytes: 0,
    compressPkts: 0,
    compressBytes: 0,
    dropPkts: 0,
    dropBytes: 0,
    windows: 0,
    lastRateBps: 0,
  };

  constructor(options: RateShaperOptions) {
    const { lwmBps, hwmBps } = options;
    checkRate('lwm', lwmBps);
    checkRate('hwm', hwmBps);
    if (lwmBps > 0 && hwmBps > 0 && hwmBps < lwmBps) {
      throw new ShaperRangeError(
        'ERR_SHAPER_BAD_WATERMARK',
        `hwm (${hwmBps} B/s) must not be below lwm (${lwmBps} B/s)`,
      );
    }
    this.lwmBps = lwmBps;
    this.hwmBps = hwmBps;
    this.enabled = lwmBps > 0 || hwmBps > 0;
    const windowBytes = options.windowBytes ?? defaultWindowBytes(lwmBps, hwmBps);
    if (this.enabled && !(Number.isFinite(windowBytes) && windowBytes > 0)) {
      throw new ShaperRangeError(
        'ERR_SHAPER_BAD_WINDOW',
        `windowBytes must be a number > 0, got ${windowBytes}`,
      );
    }
    this.windowBytes = this.enabled ? windowBytes : 0;
    this.#now = options.now ?? (() => performance.now());
    this.#onRegimeChange = options.onRegimeChange;
    this.#windowStartMs = this.enabled ? this.#now() : 0;
  }

  /** The regime the next message will get (before its own bytes are counted). */
  get regime(): ShaperVerdict {
    return this.#regime;
  }

  /** Number of windows closed so far; a change tells a caller a measurement just happened. */
  get windows(): number {
    return this.#stats.windows;
  }

  /**
   * Decide for one message of `bytes` bytes and count it in the window; may close the window
   * (the decision for the next message can change, never this one's).
   * @param bytes the message's size as offered, bytes
   */
  verdict(bytes: number): ShaperVerdict {
    const regime = this.#regime;
    const s = this.#stats;
    if (regime === 'pass') {
      s.passPkts++;
      s.passBytes += bytes;
    } else if (regime === 'compress') {
      s.compressPkts++;
      s.compressBytes += bytes;
    } else {
      s.dropPkts++;
      s.dropBytes += bytes;
    }
    if (!this.enabled) return regime;
    this.#windowCount += bytes;
    const nowMs = this.#now();
    if (this.#windowCount > this.windowBytes || nowMs >= this.#closeByMs) this.#closeWindow(nowMs);
    return regime;
  }

  /** A copy of the counters. */
  stats(): RateShaperStats {
    return { ...this.#stats };
  }

  #closeWindow(nowMs: number): void {
    const elapsedMs = nowMs - this.#windowStartMs;
    const rateBps = elapsedMs > 0 ? (this.#windowCount * 1000) / elapsedMs : Infinity;
    let next: ShaperVerdict = 'pass';
    if (this.hwmBps > 0 && rateBps > this.hwmBps) next = 'drop';
    else if (this.lwmBps > 0 && rateBps > this.lwmBps) next = 'compress';
    this.#stats.windows++;
    this.#stats.lastRateBps = rateBps;
    this.#windowCount = 0;
    this.#windowStartMs = nowMs;
    const previous = this.#regime;
    this.#regime = next;
    // Time rule: the rate of a window still open after windowBytes / watermark seconds cannot
    // exceed that watermark any more, so close it then and step down without waiting to fill.
    const watermark = next === 'drop' ? this.hwmBps : next === 'compress' ? this.lwmBps : 0;
    this.#closeByMs = watermark > 0 ? nowMs + (this.windowBytes * 1000) / watermark : Infinity;
    if (next !== previous) this.#onRegimeChange?.(next, rateBps, previous);
  }
}

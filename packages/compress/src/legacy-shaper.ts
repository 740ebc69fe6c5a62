// The Python tool's rate-control framing, written byte-compatibly: in 'pass' each message goes
// out as 0x00 + message; in 'compress' messages are appended as (u32 BE length + message) to a
// window that goes out as 0x01 + zlib stream; in 'drop' nothing goes out. Unlike the Python tool
// (which held a window until the next rate measurement, forever if traffic stopped, and lost it
// when switching to drop), a window is also flushed after `flushMs`, when it reaches
// `maxPendingBytes`, and whenever the shaper closes a measurement window.

import type * as Zlib from 'node:zlib';
import { MIB, NflogPipeError, lazyRequire } from '@nflog-pipe/shared';
import {
  LEGACY_SHAPED_PLAIN,
  LEGACY_SHAPED_ZLIB,
  LEGACY_WINDOW_LENGTH_BYTES,
} from './decode-legacy-shaped.js';
import type { CompressErrorCode } from './errors.js';
import type { RateShaper, ShaperVerdict } from './rate-shaper.js';

// zlib is loaded at the first use, not at import (shared's lazyRequire): a sender without
// --rate-control never needs it.
const zlib = lazyRequire<typeof Zlib>(import.meta.url, 'node:zlib');

/** Default time a compressed window may wait for more messages before it is sent, ms. */
export const LEGACY_DEFAULT_FLUSH_MS = 100;
/** Default uncompressed size at which a compressed window is sent at once, bytes (1 MiB). */
export const LEGACY_DEFAULT_MAX_PENDING_BYTES = MIB;

/** Timer functions, injectable so tests control time; defaults are the global ones. */
export interface ShaperTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Options of {@link LegacyShaper}. */
export interface LegacyShaperOptions {
  /** The rate decision (its clock is the one that matters for the watermarks). */
  shaper: RateShaper;
  /**
   * Receives every output message (0x00 + message, or 0x01 + zlib window) and how many input
   * messages it carries. The buffer is fresh, never pooled memory (safe for zeromq.js send()).
   */
  onMessage: (msg: Buffer, packets: number) => void;
  /** Longest a compressed window waits before it is sent, ms. Default 100. */
  flushMs?: number;
  /** Uncompressed window size (length prefixes included) that sends it at once, bytes. Default 1 MiB. */
  maxPendingBytes?: number;
  /** zlib level; default Z_DEFAULT_COMPRESSION (6), as Python's zlib.compressobj(). */
  level?: number;
  /** Timers for the flush; default the global setTimeout/clearTimeout. */
  timers?: ShaperTimers;
}

/** Counters of a {@link LegacyShaper}. */
export interface LegacyShaperStats {
  /** Messages emitted as 0x00 + message. */
  plainMsgs: number;
  /** Windows emitted as 0x01 + zlib stream. */
  windowMsgs: number;
  /** Input messages carried inside emitted windows. */
  windowPkts: number;
  /** Bytes of all emitted messages (prefix byte included). */
  outBytes: number;
  /** Input messages dropped (shaper above hwm). */
  dropPkts: number;
  /** Input bytes dropped. */
  dropBytes: number;
  /** Input messages waiting in the open window. */
  pendingPkts: number;
  /** Uncompressed bytes waiting in the open window (length prefixes included). */
  pendingBytes: number;
}

const defaultTimers: ShaperTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * Shapes a stream of messages into the Python tool's 0x00/0x01 framing, driven by a
 * {@link RateShaper}. Output goes to `onMessage` synchronously from push(), flush() and the
 * flush timer; order of output equals order of input (dropped ones left out).
 */
export class LegacyShaper {
  #shaper: RateShaper;
  #onMessage: LegacyShaperOptions['onMessage'];
  #flushMs: number;
  #maxPendingBytes: number;
  #level: number;
  #timers: ShaperTimers;
  #timer: unknown = undefined;
  #chunks: Buffer[] = [];
  #closed = false;
  #stats: LegacyShaperStats = {
    plainMsgs: 0,
    windowMsgs: 0,
    windowPkts: 0,
    outBytes: 0,
    dropPkts: 0,
    dropBytes: 0,
    pendingPkts: 0,
    pendingBytes: 0,
  };

  /** @throws RangeError when flushMs or maxPendingBytes is not a positive finite number. */
  constructor(options: LegacyShaperOptions) {
    this.#shaper = options.shaper;
    this.#onMessage = options.onMessage;
    this.#flushMs = options.flushMs ?? LEGACY_DEFAULT_FLUSH_MS;
    this.#maxPendingBytes = options.maxPendingBytes ?? LEGACY_DEFAULT_MAX_PENDING_BYTES;
    if (!(this.#flushMs > 0 && Number.isFinite(this.#flushMs)))
      throw new RangeError(`flushMs must be > 0`);
    if (!(this.#maxPendingBytes > 0)) throw new RangeError(`maxPendingBytes must be > 0`);
    this.#level = options.level ?? zlib().constants.Z_DEFAULT_COMPRESSION;
    this.#timers = options.timers ?? defaultTimers;
  }

  /**
   * Shape one message: emits 0x00 + msg at once, adds it to the compressed window, or drops it,
   * as the shaper decides. `msg` is kept by reference until its window is sent: do not modify it.
   * @returns the shaper's verdict for this message (callers count 'drop' as loss)
   * @throws NflogPipeError ERR_SHAPER_CLOSED after close()
   */
  push(msg: Buffer): ShaperVerdict {
    if (this.#closed) {
      throw new NflogPipeError(
        'ERR_SHAPER_CLOSED' satisfies CompressErrorCode,
        'push() after close()',
      );
    }
    const windowsBefore = this.#shaper.windows;
    const verdict = this.#shaper.verdict(msg.length);
    const s = this.#stats;
    if (verdict === 'pass') {
      const out = Buffer.allocUnsafeSlow(1 + msg.length);
      out[0] = LEGACY_SHAPED_PLAIN;
      msg.copy(out, 1);
      s.plainMsgs++;
      s.outBytes += out.length;
      this.#onMessage(out, 1);
    } else if (verdict === 'compress') {
      const length = Buffer.allocUnsafe(LEGACY_WINDOW_LENGTH_BYTES);
      length.writeUInt32BE(msg.length, 0);
      this.#chunks.push(length, msg);
      s.pendingPkts++;
      s.pendingBytes += LEGACY_WINDOW_LENGTH_BYTES + msg.length;
      if (s.pendingPkts === 1)
        this.#timer = this.#timers.setTimeout(() => this.#onTimer(), this.#flushMs);
      if (s.pendingBytes >= this.#maxPendingBytes) this.flush();
    } else {
      s.dropPkts++;
      s.dropBytes += msg.length;
    }
    // A rate measurement ends the window, as in the Python tool (and before a regime change,
    // so nothing compressed is ever held back while passing or lost while dropping).
    if (this.#shaper.windows !== windowsBefore) this.flush();
    return verdict;
  }

  /** Send the open compressed window now, if there is one. */
  flush(): void {
    const s = this.#stats;
    if (this.#timer !== undefined) {
      this.#timers.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (s.pendingPkts === 0) return;
    const raw = Buffer.concat(this.#chunks, s.pendingBytes);
    const packets = s.pendingPkts;
    this.#chunks = [];
    s.pendingPkts = 0;
    s.pendingBytes = 0;
    // One-shot zlib over the whole window: the same format as Python's compressobj() stream
    // (zlib header, deflate, adler32), so zlib.decompress() on the other end reads it.
    const deflated = zlib().deflateSync(raw, { level: this.#level });
    const out = Buffer.allocUnsafeSlow(1 + deflated.length);
    out[0] = LEGACY_SHAPED_ZLIB;
    deflated.copy(out, 1);
    s.windowMsgs++;
    s.windowPkts += packets;
    s.outBytes += out.length;
    this.#onMessage(out, packets);
  }

  /** Flush the open window and stop the timer; push() afterwards throws. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
  }

  /** A copy of the counters. */
  stats(): LegacyShaperStats {
    return { ...this.#stats };
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.flush();
  }
}

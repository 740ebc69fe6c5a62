// Test helpers for this package: a fake clock with timers, v1 frame builders.

import { encodeFrame } from '@nflog-pipe/shared';
import type { ShaperTimers } from '../src/index.js';

/** A manual clock (ms) with timers that fire only when advanced past their deadline. */
export class FakeClock implements ShaperTimers {
  nowMs = 0;
  #timers = new Map<number, { at: number; fn: () => void }>();
  #nextId = 1;
  readonly now = (): number => this.nowMs;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.nowMs + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }
  get pendingTimers(): number {
    return this.#timers.size;
  }
  /** Moves time forward by `ms`, firing due timers in deadline order at their deadlines. */
  advance(ms: number): void {
    const end = this.nowMs + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.#timers)
        if (e[1].at <= end && (due === undefined || e[1].at < due[1].at)) due = e;
      if (due === undefined) break;
      this.#timers.delete(due[0]);
      this.nowMs = Math.max(this.nowMs, due[1].at);
      due[1].fn();
    }
    this.nowMs = end;
  }
}

/** pcap records (LE header, microseconds) for the given payloads. */
export function makeRecords(payloads: readonly Buffer[], tsSec = 1_700_000_000): Buffer {
  const parts: Buffer[] = [];
  payloads.forEach((p, i) => {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(tsSec + i, 0);
    h.writeUInt32LE(i * 10, 4);
    h.writeUInt32LE(p.length, 8);
    h.writeUInt32LE(p.length, 12);
    parts.push(h, p);
  });
  return Buffer.concat(parts);
}

/** A v1 frame of the given payloads (uncompressed). */
export function makeFrame(payloads: readonly Buffer[], firstSeq = 0n, meta?: Buffer): Buffer {
  return encodeFrame(
    {
      linktype: 101,
      senderId: 0x1122334455667788n,
      firstSeq,
      count: payloads.length,
      ...(meta ? { meta } : {}),
    },
    makeRecords(payloads),
  );
}

/** A compressible payload: a repeating text pattern, `size` bytes, varied by `i`. */
export function textPayload(i: number, size: number): Buffer {
  const unit = Buffer.from(`GET /index-${i % 7}.html HTTP/1.1\r\nHost: example.test\r\n\r\n`);
  const out = Buffer.alloc(size);
  for (let k = 0; k < size; k++) out[k] = unit[k % unit.length]!;
  return out;
}

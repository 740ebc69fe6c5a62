// The v1 rate-control step, the one place that turns a shaper's verdict into what goes on the
// wire: pass → the plain frame, compress → a compressed frame (or the plain one when deflate
// would not make it smaller), drop → nothing. The sender (inline --rate-control) and the
// compress relay both call it, and the property tests check it, so the policy has one copy.

import {
  WIRE_FLAG_COMPRESSED,
  WIRE_ORDER_FIXED_BYTES,
  WIRE_V1_HEADER_BYTES,
  encodeFrame,
  type FrameFields,
} from '@nflog-pipe/shared';
import { encodeCompressedFrame } from './frame-deflate.js';
import type { RateShaper } from './rate-shaper.js';

/** One v1 frame on its way through rate control. */
export interface FrameToShape {
  /**
   * Its header fields. A relay passes the decoded `Frame` itself (it carries every field, and
   * `records` as carried); a sender passes the fields of the frame it is about to build.
   */
  fields: FrameFields;
  /** Its records section as carried (plain unless `fields.flags` has WIRE_FLAG_COMPRESSED), or consecutive pieces of it. */
  records: Buffer | readonly Buffer[];
  /**
   * The frame already encoded (a relay's input message): sent as it is when it passes, and
   * never encoded again. Without it the frame is encoded here, once.
   */
  encoded?: Buffer;
}

function recordsLength(records: Buffer | readonly Buffer[]): number {
  if (Buffer.isBuffer(records)) return records.length;
  let n = 0;
  for (const piece of records) n += piece.length;
  return n;
}

/**
 * Runs one v1 frame through rate control. The shaper is offered the frame's size as it would
 * go out uncompressed (header, metadata, kernel-order section and records); its verdict decides:
 * - `pass`: the plain frame (`encoded` itself when given);
 * - `compress`: the records deflated into a compressed frame, deflated once and encoded once;
 *   the plain frame when deflate would not make them smaller, or when they already are;
 * - `drop`: null; the caller counts the frame's `count` packets as shaper loss.
 *
 * A heartbeat (count 0) is never offered to the shaper and always passes: it carries only the
 * sender's sequence position, which reveals earlier drops to the receiver, and is too small to
 * matter to the rate.
 *
 * @returns the frame to send (never pooled memory unless it is `encoded`), or null when dropped
 * @throws WireError from encodeFrame for a field out of range
 */
export function shapeFrame(shaper: RateShaper, frame: FrameToShape): Buffer | null {
  const { fields, records, encoded } = frame;
  if (fields.count === 0) return encoded ?? encodeFrame(fields, records);
  const offeredBytes =
    encoded?.length ??
    WIRE_V1_HEADER_BYTES +
      (fields.meta?.length ?? 0) +
      (fields.order === undefined ? 0 : WIRE_ORDER_FIXED_BYTES + fields.order.seqGlobal.length) +
      recordsLength(records);
  const verdict = shaper.verdict(offeredBytes);
  if (verdict === 'drop') return null;
  if (verdict === 'pass' || ((fields.flags ?? 0) & WIRE_FLAG_COMPRESSED) !== 0)
    return encoded ?? encodeFrame(fields, records);
  return encodeCompressedFrame(fields, records, encoded !== undefined ? { plain: encoded } : {});
}

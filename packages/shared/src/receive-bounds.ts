// Memory of a receiving ZeroMQ socket, bounded whatever its peers send. libzmq queues whole
// messages and counts its receive queue (ZMQ_RCVHWM) in messages only, so a queue of 1000
// messages of unbounded size has no bound at all. Two options together give one in bytes:
// ZMQ_MAXMSGSIZE refuses a larger message from its size header, before any of it is buffered
// (libzmq drops that peer's connection), and ZMQ_RCVHWM is then as many messages of the largest
// accepted size as fit in the byte budget. What that largest size is follows from the wire
// formats a socket takes and the largest frame it accepts (maxMessageBytes).

import { LEGACY_HEADER_BYTES } from './wire-legacy.js';
import { WIRE_MAX_META_BYTES, WIRE_MAX_RECORD_BYTES, WIRE_V1_HEADER_BYTES } from './wire-v1.js';

/** Fewest messages a receive queue holds: below this, small messages cost a thread wake-up each. */
export const RECEIVE_QUEUE_MIN_MESSAGES = 4;

/** The zeromq.js socket options of {@link boundedReceiveOptions}. */
export interface BoundedReceiveOptions {
  /** ZMQ_MAXMSGSIZE, bytes. */
  maxMessageSize: number;
  /** ZMQ_RCVHWM, messages. */
  receiveHighWaterMark: number;
}

/**
 * Socket options for a receiving socket that accepts messages of at most `maxMessageBytes` and
 * may queue about `queueBytes` of them: ZMQ_MAXMSGSIZE = maxMessageBytes, ZMQ_RCVHWM =
 * floor(queueBytes / maxMessageBytes), at least RECEIVE_QUEUE_MIN_MESSAGES. What the queue can
 * hold is then at most max(queueBytes, RECEIVE_QUEUE_MIN_MESSAGES × maxMessageBytes).
 * @throws RangeError unless both are integers >= 1
 */
export function boundedReceiveOptions(
  maxMessageBytes: number,
  queueBytes: number,
): BoundedReceiveOptions {
  for (const [name, v] of [
    ['maxMessageBytes', maxMessageBytes],
    ['queueBytes', queueBytes],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 1)
      throw new RangeError(`${name} must be an integer >= 1, got ${v}`);
  }
  return {
    maxMessageSize: maxMessageBytes,
    receiveHighWaterMark: Math.max(
      RECEIVE_QUEUE_MIN_MESSAGES,
      Math.floor(queueBytes / maxMessageBytes),
    ),
  };
}

/** Which message formats a receiving socket must accept (see {@link maxMessageBytes}). */
export interface AcceptedMessages {
  /** v1 frames (plain or compressed). */
  v1: boolean;
  /** Legacy packet messages (one XDR packet each). */
  legacy: boolean;
  /** Legacy messages carry the 0x00/0x01 rate-control prefix (0x01: a zlib window). */
  rateControl: boolean;
  /**
   * Largest uncompressed records section of a v1 frame, and largest inflated legacy window,
   * bytes (the receiver's `--max-frame`, a relay's inflate cap).
   */
  maxRawBytes: number;
}

/**
 * Most bytes a deflate stream (raw, or zlib with its 6-byte wrapper) of `n` input bytes can
 * take: zlib's deflateBound() (stored blocks of incompressible data), plus the wrapper.
 */
export function deflatedBound(n: number): number {
  return n + Math.floor(n / 4096) + Math.floor(n / 16384) + Math.floor(n / 33554432) + 13 + 6;
}

/**
 * The largest single ZeroMQ message a receiver of `accepted` must take (its ZMQ_MAXMSGSIZE): a
 * v1 frame is the 40-byte header, at most 65535 bytes of metadata and a records section of at
 * most `maxRawBytes`, deflated at deflate's worst expansion ({@link deflatedBound}); a legacy
 * packet is its 16-byte header and at most 262144 bytes; a rate-control message is one byte and
 * either such a packet or a zlib window inflating to at most `maxRawBytes`. Anything larger is
 * refused by libzmq before it takes memory (the connection is dropped; the peer reconnects).
 */
export function maxMessageBytes(accepted: AcceptedMessages): number {
  let max = 0;
  if (accepted.v1) {
    max = WIRE_V1_HEADER_BYTES + WIRE_MAX_META_BYTES + deflatedBound(accepted.maxRawBytes);
  }
  if (accepted.legacy) {
    const packet = LEGACY_HEADER_BYTES + WIRE_MAX_RECORD_BYTES;
    const legacy = accepted.rateControl
      ? 1 + Math.max(packet, deflatedBound(accepted.maxRawBytes))
      : packet;
    max = Math.max(max, legacy);
  }
  return max;
}

// Memory of a receiving ZeroMQ socket, bounded whatever its peers send. libzmq queues whole
// messages and counts its receive queue (ZMQ_RCVHWM) in messages only, so a queue of 1000
// messages of unbounded size has no bound at all. Two options together give one in bytes:
// ZMQ_MAXMSGSIZE refuses a larger message from its size header, before any of it is buffered
// (libzmq drops that peer's connection), and ZMQ_RCVHWM is then as many messages of the largest
// accepted size as fit in the byte budget.

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

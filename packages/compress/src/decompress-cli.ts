// nflog-zmq-decompress SRC DST: undoes nflog-zmq-compress (or a sender's --rate-control) for
// receivers that cannot. Thin: parse, wire inflateFrame/decodeLegacyShaped to the relay loop.

import {
  METRIC,
  MIB,
  WireError,
  addMetricsListenOption,
  addStatsdOptions,
  createProgram,
  frameRecordCount,
  isV1Frame,
  parseMiB,
  runProgram,
} from '@nflog-pipe/shared';
import { decodeLegacyShaped, LEGACY_DEFAULT_MAX_INFLATED_BYTES } from './decode-legacy-shaped.js';
import { inflateFrame } from './frame-deflate.js';
import { addRelayOptions } from './relay-options.js';
import { relayMaxMessageBytes, runRelayProgram } from './relay.js';

const SUMMARY = [
  METRIC.DECOMPRESS_IN_PKT,
  METRIC.DECOMPRESS_IN_BYTES,
  METRIC.DECOMPRESS_OUT_PKT,
  METRIC.DECOMPRESS_OUT_BYTES,
  METRIC.LOSS_QUEUE_PKT,
  METRIC.BAD_FRAMES,
  METRIC.AUTH_REJECTED,
] as const;

/**
 * The nflog-zmq-decompress CLI: `argv` are the user arguments (process.argv.slice(2)).
 * @returns the exit code: 0 (also after SIGTERM/SIGINT), 1 runtime failure, 2 usage
 */
export function mainDecompress(argv: string[]): Promise<number> {
  const program = createProgram(
    'nflog-zmq-decompress',
    'Relay from a PULL socket to a PUSH socket, inflating compressed v1 frames and legacy 0x00/0x01 messages.',
  );
  addRelayOptions(program);
  program.option(
    '--max-inflate <MiB>',
    `largest inflated frame or legacy window; larger ones are counted as bad and skipped, MiB (default: ${LEGACY_DEFAULT_MAX_INFLATED_BYTES / MIB})`,
    parseMiB,
  );
  addStatsdOptions(program);
  addMetricsListenOption(program);
  return runProgram(program, argv, (ctx) => {
    const maxBytes =
      (ctx.opts['maxInflate'] as number | undefined) ?? LEGACY_DEFAULT_MAX_INFLATED_BYTES;
    return runRelayProgram(ctx, {
      component: 'decompress',
      outPkt: METRIC.DECOMPRESS_OUT_PKT,
      outBytes: METRIC.DECOMPRESS_OUT_BYTES,
      summary: SUMMARY,
      // A whole decompressed window fits in the queue.
      defaultQueueBytes: maxBytes,
      maxMessageBytes: relayMaxMessageBytes(maxBytes),
      makeTransform: ({ send, bad, metrics, wire }) => ({
        onMessage(msg) {
          metrics.increment(METRIC.DECOMPRESS_IN_BYTES, msg.length);
          try {
            if (wire === 'v1' || (wire === 'auto' && isV1Frame(msg))) {
              const frame = inflateFrame(msg, { maxRawBytes: maxBytes });
              const count = frameRecordCount(frame); // checked by inflateFrame
              metrics.increment(METRIC.DECOMPRESS_IN_PKT, count);
              send(frame, count);
            } else {
              const msgs = decodeLegacyShaped(msg, { maxInflatedBytes: maxBytes });
              metrics.increment(METRIC.DECOMPRESS_IN_PKT, msgs.length);
              for (const m of msgs) send(m, 1);
            }
          } catch (err) {
            if (err instanceof WireError) return bad(err);
            throw err;
          }
        },
        close: () => {},
      }),
    });
  });
}

// nflog-zmq-compress SRC DST: the rate-control shaper as a relay. Thin: parse, convert units,
// wire RateShaper/LegacyShaper/shapeFrame to the relay loop.

import {
  METRIC,
  MIB,
  WIRE_DEFAULT_MAX_RAW_BYTES,
  WireError,
  addMetricsListenOption,
  addStatsdOptions,
  createProgram,
  decodeFrame,
  isV1Frame,
  runProgram,
  type Frame,
} from '@nflog-pipe/shared';
import { LegacyShaper } from './legacy-shaper.js';
import { RateShaper } from './rate-shaper.js';
import {
  addRateControlOptions,
  rateControlUsage,
  shaperOptionsFrom,
} from './rate-control-options.js';
import { shapeFrame } from './shape-frame.js';
import { addRelayOptions } from './relay-options.js';
import { relayMaxMessageBytes, runRelayProgram } from './relay.js';

const SUMMARY = [
  METRIC.COMPRESS_IN_PKT,
  METRIC.COMPRESS_IN_BYTES,
  METRIC.COMPRESS_OUT_PKT,
  METRIC.COMPRESS_OUT_BYTES,
  METRIC.LOSS_SHAPER_PKT,
  METRIC.LOSS_QUEUE_PKT,
  METRIC.BAD_FRAMES,
  METRIC.AUTH_REJECTED,
] as const;

/**
 * The nflog-zmq-compress CLI: `argv` are the user arguments (process.argv.slice(2)).
 * @returns the exit code: 0 (also after SIGTERM/SIGINT), 1 runtime failure, 2 usage
 */
export function mainCompress(argv: string[]): Promise<number> {
  const program = createProgram(
    'nflog-zmq-compress',
    'Relay from a PULL socket to a PUSH socket, compressing above --lwm and dropping above --hwm (rate of the offered bytes).',
  );
  addRelayOptions(program);
  addRateControlOptions(program, { alwaysEnabled: true });
  addStatsdOptions(program);
  addMetricsListenOption(program);
  return runProgram(program, argv, (ctx) => {
    const rc = shaperOptionsFrom(ctx.opts, { alwaysEnabled: true })!;
    return runRelayProgram(ctx, {
      component: 'compress',
      outPkt: METRIC.COMPRESS_OUT_PKT,
      outBytes: METRIC.COMPRESS_OUT_BYTES,
      summary: SUMMARY,
      // Input frames are decoded with decodeFrame's default cap on their records.
      maxMessageBytes: relayMaxMessageBytes(WIRE_DEFAULT_MAX_RAW_BYTES),
      makeTransform: ({ send, bad, logger: log, metrics, wire }) => {
        let shaper: RateShaper;
        try {
          shaper = new RateShaper({
            ...rc,
            onRegimeChange: (regime, rateBps, previous) => {
              const fields = { rate_mibps: Number((rateBps / MIB).toFixed(3)), previous };
              if (regime === 'drop') log.warn('rate above --hwm: dropping', fields);
              else log.info(`rate control: ${regime}`, fields);
            },
          });
        } catch (err) {
          throw rateControlUsage(err);
        }
        const legacy = new LegacyShaper({ shaper, flushMs: rc.flushMs, onMessage: send });
        return {
          onMessage(msg) {
            metrics.increment(METRIC.COMPRESS_IN_BYTES, msg.length);
            if (wire === 'legacy' || (wire === 'auto' && !isV1Frame(msg))) {
              // Legacy messages are opaque here, as in the Python tool: one message, one packet.
              metrics.increment(METRIC.COMPRESS_IN_PKT, 1);
              if (legacy.push(msg) === 'drop') metrics.increment(METRIC.LOSS_SHAPER_PKT, 1);
              return;
            }
            // Decoded once: checked (a bad frame is counted, not relayed), counted, and handed
            // to shapeFrame as it is, which sends the message itself unless it compresses it.
            let frame: Frame;
            try {
              frame = decodeFrame(msg);
            } catch (err) {
              if (err instanceof WireError) return bad(err);
              throw err;
            }
            metrics.increment(METRIC.COMPRESS_IN_PKT, frame.count);
            const out = shapeFrame(shaper, { fields: frame, records: frame.records, encoded: msg });
            if (out === null) metrics.increment(METRIC.LOSS_SHAPER_PKT, frame.count);
            else send(out, frame.count);
          },
          close: () => legacy.close(),
        };
      },
    });
  });
}

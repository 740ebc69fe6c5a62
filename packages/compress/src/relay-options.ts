// Flags both relays take, beyond the statsd and rate-control ones.

import {
  MIB,
  UsageError,
  addCurveClientOptions,
  addCurveServerOptions,
  curveClientFrom,
  curveServerFrom,
  parseMiB,
  parsePositiveInt,
  statsIntervalOption,
  type CurveClientConfig,
  type CurveServerConfig,
} from '@nflog-pipe/shared';
import type { CommandLike } from './rate-control-options.js';

/** Which wire format a relay expects: 'auto' tells v1 frames (magic NFPZ) from legacy messages. */
export type RelayWire = 'auto' | 'v1' | 'legacy';

/** Default --zmq-buffer: ZMQ_SNDHWM of the PUSH socket, messages (50, as the Python tool). */
export const RELAY_DEFAULT_ZMQ_BUFFER = 50;
/**
 * Default --queue of the compress relay, bytes: messages waiting for room in the ZeroMQ queue.
 * The decompress relay's default is its --max-inflate, whose default is the same 64 MiB: one
 * whole decompressed window fits.
 */
export const RELAY_DEFAULT_QUEUE_BYTES = 64 * MIB;
/** Default --stats-interval: period of the info summary line, seconds. */
export const RELAY_DEFAULT_STATS_INTERVAL_S = 60;

function parseWire(v: string): RelayWire {
  if (v === 'auto' || v === 'v1' || v === 'legacy') return v;
  // A UsageError from an argParser leaves commander's parse() and runProgram maps it to exit 2.
  throw new UsageError(`--wire must be auto, v1 or legacy, not '${v}'`);
}

function parseQueueMiB(v: string): number {
  const bytes = parseMiB(v);
  if (bytes < 1) throw new UsageError(`--queue must be above 0 MiB, not '${v}'`);
  return bytes;
}

/**
 * Adds SRC, DST, `--zmq-buffer`, `--queue`, `--wire`, `--stats-interval` (shared's
 * statsIntervalOption: ms once parsed, 0 = only the final summary; default
 * RELAY_DEFAULT_STATS_INTERVAL_S) and CURVE for both sides (`--curve-server`/`--curve-allow` for
 * SRC, which binds; `--curve-client`/`--curve-server-key` for DST, which connects) to a relay
 * program.
 */
export function addRelayOptions(cmd: CommandLike): CommandLike {
  addCurveClientOptions(addCurveServerOptions(cmd));
  return cmd
    .argument('<src>', 'ZeroMQ endpoint to bind the PULL socket to, e.g. tcp://0.0.0.0:5556')
    .argument('<dst>', 'ZeroMQ endpoint to connect the PUSH socket to, e.g. tcp://10.0.0.2:5555')
    .option(
      '--zmq-buffer <msg_count>',
      `ZMQ_SNDHWM of the PUSH socket: messages queued in RAM before new ones are dropped`,
      parsePositiveInt,
      RELAY_DEFAULT_ZMQ_BUFFER,
    )
    .option(
      '--queue <MiB>',
      `messages waiting for room in the ZeroMQ queue (a decompressed window arrives all at once), MiB; beyond it they are dropped and counted (default: compress ${RELAY_DEFAULT_QUEUE_BYTES / MIB}; decompress: --max-inflate)`,
      parseQueueMiB,
    )
    .option(
      '--wire <auto|v1|legacy>',
      "input wire format: 'auto' handles v1 frames per frame and anything else as legacy messages",
      parseWire,
      'auto' as RelayWire,
    )
    .addOption(statsIntervalOption(RELAY_DEFAULT_STATS_INTERVAL_S));
}

/** The relay settings addRelayOptions parsed, in the units runRelay takes. */
export interface RelaySettings {
  /** SRC: the endpoint the PULL socket binds. */
  src: string;
  /** DST: the endpoint the PUSH socket connects to. */
  dst: string;
  /** --zmq-buffer: ZMQ_SNDHWM of the PUSH socket, messages. */
  sendHighWaterMark: number;
  /** --queue, bytes; undefined = the relay's default. */
  queueBytes: number | undefined;
  /** --stats-interval, ms; 0 = no periodic line, only the final summary. */
  statsIntervalMs: number;
  /** --wire. */
  wire: RelayWire;
  /** CURVE on SRC (`--curve-server`, `--curve-allow`); undefined = plain. */
  curveServer: CurveServerConfig | undefined;
  /** CURVE on DST (`--curve-client`, `--curve-server-key`); undefined = plain. */
  curveClient: CurveClientConfig | undefined;
}

/**
 * Reads what addRelayOptions parsed: the option values and the SRC and DST arguments.
 * @throws UsageError for CURVE flags that do not combine (see curveServerFrom, curveClientFrom)
 */
export function relaySettingsFrom(
  opts: Record<string, unknown>,
  args: readonly string[],
): RelaySettings {
  return {
    src: args[0]!,
    dst: args[1]!,
    sendHighWaterMark: opts['zmqBuffer'] as number,
    queueBytes: opts['queue'] as number | undefined,
    statsIntervalMs: opts['statsInterval'] as number,
    wire: opts['wire'] as RelayWire,
    curveServer: curveServerFrom(opts) ?? undefined,
    curveClient: curveClientFrom(opts) ?? undefined,
  };
}

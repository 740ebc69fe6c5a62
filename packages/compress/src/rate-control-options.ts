// The rate-control flags, shared by nflog-zmq-send --rate-control, nflog-pcap-recv
// --rate-control and the nflog-zmq-compress relay. Same names, units and defaults as the Python
// tool (shaper.py add_compress_optz); converted from MiB/s and MiB to bytes here, at the edge.

import { MIB, UsageError, createProgram, parseMiB, parseSeconds } from '@nflog-pipe/shared';
import { ShaperRangeError } from './errors.js';
import { DEFAULT_HWM_BPS, DEFAULT_LWM_BPS, defaultWindowBytes } from './rate-shaper.js';
import { LEGACY_DEFAULT_FLUSH_MS } from './legacy-shaper.js';

/** A commander program or command, as createProgram returns (commander is shared's dependency). */
export type CommandLike = ReturnType<typeof createProgram>;

/** Rate control settings in bytes and milliseconds, ready for RateShaper and LegacyShaper. */
export interface RateControlOptions {
  /** Low watermark, bytes per second (0 = never compress). */
  lwmBps: number;
  /** High watermark, bytes per second (0 = never drop). */
  hwmBps: number;
  /** Measurement window, bytes. */
  windowBytes: number;
  /** Longest a legacy compressed window waits before it is sent, ms. */
  flushMs: number;
}

/**
 * Adds `--rate-control` (unless `alwaysEnabled`), `--lwm MiB/s` (1.0), `--hwm MiB/s` (5.0),
 * `--wm-interval MiB` (default max(2·hwm, 4·lwm)) and `--window-flush seconds` (0.1) to `cmd`.
 * Values are parsed by shared's parseMiB/parseSeconds (bad values: commander error, exit 2).
 * Returns `cmd`.
 */
export function addRateControlOptions(
  cmd: CommandLike,
  options: { alwaysEnabled?: boolean } = {},
): CommandLike {
  if (options.alwaysEnabled !== true) {
    cmd.option(
      '--rate-control',
      'compress (above --lwm) or drop (above --hwm) what is sent, by its rate',
      false,
    );
  }
  return cmd
    .option(
      '--lwm <MiB/s>',
      'low watermark: compress while the rate is above it, MiB/s (default: 1.0; 0 disables)',
      parseMiB,
    )
    .option(
      '--hwm <MiB/s>',
      'high watermark: drop while the rate is above it, MiB/s (default: 5.0; 0 disables)',
      parseMiB,
    )
    .option(
      '--wm-interval <MiB>',
      'measure the rate again after this many MiB have been offered (default: max(2 * hwm, 4 * lwm))',
      parseMiB,
    )
    .option(
      '--window-flush <seconds>',
      `legacy wire: send a compressed window after at most this long, seconds (default: ${LEGACY_DEFAULT_FLUSH_MS / 1000})`,
      parseSeconds,
    );
}

/**
 * Reads the values addRateControlOptions parsed. Returns null when rate control is off
 * (`--rate-control` not given and not `alwaysEnabled`).
 * @throws UsageError when hwm < lwm with both non-zero (the Python tool's "hwm must be > than
 *   lwm"), when --wm-interval is 0 while a watermark is set, or when --window-flush is 0
 */
export function shaperOptionsFrom(
  opts: Record<string, unknown>,
  options: { alwaysEnabled?: boolean } = {},
): RateControlOptions | null {
  if (options.alwaysEnabled !== true && opts['rateControl'] !== true) return null;
  const lwmBps = (opts['lwm'] as number | undefined) ?? DEFAULT_LWM_BPS;
  const hwmBps = (opts['hwm'] as number | undefined) ?? DEFAULT_HWM_BPS;
  if (lwmBps > 0 && hwmBps > 0 && hwmBps < lwmBps) {
    throw new UsageError(
      `--hwm (${hwmBps / MIB} MiB/s) must not be below --lwm (${lwmBps / MIB} MiB/s)`,
    );
  }
  const given = opts['wmInterval'] as number | undefined;
  if (given !== undefined && given <= 0 && (lwmBps > 0 || hwmBps > 0)) {
    throw new UsageError('--wm-interval must be > 0 MiB');
  }
  const flushMs = (opts['windowFlush'] as number | undefined) ?? LEGACY_DEFAULT_FLUSH_MS;
  if (!(flushMs > 0)) throw new UsageError('--window-flush must be > 0 seconds');
  return { lwmBps, hwmBps, windowBytes: given ?? defaultWindowBytes(lwmBps, hwmBps), flushMs };
}

/**
 * For a CLI that built a shaper from its rate-control flags: a {@link ShaperRangeError} (a value
 * the shaper rejects that shaperOptionsFrom let through, such as an --hwm too large to be
 * finite) is the UsageError it is on the command line (exit 2). Any other error is returned as
 * it is.
 */
export function rateControlUsage(err: unknown): unknown {
  return err instanceof ShaperRangeError
    ? new UsageError(`rate control: ${err.message}`, { cause: err })
    : err;
}

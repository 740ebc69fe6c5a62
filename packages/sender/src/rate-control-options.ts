// --rate-control/--lwm/--hwm/--wm-interval with the Python tool's names and units.

import { Option, type Command, type OptionValues } from 'commander';
import { DEFAULT_HWM_BPS, DEFAULT_LWM_BPS, MIB, RateShaper } from '@nflog-pipe/compress';
import { UsageError, type Logger } from '@nflog-pipe/shared';
import { InvalidArgumentError } from 'commander';

function mibPerSecond(v: string): number {
  const s = v.trim();
  if (!/^(?:\d+(?:\.\d*)?|\.\d+)$/.test(s)) throw new InvalidArgumentError(`not a non-negative number of MiB/s: '${v}'`);
  return Number(s) * MIB;
}

/** Adds the rate-control flags to `cmd` (units: MiB/s and MiB, as the Python tool). */
export function addRateControlOptions(cmd: Command): Command {
  return cmd
    .option('--rate-control', 'shape the output: compress above --lwm, drop above --hwm (v1: per frame; legacy: 0x00/0x01 framing)', false)
    .addOption(
      new Option('--lwm <MiB/s>', 'low watermark: compress when the output rate is above it, MiB/s (0 disables)')
        .argParser(mibPerSecond)
        .default(DEFAULT_LWM_BPS, String(DEFAULT_LWM_BPS / MIB)),
    )
    .addOption(
      new Option('--hwm <MiB/s>', 'high watermark: drop when the output rate is above it, MiB/s (0 disables)')
        .argParser(mibPerSecond)
        .default(DEFAULT_HWM_BPS, String(DEFAULT_HWM_BPS / MIB)),
    )
    .addOption(
      new Option('--wm-interval <MiB>', 'bytes after which the rate is measured again, MiB (default: max(2 * hwm, 4 * lwm))').argParser((v: string) => {
        const n = mibPerSecond(v);
        if (!(n > 0)) throw new InvalidArgumentError(`--wm-interval must be > 0: '${v}'`);
        return n;
      }),
    );
}

/**
 * The RateShaper the flags ask for, or undefined without --rate-control. The watermarks are
 * checked even without --rate-control, so a bad pair is reported before it silently matters.
 * @throws UsageError when hwm < lwm (both non-zero).
 */
export function rateShaperFrom(opts: OptionValues, logger: Logger): RateShaper | undefined {
  const lwmBps = opts['lwm'] as number;
  const hwmBps = opts['hwm'] as number;
  if (lwmBps > 0 && hwmBps > 0 && hwmBps < lwmBps) throw new UsageError(`--hwm (${hwmBps / MIB} MiB/s) must not be below --lwm (${lwmBps / MIB} MiB/s)`);
  if (opts['rateControl'] !== true) return undefined;
  const log = logger.child({ component: 'shaper' });
  const windowBytes = opts['wmInterval'] as number | undefined;
  return new RateShaper({
    lwmBps,
    hwmBps,
    ...(windowBytes !== undefined ? { windowBytes: Math.round(windowBytes) } : {}),
    onRegimeChange: (regime, rateBps, previous) =>
      log.info('rate regime changed', { regime, previous, rate_mib_s: Math.round((rateBps / MIB) * 100) / 100 }),
  });
}

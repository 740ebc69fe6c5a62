// npm run bench -- --find-max: per payload size and set-up, the highest offered rate that loses
// nothing over a trial (RFC 2544's throughput test, section 26.1): one trial at the generator's
// maximum, then a binary search between a floor and the rate the generator reached there, in a
// bounded number of trials. The "max" rows of the plain bench compete with the generator for
// the cores; this is the fair figure for "how fast can it go without loss".
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Netns } from '@nflog-pipe/testing';
import { buildLoadgen } from './loadgen.js';
import { benchRuleset } from './netns.js';
import { RunScope } from './proc.js';
import { writeResultsFile } from './results-file.js';
import type { RunRecord } from './report.js';
import { availableTools, type ToolDef, type ToolName } from './tools.js';

/**
 * The set-ups searched by default, one line each, the reference first. A pipe variant whose
 * set-up is in tools.ts (`pipeDef`) is searched by adding its name here, e.g. `'pipe-reorder'`
 * once the receiver's reorder window is in.
 */
export const FIND_MAX_SETUPS: readonly ToolName[] = [
  'tcpdump-b128m', // the yardstick: a kernel buffer like our sender's
  'pipe',
  'pipe-curve',
  'pipe-acct',
];

/** Every found rate is also given as a ratio to this set-up's, in the same size. */
export const FIND_MAX_REFERENCE: ToolName = 'tcpdump-b128m';

/** Defaults of the search's options. */
export const FIND_MAX_DEFAULTS = {
  /** --floor, packets/s: the lowest rate tried. */
  floorPps: 10_000,
  /** --trials: trials per set-up and size, the one at the maximum included. */
  maxTrials: 8,
  /** The search stops once the lossless and the lossy rate are this close (fraction of the latter). */
  resolution: 0.01,
  /** Target rates are rounded to this many packets/s. */
  stepPps: 1000,
} as const;

/** One trial run as the search sees it. */
export interface FindMaxTrial {
  /** The rate asked of the generator, packets/s, or its maximum. */
  targetPps: number | 'max';
  /** The rate it reached (offered / seconds), packets/s. */
  offeredPps: number;
  /** Nothing lost, and the run completed. */
  passed: boolean;
  run: RunRecord;
}

/** The outcome of one search (one set-up, one size). */
export interface FindMaxResult {
  tool: ToolName;
  sizeBytes: number;
  /** The generator's rate at its maximum while this set-up ran, packets/s. */
  ceilingPps: number;
  /** Offered rate of the fastest lossless trial, packets/s; null when none was lossless. */
  foundPps: number | null;
  /**
   * `max`: lossless at the generator's maximum (the set-up may go higher: the generator is the
   * limit); `search`: between a lossless and a lossy trial; `below-floor`: lost at the floor.
   */
  bound: 'max' | 'search' | 'below-floor';
  /** The lowest target rate that lost, packets/s, when the search found one below the max. */
  lossyPps: number | null;
  trials: FindMaxTrial[];
}

/** Runs one trial: `tool` at `rate` with `sizeBytes` payloads (the bench's runOne). */
export type FindMaxTrialFn = (
  tool: ToolDef,
  sizeBytes: number,
  rate: number | 'max',
) => Promise<RunRecord>;

/** Options of {@link searchMaxRate}. */
export interface SearchOptions {
  floorPps: number;
  maxTrials: number;
  resolution?: number;
  stepPps?: number;
  /** Told each trial as it ends (progress lines). */
  onTrial?: (t: FindMaxTrial, n: number) => void;
}

/**
 * The search for one set-up and size: a trial at the generator's maximum; lossless there, that
 * rate is the answer. Otherwise a trial at the floor (lossy: below the floor), then bisection
 * between the fastest lossless target and the slowest lossy one (at first the rate the generator
 * reached at its maximum) until `maxTrials` trials have run or the two are within `resolution`.
 * A run that failed counts as lossy.
 */
export async function searchMaxRate(
  tool: ToolDef,
  sizeBytes: number,
  trial: FindMaxTrialFn,
  o: SearchOptions,
): Promise<FindMaxResult> {
  const resolution = o.resolution ?? FIND_MAX_DEFAULTS.resolution;
  const step = o.stepPps ?? FIND_MAX_DEFAULTS.stepPps;
  const trials: FindMaxTrial[] = [];
  const run = async (targetPps: number | 'max'): Promise<FindMaxTrial> => {
    const rec = await trial(tool, sizeBytes, targetPps);
    const offeredPps = rec.seconds > 0 ? rec.offered / rec.seconds : 0;
    const t = {
      targetPps,
      offeredPps,
      passed: rec.error === undefined && rec.offered > 0 && rec.lost <= 0,
      run: rec,
    };
    trials.push(t);
    o.onTrial?.(t, trials.length);
    return t;
  };
  const result = (
    ceilingPps: number,
    bound: FindMaxResult['bound'],
    lossyPps: number | null,
  ): FindMaxResult => {
    const lossless = trials.filter((t) => t.passed).map((t) => t.offeredPps);
    return {
      tool: tool.name,
      sizeBytes,
      ceilingPps,
      foundPps: lossless.length > 0 ? Math.max(...lossless) : null,
      bound,
      lossyPps,
      trials,
    };
  };

  const atMax = await run('max');
  const ceilingPps = atMax.offeredPps;
  if (atMax.passed) return result(ceilingPps, 'max', null);
  let hi = Math.floor(ceilingPps / step) * step;
  let lo = o.floorPps;
  if (lo >= hi || trials.length >= o.maxTrials) return result(ceilingPps, 'below-floor', null);
  if (!(await run(lo)).passed) return result(ceilingPps, 'below-floor', lo);
  let lossy: number = ceilingPps; // the trial at the maximum lost
  while (trials.length < o.maxTrials && hi - lo > Math.max(step, resolution * hi)) {
    const mid = Math.round((lo + hi) / 2 / step) * step;
    if ((await run(mid)).passed) lo = mid;
    else {
      hi = mid;
      lossy = mid;
    }
  }
  return result(ceilingPps, 'search', lossy);
}

const fmtPps = (n: number | null): string =>
  n === null ? '-' : Math.round(n).toLocaleString('en-US');

/**
 * The results as a table, one row per size and set-up, with each found rate over the
 * reference's in the same size (`/tcpdump-b128m`).
 */
export function renderFindMax(
  results: readonly FindMaxResult[],
  reference: ToolName,
  o: { seconds: number; floorPps: number; maxTrials: number },
): string {
  const head = [
    'size',
    'set-up',
    'found pps',
    'bound',
    'lossy at',
    'ceiling',
    'trials',
    `/${reference}`,
  ];
  const rows = results.map((r) => {
    const ref = results.find((x) => x.tool === reference && x.sizeBytes === r.sizeBytes);
    // A rate lossless at the generator's maximum is a lower bound, and so is a ratio over it.
    const sure = (x: FindMaxResult): boolean => x.bound !== 'max';
    let ratio = '-';
    if (ref?.foundPps != null && ref.foundPps > 0 && r.foundPps !== null) {
      const mark =
        r === ref ? '' : sure(r) === sure(ref) ? (sure(r) ? '' : '~') : sure(r) ? '<=' : '>=';
      ratio = `${mark}${(r.foundPps / ref.foundPps).toFixed(2)}`;
    }
    return [
      String(r.sizeBytes),
      r.tool,
      `${r.bound === 'max' ? '>=' : ''}${fmtPps(r.foundPps)}`,
      r.bound === 'max' ? 'generator max' : r.bound,
      fmtPps(r.lossyPps),
      fmtPps(r.ceilingPps),
      String(r.trials.length),
      ratio,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    `find-max: the highest offered rate with 0 loss over ${o.seconds} s trials (RFC 2544 throughput), ` +
      `per size; binary search from ${fmtPps(o.floorPps)} pps up to the generator's max, at most ${o.maxTrials} trials`,
    '',
    line(head),
    ...rows.map(line),
    '',
    `found pps: offered rate of the fastest lossless trial; bound: "generator max" = lossless at the generator's ` +
      `maximum, so the set-up may sustain more (>=), "search" = between that and "lossy at", "below-floor" = lost at ${fmtPps(o.floorPps)} pps; ` +
      `ceiling: the generator's maximum while the set-up ran (the two compete for the cores); a ratio with a lower bound on ` +
      `one side is marked <= or >=, on both sides ~`,
  ].join('\n');
}

/** The bench's runOne (run.ts), handed over so the one measured run lives in one place. */
export type RunOneFn = (
  tool: ToolDef,
  ctx: { netns: string; group: number; dir: string },
  loadgenBin: string,
  port: number,
  sizeBytes: number,
  rate: number | 'max',
  seconds: number,
  rep: number,
) => Promise<RunRecord>;

/** Options of {@link runFindMax}, already checked. */
export interface FindMaxRunOptions {
  sizes: readonly number[];
  tools: readonly ToolName[];
  seconds: number;
  floorPps: number;
  maxTrials: number;
  group: number;
  port: number;
  json?: string | undefined;
}

/**
 * --find-max: builds the generator, makes the namespace and its rule, searches every size and
 * set-up, prints the table and writes every trial to a JSON file. Exit code 0 when every
 * search ran (a lossy floor is a result, not a failure), 1 on a runtime error.
 */
export async function runFindMax(o: FindMaxRunOptions, runOne: RunOneFn): Promise<number> {
  const { tools, skipped } = await availableTools(o.tools);
  const scope = new RunScope('bench', await mkdtemp(join(tmpdir(), 'nfp-bench-')));
  const started = new Date();
  const loadavgAtStart = loadavg();
  const results: FindMaxResult[] = [];
  try {
    const loadgen = await buildLoadgen(scope.tmp);
    const ns = await Netns.create('bench');
    scope.ns = ns;
    await ns.nft(benchRuleset(o.group, o.port));
    let n = 0;
    const trial: FindMaxTrialFn = async (tool, sizeBytes, rate) => {
      n += 1;
      const dir = join(scope.tmp, `trial-${n}`);
      await mkdir(dir);
      try {
        const ctx = { netns: ns.name, group: o.group, dir };
        return await runOne(tool, ctx, loadgen, o.port, sizeBytes, rate, o.seconds, n);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    };
    for (const sizeBytes of o.sizes) {
      for (const tool of tools) {
        if (scope.interrupted) return 0;
        results.push(
          await searchMaxRate(tool, sizeBytes, trial, {
            floorPps: o.floorPps,
            maxTrials: o.maxTrials,
            onTrial: (t, k) =>
              process.stderr.write(
                `bench: find-max ${sizeBytes}B ${tool.name} [${k}/${o.maxTrials}] ${t.targetPps === 'max' ? 'max' : `${t.targetPps} pps`}: ` +
                  (t.run.error !== undefined
                    ? `failed: ${t.run.error}\n`
                    : `offered ${t.run.offered} (${fmtPps(t.offeredPps)} pps) lost ${t.run.lost}: ${t.passed ? 'pass' : 'loss'}\n`),
              ),
          }),
        );
      }
    }
  } finally {
    await scope.cleanup();
  }
  process.stdout.write(
    `\n${renderFindMax(results, FIND_MAX_REFERENCE, o)}\n` +
      ((loadavgAtStart[0] ?? 0) > 0.5
        ? `note: load average ${(loadavgAtStart[0] ?? 0).toFixed(2)} at start: other work on this box skews the numbers\n`
        : ''),
  );
  await writeResultsFile('find-max', o.json, started, loadavgAtStart, {
    options: { ...o, reference: FIND_MAX_REFERENCE },
    skipped,
    tools: Object.fromEntries(tools.map((t) => [t.name, { kind: t.kind, describe: t.describe }])),
    results,
  });
  const failed = results.some((r) => r.trials.every((t) => t.run.error !== undefined));
  return failed ? 1 : 0;
}

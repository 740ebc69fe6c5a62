// npm run bench: offers a known UDP load inside a throwaway network namespace and measures, on
// the same offered load, the reference capture tools (tcpdump, ulogd2) and ours (the sender alone,
// and the whole pipe). See bench/README.md for the columns and how to read the ratios.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildLoadgen, loadResult, startLoadgen } from './loadgen.js';
import { Netns } from '@nflog-pipe/testing';
import { benchRuleset } from './netns.js';
import { cpuPercent, sampleProc, type ProcSample } from './proc-stats.js';
import { delay, killAll, RunScope, type Proc } from './proc.js';
import {
  checkTargets,
  renderAccountingCost,
  renderReorderCost,
  renderCurveCost,
  renderShardCost,
  renderTable,
  renderTargets,
  summarize,
  type MedianRow,
  type RunRecord,
  type TargetCheck,
} from './report.js';
import { ALL_TOOLS, TOOLS, availableTools, type ToolName } from './tools.js';
import { runMicro } from './micro.js';
import { runSoak } from './soak.js';
import { renderStartup, runStartup } from './startup.js';
import { runRecvMemory } from './recv-memory.js';
import { splitLoss } from './loss.js';
import { readNflogInstance } from './nflog-ready.js';
import { writeResultsFile } from './results-file.js';
import { FIND_MAX_DEFAULTS, FIND_MAX_SETUPS, runFindMax, type RunOneFn } from './find-max.js';

const USAGE = `usage: npm run bench -- [options]   (as root)
  --sizes LIST     UDP payload sizes in bytes (default 64,512,1400)
  --rates LIST     offered packets/s, "max" = the generator's maximum (default 50000,max)
  --seconds S      seconds of offered load per run (default 5)
  --reps N         repetitions; the table shows medians (default 3)
  --tools LIST     set-ups to run (default ${ALL_TOOLS.join(',')})
  --json FILE      results file (default bench/results/bench-<date>.json)
  --quick          smoke run: --seconds 1 --reps 1
  --micro          run the microbenchmarks instead (no root needed)
  --startup        measure exec -> NFLOG group bound instead (as root; --reps starts, default 15)
  --recv-memory    measure the receiver's RSS instead: a 256 MiB ring under load without and with dumps,
                   then 20 hostile 200 MiB messages (no root needed; --seconds of load, default 30)
  --report FILE    print the table and targets again from a results file (no root needed)
  --find-max       per size and set-up, the highest rate with 0 loss instead (as root; RFC 2544
                   throughput: --seconds per trial, default 5; --tools default
                   ${FIND_MAX_SETUPS.join(',')})
  --floor PPS      --find-max: the lowest rate tried (default ${FIND_MAX_DEFAULTS.floorPps})
  --trials N       --find-max: trials per size and set-up, the one at max included (default ${FIND_MAX_DEFAULTS.maxTrials})
  --soak S         soak and fault run instead (as root): the whole pipe for S seconds at
                   50000 pps of 512 B (or the first of --rates/--sizes), a fault every
                   --fault-every seconds (default 10; the output stays full --stall s, default 3)
  -h, --help`;

/** Exit codes as in every CLI of the project: 0 ok, 1 runtime failure, 2 usage. */
async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        sizes: { type: 'string', default: '64,512,1400' },
        rates: { type: 'string', default: '50000,max' },
        seconds: { type: 'string' },
        reps: { type: 'string' },
        tools: { type: 'string', default: ALL_TOOLS.join(',') },
        json: { type: 'string' },
        quick: { type: 'boolean', default: false },
        micro: { type: 'boolean', default: false },
        startup: { type: 'boolean', default: false },
        'recv-memory': { type: 'boolean', default: false },
        'find-max': { type: 'boolean', default: false },
        floor: { type: 'string', default: String(FIND_MAX_DEFAULTS.floorPps) },
        trials: { type: 'string', default: String(FIND_MAX_DEFAULTS.maxTrials) },
        report: { type: 'string' },
        soak: { type: 'string' },
        'fault-every': { type: 'string', default: '10' },
        stall: { type: 'string', default: '3' },
        group: { type: 'string', default: '7' },
        port: { type: 'string', default: '9999' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.report !== undefined) {
    const saved = JSON.parse(await readFile(values.report, 'utf8')) as {
      runs: RunRecord[];
      options: { seconds: number; reps: number };
    };
    printResults(saved.runs, saved.options.seconds, saved.options.reps, undefined);
    return 0;
  }
  if (values.micro) {
    await runMicro();
    return 0;
  }
  if (values.startup) return runStartupMode(Number(values.reps ?? 15), Number(values.group));
  if (values.soak !== undefined) return soak(values, argv);
  if (values['recv-memory']) {
    await runRecvMemory({ seconds: Number(values.seconds ?? 30) });
    return 0;
  }
  if (values['find-max']) return findMax(values, argv);
  const sizes = values.sizes.split(',').map(Number);
  const rates = values.rates.split(',').map((r) => (r === 'max' ? 'max' : Number(r)));
  const seconds = Number(values.seconds ?? (values.quick ? 1 : 5));
  const reps = Number(values.reps ?? (values.quick ? 1 : 3));
  const toolNames = values.tools.split(',') as ToolName[];
  const group = Number(values.group);
  const port = Number(values.port);
  const bad =
    sizes.some((s) => !Number.isInteger(s) || s < 8 || s > 65507) ||
    rates.some((r) => r !== 'max' && (!Number.isInteger(r) || r <= 0)) ||
    !(seconds > 0 && seconds <= 600) ||
    !Number.isInteger(reps) ||
    reps < 1 ||
    toolNames.some((t) => !(t in TOOLS)) ||
    !Number.isInteger(group) ||
    !(port > 0 && port < 65536);
  if (bad) {
    process.stderr.write(`bench: bad option value\n${USAGE}\n`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write(
      'bench: must run as root (it creates a network namespace and nft rules)\n',
    );
    return 1;
  }

  const { tools, skipped } = await availableTools(toolNames);

  const scope = new RunScope('bench', await mkdtemp(join(tmpdir(), 'nfp-bench-')));

  const runs: RunRecord[] = [];
  const started = new Date();
  // Other work on the box skews every number; the JSON keeps the load average as a hint.
  const loadavgAtStart = loadavg();
  try {
    const loadgen = await buildLoadgen(scope.tmp);
    const ns = await Netns.create('bench');
    scope.ns = ns;
    await ns.nft(benchRuleset(group, port));
    const total = reps * sizes.length * rates.length * tools.length;
    let n = 0;
    for (let rep = 1; rep <= reps; rep++) {
      for (const sizeBytes of sizes) {
        for (const rate of rates) {
          for (const tool of tools) {
            if (scope.interrupted) return 0;
            n += 1;
            const dir = join(scope.tmp, `run-${n}`);
            await mkdir(dir);
            process.stderr.write(
              `bench: [${n}/${total}] rep ${rep} ${sizeBytes}B ${rate} pps ${tool.name} ... `,
            );
            const rec = await runOne(
              tool,
              { netns: ns.name, group, dir },
              loadgen,
              port,
              sizeBytes,
              rate,
              seconds,
              rep,
            );
            await rm(dir, { recursive: true, force: true });
            process.stderr.write(
              rec.error !== undefined
                ? `failed: ${rec.error}\n`
                : `offered ${rec.offered} captured ${rec.captured} (loss ${rec.lossPct.toFixed(2)}%) cpu ${rec.toolCpuPct.toFixed(0)}%\n`,
            );
            runs.push(rec);
          }
        }
      }
    }
  } finally {
    await scope.cleanup();
  }

  const { rows, targets } = printResults(runs, seconds, reps, loadavgAtStart[0]);
  await writeResultsFile('bench', values.json, started, loadavgAtStart, {
    options: { sizes, rates, seconds, reps, tools: toolNames, group, port },
    skipped,
    tools: Object.fromEntries(tools.map((t) => [t.name, { kind: t.kind, describe: t.describe }])),
    medians: rows,
    targets,
    runs,
  });
  return runs.some((r) => r.error !== undefined) ? 1 : 0;
}

/** --startup: exec→bound of the sender against its references; see src/startup.ts. */
async function runStartupMode(reps: number, group: number): Promise<number> {
  if (!Number.isInteger(reps) || reps < 1 || reps > 1000 || !Number.isInteger(group)) {
    process.stderr.write(`bench: bad option value\n${USAGE}\n`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: must run as root (it creates a network namespace)\n');
    return 1;
  }
  const scope = new RunScope('bench', await mkdtemp(join(tmpdir(), 'nfp-bench-')));
  let results;
  try {
    results = await runStartup(scope, reps, group);
  } finally {
    await scope.cleanup();
  }
  if (scope.interrupted) return 0;
  process.stdout.write(`\n${renderStartup(results, reps)}\n`);
  return 0;
}

/** --find-max: checks its options and runs bench/src/find-max.ts with runOne. */
async function findMax(
  values: {
    sizes: string;
    seconds?: string;
    quick: boolean;
    tools: string;
    floor: string;
    trials: string;
    group: string;
    port: string;
    json?: string;
  },
  argv: readonly string[],
): Promise<number> {
  const given = (flag: string): boolean => argv.some((a) => a === flag || a.startsWith(`${flag}=`));
  const o = {
    sizes: values.sizes.split(',').map(Number),
    tools: given('--tools') ? (values.tools.split(',') as ToolName[]) : [...FIND_MAX_SETUPS],
    seconds: Number(values.seconds ?? (values.quick ? 1 : 5)),
    floorPps: Number(values.floor),
    maxTrials: Number(values.trials),
    group: Number(values.group),
    port: Number(values.port),
    json: values.json,
  };
  const bad =
    o.sizes.some((s) => !Number.isInteger(s) || s < 8 || s > 65507) ||
    o.tools.some((t) => !(t in TOOLS)) ||
    !(o.seconds > 0 && o.seconds <= 600) ||
    !(Number.isInteger(o.floorPps) && o.floorPps > 0) ||
    !(Number.isInteger(o.maxTrials) && o.maxTrials >= 1 && o.maxTrials <= 50) ||
    !Number.isInteger(o.group) ||
    !(o.port > 0 && o.port < 65536);
  return refuseToStart(bad, '--find-max') ?? runFindMax(o, runOne);
}

/** What a root mode checks first: 2 (usage) for bad options, 1 when not root, else undefined. */
function refuseToStart(bad: boolean, mode: string): number | undefined {
  if (bad) {
    process.stderr.write(`bench: bad option value\n${USAGE}\n`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write(
      `bench: ${mode} must run as root (it creates a network namespace and nft rules)\n`,
    );
    return 1;
  }
  return undefined;
}

/** --soak: checks its options and runs bench/src/soak.ts. */
async function soak(
  values: {
    soak?: string;
    sizes: string;
    rates: string;
    'fault-every': string;
    stall: string;
    group: string;
    port: string;
  },
  argv: readonly string[],
): Promise<number> {
  const given = (flag: string): boolean => argv.some((a) => a === flag || a.startsWith(`${flag}=`));
  const o = {
    seconds: Number(values.soak),
    sizeBytes: given('--sizes') ? Number(values.sizes.split(',')[0]) : 512,
    ratePps: given('--rates') ? Number(values.rates.split(',')[0]) : 50_000,
    faultEveryS: Number(values['fault-every']),
    stallS: Number(values.stall),
    group: Number(values.group),
    port: Number(values.port),
  };
  const bad =
    !(o.seconds > 0 && o.seconds <= 3600) ||
    !Number.isInteger(o.sizeBytes) ||
    o.sizeBytes < 8 ||
    o.sizeBytes > 65507 ||
    !Number.isInteger(o.ratePps) ||
    o.ratePps <= 0 ||
    !(o.faultEveryS >= 1) ||
    !(o.stallS >= 0 && o.stallS < o.faultEveryS) ||
    !Number.isInteger(o.group) ||
    !(o.port > 0 && o.port < 65536);
  return refuseToStart(bad, '--soak') ?? runSoak(o);
}

/** Summarizes runs into median rows, prints the table and the target checks. */
function printResults(
  runs: readonly RunRecord[],
  seconds: number,
  reps: number,
  loadavg1: number | undefined,
): { rows: MedianRow[]; targets: TargetCheck[] } {
  const present = new Set(runs.map((r) => r.tool));
  const references = (['tcpdump', 'tcpdump-null', 'ulogd2'] as const).filter((t) => present.has(t));
  const rows = summarize(runs, references);
  const reference: ToolName = references[0] ?? 'tcpdump';
  process.stdout.write(
    `\nnflog-pipe bench: ${seconds} s per run, ${reps} rep(s); counts from the median-loss repetition, ` +
      `cpu/rss medians; ratios ours/${reference}\n` +
      ((loadavg1 ?? 0) > 0.5
        ? `note: load average ${(loadavg1 ?? 0).toFixed(2)} at start: other work on this box skews the numbers\n`
        : '') +
      `\n${renderTable(rows, reference)}\n`,
  );
  const accounting = renderAccountingCost(rows);
  if (accounting !== '') process.stdout.write(`\n${accounting}\n`);
  const curveCost = renderCurveCost(rows);
  if (curveCost !== '') process.stdout.write(`\n${curveCost}\n`);
  const reorderCost = renderReorderCost(rows);
  if (reorderCost !== '') process.stdout.write(`\n${reorderCost}\n`);
  const shardCost = renderShardCost(rows);
  if (shardCost !== '') process.stdout.write(`\n${shardCost}\n`);
  const targets = checkTargets(rows);
  process.stdout.write(`\n${renderTargets(targets)}\n`);
  return { rows, targets };
}

/**
 * One measured run: start the set-up and wait until it has bound the NFLOG group, sample its
 * processes, offer the load, wait until the processes go idle (everything queued has been
 * handled), sample again, stop the set-up and count what reached its end.
 */
const runOne: RunOneFn = async (
  tool,
  ctx,
  loadgenBin,
  port,
  sizeBytes,
  rate,
  seconds,
  rep,
): Promise<RunRecord> => {
  const rec: RunRecord = {
    tool: tool.name,
    sizeBytes,
    rate,
    rep,
    offered: 0,
    seconds: 0,
    captured: 0,
    lost: 0,
    lossPct: 0,
    pps: 0,
    mbps: 0,
    cpuPct: {},
    rssMiB: {},
    toolCpuPct: 0,
    loadgenCpuPct: 0,
    stages: {},
    lostAt: {},
    notes: [],
  };
  try {
    const running = await tool.start(ctx);
    try {
      const procs = running.procs.map((p) => p.proc);
      const before = await Promise.all(procs.map((p) => sampleProc(p.pid)));
      const gen = startLoadgen(loadgenBin, ctx.netns, {
        port,
        sizeBytes,
        pps: rate === 'max' ? 0 : rate,
        seconds,
        ...tool.load,
      });
      await gen.exited;
      const load = loadResult(gen);
      await waitIdle(procs, ctx.group, 10_000);
      const after = await Promise.all(procs.map((p) => sampleProc(p.pid)));
      const outcome = await running.finish();
      rec.offered = load.sent;
      rec.seconds = load.seconds;
      rec.loadgenCpuPct = (load.cpuSeconds / load.seconds) * 100;
      rec.captured = outcome.captured;
      rec.lost = load.sent - outcome.captured;
      rec.lossPct = load.sent > 0 ? (rec.lost / load.sent) * 100 : 0;
      rec.pps = outcome.captured / load.seconds;
      rec.mbps = (outcome.captured * (sizeBytes + 28)) / load.seconds / 1e6;
      rec.stages = outcome.stages;
      const split = splitLoss(tool.name, rec.offered, rec.captured, rec.stages);
      rec.lostAt = split.at;
      if (split.uncounted !== undefined) rec.uncounted = split.uncounted;
      rec.notes = outcome.notes;
      for (const [i, tp] of running.procs.entries()) {
        const label = uniqueLabel(rec.cpuPct, tp.proc.label);
        const cpu = cpuPercent(before[i], after[i], load.seconds);
        rec.cpuPct[label] = cpu;
        rec.rssMiB[label] = (after[i]?.hwmKiB ?? 0) / 1024;
        if (tp.role === 'tool') rec.toolCpuPct += cpu;
      }
      for (const tp of running.procs) {
        const r = await tp.proc.exited;
        if (tp.role === 'tool' && r.code !== 0 && r.code !== null)
          rec.notes.push(`${tp.proc.label} exited ${r.code}`);
      }
    } finally {
      await killAll();
    }
  } catch (err) {
    rec.error = (err as Error).message;
  }
  return rec;
};

function uniqueLabel(taken: Record<string, number>, label: string): string {
  let l = label;
  for (let i = 2; l in taken; i++) l = `${label}${i}`;
  return l;
}

/**
 * Waits until the kernel holds no more logged packets for the group (its batch is flushed only
 * when full, at qthresh or on the flush timer, up to a second later) and the processes have
 * used at most one clock tick in total over two consecutive 250 ms polls: whatever was queued
 * for them has been read and written out. Bounded by `maxMs`.
 */
async function waitIdle(procs: readonly Proc[], group: number, maxMs: number): Promise<void> {
  const total = (s: (ProcSample | undefined)[]): number =>
    s.reduce((a, x) => a + (x?.ticks ?? 0), 0);
  const deadline = Date.now() + maxMs;
  const first = procs[0];
  let prev = total(await Promise.all(procs.map((p) => sampleProc(p.pid))));
  let quiet = 0;
  while (Date.now() < deadline && quiet < 2) {
    await delay(250);
    const now = total(await Promise.all(procs.map((p) => sampleProc(p.pid))));
    const held = first !== undefined ? ((await readNflogInstance(first.pid, group))?.qlen ?? 0) : 0;
    quiet = now - prev <= 1 && held === 0 ? quiet + 1 : 0;
    prev = now;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);

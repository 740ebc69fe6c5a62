// Top self-time functions of V8 CPU profiles (node --cpu-prof), for finding the hot spots of
// our CLIs under the bench's load:
//
//   NFLOG_BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' node bench/dist/run.js ...
//   node bench/dist/cpuprofile-top.js [--top 25] /tmp/prof/*.cpuprofile
//
// Self time of a node = the sum of the sampling intervals whose sample landed in it. Nodes are
// aggregated by function name + file + line, so a function reached from several call paths is
// one row. Percentages are of the whole profile and of the non-idle part ("busy": everything but
// the `(idle)` node, i.e. the time the process had work).
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

/** The parts of a .cpuprofile file (Chrome DevTools Profile) this tool reads. */
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** One aggregated row: a function (name, file, line) and its self time. */
export interface SelfTimeRow {
  key: string;
  selfUs: number;
}

/** Self time per function of one profile, largest first; `totalUs` includes `(idle)`. */
export function selfTimes(profile: CpuProfile): {
  rows: SelfTimeRow[];
  totalUs: number;
  idleUs: number;
} {
  const keyOf = new Map<number, string>();
  for (const n of profile.nodes) {
    const f = n.callFrame;
    const where = f.url === '' ? '' : ` ${basename(f.url)}:${f.lineNumber + 1}`;
    keyOf.set(n.id, `${f.functionName === '' ? '(anonymous)' : f.functionName}${where}`);
  }
  const self = new Map<string, number>();
  let totalUs = 0;
  // timeDeltas[i] is the time between sample i-1 and sample i; it is charged to sample i, as
  // Chrome DevTools does.
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    const key = keyOf.get(profile.samples[i]!) ?? '(unknown)';
    self.set(key, (self.get(key) ?? 0) + dt);
    totalUs += dt;
  }
  const rows = [...self]
    .map(([key, selfUs]) => ({ key, selfUs }))
    .sort((a, b) => b.selfUs - a.selfUs);
  return { rows, totalUs, idleUs: self.get('(idle)') ?? 0 };
}

async function main(argv: string[]): Promise<number> {
  let top = 25;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--top') top = Number(argv[++i]);
    else files.push(a);
  }
  if (files.length === 0 || !Number.isInteger(top) || top < 1) {
    process.stderr.write('usage: cpuprofile-top [--top N] FILE.cpuprofile...\n');
    return 2;
  }
  for (const file of files) {
    const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
    const { rows, totalUs, idleUs } = selfTimes(profile);
    const busyUs = totalUs - idleUs;
    const pct = (us: number, of: number): string =>
      (of > 0 ? ((100 * us) / of).toFixed(1) : '-').padStart(5);
    process.stdout.write(
      `${file}: ${(totalUs / 1e6).toFixed(2)} s sampled, busy ${(busyUs / 1e6).toFixed(2)} s (${pct(busyUs, totalUs).trim()}%)\n` +
        `  total%  busy%  self ms  function\n`,
    );
    for (const r of rows.slice(0, top)) {
      const busy = r.key === '(idle)' ? '    -' : pct(r.selfUs, busyUs);
      process.stdout.write(
        `  ${pct(r.selfUs, totalUs)}  ${busy}  ${(r.selfUs / 1000).toFixed(0).padStart(7)}  ${r.key}\n`,
      );
    }
  }
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // `| head` closing the pipe early is no failure.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  process.exitCode = await main(process.argv.slice(2));
}

// npm run bench -- --startup: how long from exec until an NFLOG group is bound. Until then the
// kernel drops what the rules log and nobody counts it, so this is the loss window of every
// (re)start. Each set-up is started REPS times in a namespace; the clock runs from just before
// spawn() until the group shows in /proc/<pid>/net/netfilter/nfnetlink_log in packet copy mode.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Netns } from '@nflog-pipe/testing';
import { readNflogInstance } from './nflog-ready.js';
import { delay, startProc, stopProc, type RunScope } from './proc.js';
import { binPath, NODE_ARGS } from './tools.js';

/** How often the kernel's instance table is read while a set-up starts, ms (the resolution). */
const STARTUP_POLL_MS = 1;
/** A set-up that has not bound its group after this long counts as failed, ms. */
const STARTUP_LIMIT_MS = 20_000;

/** One set-up of the start-up bench. */
interface StartupCase {
  name: string;
  describe: string;
  /** Command and arguments binding `group`, with `dir` a scratch directory. */
  command(group: number, dir: string): [string, string[]];
}

/** Exec→bound times of one set-up, ms. */
export interface StartupResult {
  name: string;
  describe: string;
  timesMs: number[];
  medianMs: number;
  minMs: number;
  maxMs: number;
}

const NFLOG_NATIVE_INDEX = fileURLToPath(
  new URL('../../packages/nflog-native/dist/src/index.js', import.meta.url),
);

const CASES: readonly StartupCase[] = [
  {
    name: 'tcpdump',
    describe: 'tcpdump -i nflog:N -w /dev/null (reference: C, libpcap)',
    command: (group) => ['tcpdump', ['-q', '-i', `nflog:${group}`, '-w', '/dev/null']],
  },
  {
    name: 'node+addon',
    describe: 'node loading only nflog-native and opening the group (the floor for a Node tool)',
    command: (group, dir) => [
      process.execPath,
      [...NODE_ARGS, join(dir, 'floor.mjs'), String(group)],
    ],
  },
  {
    name: 'nflog-zmq-send',
    describe: 'nflog-zmq-send N ipc://DIR/x.sock (nothing listens: binding is what is measured)',
    command: (group, dir) => [
      process.execPath,
      [
        ...NODE_ARGS,
        binPath('sender', 'nflog-zmq-send'),
        String(group),
        `ipc://${join(dir, 'x.sock')}`,
        '--stats-interval',
        '0',
      ],
    ],
  },
  {
    name: 'send+metrics',
    describe: 'the same with --metrics-listen 127.0.0.1:0 (a /metrics server, prom-client)',
    command: (group, dir) => [
      process.execPath,
      [
        ...NODE_ARGS,
        binPath('sender', 'nflog-zmq-send'),
        String(group),
        `ipc://${join(dir, 'x.sock')}`,
        '--stats-interval',
        '0',
        '--metrics-listen',
        '127.0.0.1:0',
      ],
    ],
  },
];

/** The floor case's script: import the addon, bind the group, close on SIGTERM. */
const FLOOR_SCRIPT = `import { NflogSocket } from ${JSON.stringify(NFLOG_NATIVE_INDEX)};
const sock = NflogSocket.open({ groups: [Number(process.argv[2])] }, () => {});
process.on('SIGTERM', () => sock.close());
`;

async function timeToBound(
  c: StartupCase,
  ns: string,
  group: number,
  dir: string,
): Promise<number> {
  const [cmd, args] = c.command(group, dir);
  const t0 = process.hrtime.bigint();
  const proc = startProc(c.name, cmd, args, { netns: ns });
  try {
    for (;;) {
      if ((await readNflogInstance(proc.pid, group))?.copyMode === 2) {
        return Number(process.hrtime.bigint() - t0) / 1e6;
      }
      if (proc.done) {
        throw new Error(`${c.name} exited before binding: ${proc.stderr().trim().slice(-300)}`);
      }
      if (Number(process.hrtime.bigint() - t0) / 1e6 > STARTUP_LIMIT_MS) {
        throw new Error(`${c.name} did not bind group ${group} within ${STARTUP_LIMIT_MS} ms`);
      }
      await delay(STARTUP_POLL_MS);
    }
  } finally {
    await stopProc(proc, 'SIGTERM');
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Runs every set-up `reps` times, interleaved (one of each per round, so load on the box hits
 * them alike), in one namespace owned by `scope`; returns the times per set-up.
 */
export async function runStartup(
  scope: RunScope,
  reps: number,
  group: number,
): Promise<StartupResult[]> {
  await writeFile(join(scope.tmp, 'floor.mjs'), FLOOR_SCRIPT);
  const ns = await Netns.create('bench-startup');
  scope.ns = ns;
  const times = new Map<string, number[]>(CASES.map((c) => [c.name, []]));
  for (let rep = 1; rep <= reps && !scope.interrupted; rep++) {
    for (const c of CASES) {
      times.get(c.name)!.push(await timeToBound(c, ns.name, group, scope.tmp));
    }
    process.stderr.write(`bench: startup round ${rep}/${reps}\n`);
  }
  return CASES.map((c) => {
    const t = times.get(c.name)!;
    return {
      name: c.name,
      describe: c.describe,
      timesMs: t,
      medianMs: median(t),
      minMs: Math.min(...t),
      maxMs: Math.max(...t),
    };
  });
}

/** The start-up table: one row per set-up, exec→bound median, min and max in ms. */
export function renderStartup(results: readonly StartupResult[], reps: number): string {
  const lines = [
    `exec -> NFLOG group bound, ${reps} start(s) each (ms, ${STARTUP_POLL_MS} ms polling):`,
    `${'set-up'.padEnd(16)}${'median'.padStart(8)}${'min'.padStart(8)}${'max'.padStart(8)}`,
  ];
  for (const r of results) {
    lines.push(
      `${r.name.padEnd(16)}${r.medianMs.toFixed(1).padStart(8)}${r.minMs.toFixed(1).padStart(8)}${r.maxMs.toFixed(1).padStart(8)}  ${r.describe}`,
    );
  }
  return lines.join('\n');
}

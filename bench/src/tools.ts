import { access, mkdir, writeFile, unlink, open } from 'node:fs/promises';
import { constants as fsc } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPair, writeCertificatePair } from '@nflog-pipe/shared';
import { countPcapRecords } from './pcap-count.js';
import { waitNflogBound } from './nflog-ready.js';
import { delay, runCmd, startProc, stopProc, type Proc } from './proc.js';

/** Names of the bench rows' capture set-ups. */
export type ToolName =
  | 'tcpdump'
  | 'tcpdump-null'
  | 'tcpdump-b128m'
  | 'ulogd2'
  | 'sender'
  | 'sender-acct-off'
  | 'sender-acct-on'
  | 'pipe'
  | 'pipe-curve'
  | 'pipe-acct'
  | 'pipe-fifo64k'
  | 'pipe-order-off'
  | 'pipe-order-held'
  | 'sender-shard1'
  | 'sender-shard2'
  | 'sender-shard4';

/**
 * The set-ups of a plain `npm run bench`, in the order they run within one repetition. The
 * others (`tcpdump-b128m`, `pipe-acct`, `pipe-fifo64k`, `sender-shard1|2|4`) run when named in
 * `--tools`, the first three also in `--find-max` (src/find-max.ts).
 */
export const ALL_TOOLS: readonly ToolName[] = [
  'tcpdump',
  'tcpdump-null',
  'ulogd2',
  'sender',
  'sender-acct-off',
  'sender-acct-on',
  'pipe',
  'pipe-curve',
  'pipe-order-off',
  'pipe-order-held',
];

/** Where a set-up runs. */
export interface ToolContext {
  netns: string;
  group: number;
  /** Scratch directory for this one run (pcap files, FIFO, sockets, configs). */
  dir: string;
}

/** A process of a running set-up and whether it is the tool under test or bench plumbing. */
export interface ToolProc {
  proc: Proc;
  /** 'tool': counts towards the set-up's CPU; 'harness': our counting sink or file reader. */
  role: 'tool' | 'harness';
}

/** A set-up that is capturing. */
export interface RunningTool {
  procs: ToolProc[];
  /** Stops everything and counts what arrived. */
  finish(): Promise<ToolOutcome>;
}

/** What a set-up captured, and each stage's own counters. */
export interface ToolOutcome {
  /** Packets that made it to the end of the set-up (file records, or the sink's count). */
  captured: number;
  /** Each stage's own counters (`tcpdump.dropped`, `sender.kernel_drop`, ...). */
  stages: Record<string, number>;
  notes: string[];
}

/** A capture set-up the bench can run. */
export interface ToolDef {
  name: ToolName;
  /** 'reference' tools are what ours are compared with. */
  kind: 'reference' | 'ours';
  /** What it is, for the table legend. */
  describe: string;
  /** Undefined when it can run here, else the reason it is skipped. */
  unavailable(): Promise<string | undefined>;
  start(ctx: ToolContext): Promise<RunningTool>;
  /** How the generator offers this set-up's load, when not as for every other one. */
  load?: { flows: number; batch: number };
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Absolute path of one of our bin shims. */
export function binPath(pkg: string, tool: string): string {
  return join(REPO_ROOT, 'packages', pkg, 'bin', `${tool}.js`);
}

/** The counting PULL sink script (bench/dist/count-sink.js). */
const COUNT_SINK = fileURLToPath(new URL('./count-sink.js', import.meta.url));

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, fsc.F_OK);
    return true;
  } catch {
    return false;
  }
}

async function exitsWithin(p: Proc, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const r = await Promise.race([p.exited.then(() => true as const), late]);
  clearTimeout(timer);
  return r;
}

async function which(cmd: string): Promise<string | undefined> {
  const r = await runCmd('sh', ['-c', `command -v ${cmd}`], { allowFail: true });
  const p = r.stdout.trim();
  return r.code === 0 && p !== '' ? p : undefined;
}

/** Parses tcpdump's exit summary ("N packets captured", "... received by filter", "... dropped by kernel"). */
export function parseTcpdumpSummary(stderr: string): Record<string, number> {
  const out: Record<string, number> = {};
  const grab = (re: RegExp, key: string): void => {
    const m = re.exec(stderr);
    if (m?.[1] !== undefined) out[key] = Number(m[1]);
  };
  grab(/(\d+) packets? captured/, 'captured');
  grab(/(\d+) packets? received by filter/, 'received');
  grab(/(\d+) packets? dropped by kernel/, 'dropped');
  return out;
}

/**
 * Parses the last line of `stderr` that contains `marker` into its numeric `key=value` pairs
 * (our CLIs' periodic/final summary line). Keys keep their dots (`loss.kernel.pkt`).
 */
export function parseSummaryLine(stderr: string, marker: RegExp): Record<string, number> {
  const lines = stderr.split('\n').filter((l) => marker.test(l));
  const last = lines[lines.length - 1];
  const out: Record<string, number> = {};
  if (last === undefined) return out;
  for (const m of last.matchAll(/([A-Za-z_][\w.]*)=(-?\d+(?:\.\d+)?)(?=\s|$)/g)) {
    if (m[1] !== undefined && m[2] !== undefined) out[m[1]] = Number(m[2]);
  }
  return out;
}

function prefixed(prefix: string, rec: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(rec)) out[`${prefix}.${k}`] = v;
  return out;
}

async function countAndRemove(file: string, notes: string[]): Promise<number> {
  try {
    const c = await countPcapRecords(file);
    if (c.trailingBytes !== 0) notes.push(`${file}: ${c.trailingBytes} trailing bytes`);
    return c.records;
  } catch (err) {
    notes.push(`cannot count ${file}: ${(err as Error).message}`);
    return 0;
  } finally {
    // Captures at the generator's maximum reach GiBs: never keep them.
    await unlink(file).catch(() => {});
  }
}

/**
 * The outcome of a set-up that ends in a pcap file: its whole records are what was captured
 * (added to `stages` as `file.records`). The file is removed.
 */
async function fileOutcome(
  file: string,
  stages: Record<string, number> = {},
): Promise<ToolOutcome> {
  const notes: string[] = [];
  const captured = await countAndRemove(file, notes);
  stages['file.records'] = captured;
  return { captured, stages, notes };
}

/**
 * Starts `tcpdump -n OPTS -i nflog:GROUP -w OUT` in the set-up's netns and waits until it has
 * bound the group. Its finish() stops it with SIGINT and hands its exit summary
 * (`tcpdump.captured`, ...) to `outcome`.
 */
async function startTcpdump(
  ctx: ToolContext,
  opts: readonly string[],
  out: string,
  outcome: (stages: Record<string, number>) => Promise<ToolOutcome>,
): Promise<RunningTool> {
  const p = startProc(
    'tcpdump',
    'tcpdump',
    ['-n', ...opts, '-i', `nflog:${ctx.group}`, '-w', out],
    {
      netns: ctx.netns,
    },
  );
  await waitNflogBound(p, ctx.group);
  return {
    procs: [{ proc: p, role: 'tool' }],
    async finish() {
      await stopProc(p, 'SIGINT');
      return outcome(prefixed('tcpdump', parseTcpdumpSummary(p.stderr())));
    },
  };
}

const tcpdumpFile: ToolDef = {
  name: 'tcpdump',
  kind: 'reference',
  describe: 'tcpdump -i nflog:N -w FILE (records counted in FILE)',
  async unavailable() {
    return (await which('tcpdump')) === undefined ? 'tcpdump not installed' : undefined;
  },
  async start(ctx) {
    const file = join(ctx.dir, 'tcpdump.pcap');
    // -Z root: keep writing into our root-only scratch directory after tcpdump's privilege drop.
    return startTcpdump(ctx, ['-Z', 'root'], file, (stages) => fileOutcome(file, stages));
  },
};

const tcpdumpNull: ToolDef = {
  name: 'tcpdump-null',
  kind: 'reference',
  describe: 'tcpdump -B 8192 -i nflog:N -w /dev/null (its own "packets captured")',
  unavailable: () => tcpdumpFile.unavailable(),
  start: (ctx) =>
    startTcpdump(ctx, ['-B', '8192'], '/dev/null', (stages) =>
      Promise.resolve({ captured: stages['tcpdump.captured'] ?? 0, stages, notes: [] }),
    ),
};

const tcpdumpBigBuffer: ToolDef = {
  name: 'tcpdump-b128m',
  kind: 'reference',
  // -B is in KiB: 128 MiB asked, a kernel buffer like our sender's (--libnflog-rcvbuf 64 MiB,
  // forced); libpcap asks with SO_RCVBUF, which the kernel caps at net.core.rmem_max.
  describe: 'tcpdump -B 131072 -i nflog:N -w FILE (records counted in FILE)',
  unavailable: () => tcpdumpFile.unavailable(),
  async start(ctx) {
    const file = join(ctx.dir, 'tcpdump.pcap');
    return startTcpdump(ctx, ['-B', '131072', '-Z', 'root'], file, (stages) =>
      fileOutcome(file, stages),
    );
  },
};

const ULOGD_PLUGIN_DIRS = [
  '/usr/lib/x86_64-linux-gnu/ulogd',
  '/usr/lib/aarch64-linux-gnu/ulogd',
  '/usr/lib/ulogd',
  '/usr/lib64/ulogd',
  '/usr/local/lib/ulogd',
];

async function ulogdPluginDir(): Promise<string | undefined> {
  for (const d of ULOGD_PLUGIN_DIRS) {
    if (
      (await exists(join(d, 'ulogd_output_PCAP.so'))) &&
      (await exists(join(d, 'ulogd_inppkt_NFLOG.so')))
    )
      return d;
  }
  return undefined;
}

const ulogd2: ToolDef = {
  name: 'ulogd2',
  kind: 'reference',
  describe: 'ulogd2 NFLOG -> BASE -> PCAP file (records counted in the file)',
  async unavailable() {
    if ((await which('ulogd')) === undefined) return 'ulogd2 not installed';
    if ((await ulogdPluginDir()) === undefined)
      return 'ulogd2 PCAP/NFLOG plugins not found (Debian: ulogd2-pcap)';
    return undefined;
  },
  async start(ctx) {
    const dir = (await ulogdPluginDir()) ?? '';
    const file = join(ctx.dir, 'ulogd.pcap');
    const conf = join(ctx.dir, 'ulogd.conf');
    // A minimal stack with ulogd's defaults otherwise, as a user would run it.
    await writeFile(
      conf,
      [
        '[global]',
        `logfile="${join(ctx.dir, 'ulogd.log')}"`,
        'loglevel=3',
        `plugin="${dir}/ulogd_inppkt_NFLOG.so"`,
        `plugin="${dir}/ulogd_raw2packet_BASE.so"`,
        `plugin="${dir}/ulogd_output_PCAP.so"`,
        'stack=log1:NFLOG,base1:BASE,pcap1:PCAP',
        '[log1]',
        `group=${ctx.group}`,
        '[pcap1]',
        `file="${file}"`,
        'sync=0',
        '',
      ].join('\n'),
    );
    const p = startProc('ulogd', 'ulogd', ['-c', conf, '-p', join(ctx.dir, 'ulogd.pid')], {
      netns: ctx.netns,
    });
    await waitNflogBound(p, ctx.group);
    return {
      procs: [{ proc: p, role: 'tool' }],
      async finish() {
        await stopProc(p, 'SIGTERM');
        return fileOutcome(file);
      },
    };
  },
};

/** Options our sender gets in every row (the same as a production gateway would use). */
export const SENDER_ARGS: readonly string[] = [];
/** Options our receiver gets in the whole-pipe row. */
export const RECEIVER_ARGS: readonly string[] = [];

/**
 * Extra node options for our CLIs' processes, from the environment variable
 * NFLOG_BENCH_NODE_ARGS (split on whitespace), e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to
 * profile the sender and receiver under the bench's load. Empty by default.
 */
export const NODE_ARGS: readonly string[] = (process.env.NFLOG_BENCH_NODE_ARGS ?? '')
  .split(/\s+/)
  .filter((a) => a !== '');

/** Our CLIs end with one `stopped key=value ...` line holding their final counters. */
const FINAL_LINE = /\bstopped\b/;

/** Starts our sender on the set-up's group, sending to `endpoint`(s); resolves once it has bound the group. */
async function startSender(
  ctx: ToolContext,
  endpoint: string | readonly string[],
  extraArgs: readonly string[] = [],
): Promise<Proc> {
  const sender = startProc(
    'sender',
    process.execPath,
    [
      ...NODE_ARGS,
      binPath('sender', 'nflog-zmq-send'),
      ...SENDER_ARGS,
      ...extraArgs,
      String(ctx.group),
      ...(typeof endpoint === 'string' ? [endpoint] : endpoint),
    ],
    { netns: ctx.netns },
  );
  await waitNflogBound(sender, ctx.group);
  return sender;
}

async function oursUnavailable(bins: [string, string][]): Promise<string | undefined> {
  for (const [pkg, tool] of bins) {
    if (!(await exists(binPath(pkg, tool))))
      return `${tool} not built yet (packages/${pkg}/bin/${tool}.js)`;
    if (!(await exists(join(REPO_ROOT, 'packages', pkg, 'dist', 'src', 'cli.js')))) {
      return `${tool} not built yet (run npm run build)`;
    }
  }
  return undefined;
}

/**
 * The sender's Prometheus export (nothing scrapes it) with the accounting table off and on: the
 * two rows differ only in the per-packet (group, prefix) count, so their cpu/pkt ratio is its
 * cost (renderAccountingCost prints it).
 */
export const ACCOUNTING_ROWS = {
  off: ['--metrics-listen', '127.0.0.1:0', '--max-series', '0'],
  on: ['--metrics-listen', '127.0.0.1:0'],
} as const;

function senderAloneDef(name: ToolName, describe: string, extraArgs: readonly string[]): ToolDef {
  return {
    name,
    kind: 'ours',
    describe,
    unavailable: () => oursUnavailable([['sender', 'nflog-zmq-send']]),
    start: (ctx) => startSenderAlone(ctx, extraArgs),
  };
}

/**
 * The sender alone into `sinks` counting PULL sockets (one endpoint each: with several, the
 * sender shards by flow over them). The sinks' counts are summed into `sink.*`.
 */
async function startSenderAlone(
  ctx: ToolContext,
  extraArgs: readonly string[],
  sinks = 1,
): Promise<RunningTool> {
  const endpoints = Array.from(
    { length: sinks },
    (_, i) => `ipc://${join(ctx.dir, sinks === 1 ? 'sink.sock' : `sink${i}.sock`)}`,
  );
  const procs = endpoints.map((e) =>
    startProc('sink', process.execPath, [COUNT_SINK, e], { netns: ctx.netns }),
  );
  for (const p of procs) await p.waitFor(/ready/, 20_000);
  const sender = await startSender(ctx, endpoints, extraArgs);
  return {
    procs: [
      { proc: sender, role: 'tool' },
      ...procs.map((proc) => ({ proc, role: 'harness' as const })),
    ],
    async finish() {
      await stopProc(sender, 'SIGINT');
      // Give the last frames the sender flushed on its way out time to land.
      await delay(200);
      const notes: string[] = [];
      const stages = prefixed('sender', parseSummaryLine(sender.stderr(), FINAL_LINE));
      let captured = 0;
      for (const sink of procs) {
        await stopProc(sink, 'SIGINT');
        try {
          const r = JSON.parse(sink.stdout().trim().split('\n').pop() ?? '') as Record<
            string,
            number
          >;
          captured += r.records ?? 0;
          for (const [k, v] of Object.entries(r))
            stages[`sink.${k}`] = (stages[`sink.${k}`] ?? 0) + v;
        } catch {
          notes.push(`sink gave no count: ${sink.stderr().trim().slice(-200)}`);
        }
      }
      return { captured, stages, notes };
    },
  };
}

/**
 * The load of the shard rows: 256 UDP flows, 4 datagrams per sendmmsg in turn, so a kernel
 * read holds records of many flows interleaved, as a gateway's does.
 */
export const SHARD_LOAD = { flows: 256, batch: 4 } as const;

/**
 * The sender alone over `n` counting sinks (`--shard flow`, one stream per sink) on the same
 * many-flow load for n = 1, 2 and 4, so their cpu/pkt ratios are the cost of sharding
 * (renderShardCost prints them).
 */
function senderShardDef(name: ToolName, n: number): ToolDef {
  return {
    name,
    kind: 'ours',
    describe: `nflog-zmq-send N with ${n} ipc endpoint${n > 1 ? 's (--shard flow)' : ''}, each into a counting PULL socket; ${SHARD_LOAD.flows} UDP flows`,
    unavailable: () => oursUnavailable([['sender', 'nflog-zmq-send']]),
    start: (ctx) => startSenderAlone(ctx, [], n),
    load: SHARD_LOAD,
  };
}

const senderAlone = senderAloneDef(
  'sender',
  'nflog-zmq-send N ipc://... into a PULL socket that only counts',
  [],
);

/**
 * CURVE keys for one pipe run, made in its scratch directory: the receiver's pair and the
 * sender's, the sender's public key on the receiver's allowlist.
 * @returns the extra arguments of the receiver and of the sender
 */
async function curveArgs(dir: string): Promise<{ receiver: string[]; sender: string[] }> {
  const keys = join(dir, 'keys');
  await mkdir(keys, { recursive: true });
  const ids = await writeCertificatePair(keys, 'ids', generateKeyPair());
  const gw = await writeCertificatePair(keys, 'gw', generateKeyPair());
  return {
    receiver: ['--curve-server', ids.secretPath, '--curve-allow', gw.publicPath],
    sender: ['--curve-client', gw.secretPath, '--curve-server-key', ids.publicPath],
  };
}

/** What a whole-pipe set-up adds to the plain `pipe` row. */
export interface PipeVariant {
  /** CurveZMQ on the ipc socket (keys made per run). */
  curve?: boolean;
  /** Extra options of the sender. */
  sender?: readonly string[];
  /** Extra options of the receiver. */
  receiver?: readonly string[];
  /**
   * A second sender, on a group nothing logs to, connected from the start: the receiver must
   * then hold every record for its reorder window (it cannot know the idle one has nothing
   * older), as with several senders.
   */
  idleSender?: boolean;
  /**
   * Prometheus on at the receiver, read once the traffic is over: its mean delivery delay
   * (receiver clock minus the kernel's timestamp of each output batch's first packet) becomes
   * `receiver.delay_ms`.
   */
  delay?: boolean;
}

/** The reorder window's hold, ms, which the `pipe-order-held` row waits out at its end. */
const REORDER_WINDOW_MS = 200;

/**
 * The mean delivery delay, ms, of the receiver `receiver` (started with `--metrics-listen`) in
 * `netns`: its histogram's sum / count.
 */
async function meanDelayMs(netns: string, receiver: Proc): Promise<number> {
  const url = / metrics listening .*url=(\S+)/.exec(receiver.stderr())?.[1];
  if (url === undefined) return Number.NaN;
  const fetcher = `fetch(${JSON.stringify(url)}).then((r) => r.text()).then((t) => process.stdout.write(t))`;
  const r = await runCmd('ip', ['netns', 'exec', netns, process.execPath, '-e', fetcher], {
    allowFail: true,
  });
  const value = (name: string): number =>
    Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(r.stdout)?.[1] ?? Number.NaN);
  const count = value('nflog_pipe_delivery_delay_seconds_count');
  return count > 0 ? (value('nflog_pipe_delivery_delay_seconds_sum') / count) * 1000 : Number.NaN;
}

/**
 * The whole pipe: sender -> ipc -> receiver -> FIFO -> cat > FILE. With `curve` both ends use
 * CurveZMQ over the same ipc socket, so the row differs from `pipe` by the encryption alone;
 * `sender`/`receiver` options likewise differ by what they turn on; `idleSender` makes the
 * reorder window hold everything (`pipe-order-held`).
 */
async function startPipe(ctx: ToolContext, variant: PipeVariant): Promise<RunningTool> {
  const curve = variant.curve === true;
  const endpoint = `ipc://${join(ctx.dir, 'pipe.sock')}`;
  const fifo = join(ctx.dir, 'pipe.fifo');
  const file = join(ctx.dir, 'pipe.pcap');
  await runCmd('mkfifo', [fifo]);
  await mkdir(ctx.dir, { recursive: true });
  const extra = curve ? await curveArgs(ctx.dir) : { receiver: [], sender: [] };
  const out = await open(file, 'w');
  // The reader: cat copies the FIFO into a file; it stands in for the IDS reading the stream.
  const reader = startProc('reader', 'cat', [fifo], { stdio: ['ignore', out.fd, 'pipe'] });
  await out.close();
  const receiver = startProc(
    'receiver',
    process.execPath,
    [
      ...NODE_ARGS,
      binPath('receiver', 'nflog-pcap-recv'),
      ...RECEIVER_ARGS,
      ...extra.receiver,
      ...(variant.receiver ?? []),
      ...(variant.delay === true ? ['--metrics-listen', '127.0.0.1:0'] : []),
      endpoint,
      fifo,
    ],
    { netns: ctx.netns },
  );
  // The receiver binds; wait for the socket file before the sender connects.
  const deadline = Date.now() + 20_000;
  while (!(await exists(join(ctx.dir, 'pipe.sock')))) {
    if (receiver.done || Date.now() > deadline) {
      throw new Error(`receiver did not bind ${endpoint}: ${receiver.stderr().trim().slice(-300)}`);
    }
    await delay(50);
  }
  const sender = await startSender(ctx, endpoint, [...extra.sender, ...(variant.sender ?? [])]);
  const idle =
    variant.idleSender === true
      ? await startSender({ ...ctx, group: ctx.group + 1 }, endpoint, extra.sender)
      : null;
  return {
    procs: [
      { proc: sender, role: 'tool' },
      ...(idle !== null ? [{ proc: idle, role: 'tool' as const }] : []),
      { proc: receiver, role: 'tool' },
      { proc: reader, role: 'harness' },
    ],
    async finish() {
      await stopProc(sender, 'SIGINT');
      // The last frames land, and what the window holds waits out its hold.
      await delay(variant.idleSender === true ? 200 + REORDER_WINDOW_MS : 200);
      const delayMs = variant.delay === true ? await meanDelayMs(ctx.netns, receiver) : undefined;
      if (idle !== null) await stopProc(idle, 'SIGINT');
      await stopProc(receiver, 'SIGINT');
      // The receiver closing the FIFO gives cat EOF; only if it does not come, stop cat.
      if (!(await exitsWithin(reader, 10_000))) await stopProc(reader, 'SIGTERM');
      return fileOutcome(file, {
        ...prefixed('sender', parseSummaryLine(sender.stderr(), FINAL_LINE)),
        ...prefixed('receiver', parseSummaryLine(receiver.stderr(), FINAL_LINE)),
        ...(delayMs !== undefined ? { 'receiver.delay_ms': delayMs } : {}),
      });
    },
  };
}

const PIPE_BINS: [string, string][] = [
  ['sender', 'nflog-zmq-send'],
  ['receiver', 'nflog-pcap-recv'],
];

/** A whole-pipe set-up: one line per variant in TOOLS below. */
export function pipeDef(name: ToolName, describe: string, variant: PipeVariant = {}): ToolDef {
  return {
    name,
    kind: 'ours',
    describe,
    unavailable: () => oursUnavailable(PIPE_BINS),
    start: (ctx) => startPipe(ctx, variant),
  };
}

/** Every set-up by name. */
export const TOOLS: Record<ToolName, ToolDef> = {
  tcpdump: tcpdumpFile,
  'tcpdump-null': tcpdumpNull,
  'tcpdump-b128m': tcpdumpBigBuffer,
  ulogd2,
  sender: senderAlone,
  'sender-acct-off': senderAloneDef(
    'sender-acct-off',
    `as sender, ${ACCOUNTING_ROWS.off.join(' ')} (Prometheus export, accounting by rule off)`,
    ACCOUNTING_ROWS.off,
  ),
  'sender-acct-on': senderAloneDef(
    'sender-acct-on',
    `as sender, ${ACCOUNTING_ROWS.on.join(' ')} (Prometheus export, accounting by rule on)`,
    ACCOUNTING_ROWS.on,
  ),
  pipe: pipeDef(
    'pipe',
    'nflog-zmq-send -> ipc -> nflog-pcap-recv -> FIFO -> cat > FILE (records counted in FILE)',
  ),
  'pipe-curve': pipeDef(
    'pipe-curve',
    'the pipe row with CurveZMQ on its socket (keys on both ends, an allowlist of one)',
    { curve: true },
  ),
  'pipe-acct': pipeDef(
    'pipe-acct',
    `the pipe row, the sender with ${ACCOUNTING_ROWS.on.join(' ')} (accounting by rule on)`,
    { sender: ACCOUNTING_ROWS.on },
  ),
  'pipe-fifo64k': pipeDef(
    'pipe-fifo64k',
    "the pipe row with --fifo-pipe-size 0: the kernel's 64 KiB FIFO pipe",
    { receiver: ['--fifo-pipe-size', '0'] },
  ),
  'pipe-order-off': pipeDef(
    'pipe-order-off',
    'the pipe row with --reorder-window 0 (arrival order) and Prometheus on, for the delivery delay',
    { receiver: ['--reorder-window', '0'], delay: true },
  ),
  'pipe-order-held': pipeDef(
    'pipe-order-held',
    `the pipe row with an idle second sender connected, so every record waits out the ${REORDER_WINDOW_MS} ms window (as with several senders), Prometheus on`,
    { receiver: ['--reorder-window', String(REORDER_WINDOW_MS)], idleSender: true, delay: true },
  ),
  'sender-shard1': senderShardDef('sender-shard1', 1),
  'sender-shard2': senderShardDef('sender-shard2', 2),
  'sender-shard4': senderShardDef('sender-shard4', 4),
};

/**
 * The set-ups among `names` that can run here, and for each of the others the reason, also
 * told on stderr (`bench: skipping NAME: WHY`).
 */
export async function availableTools(
  names: readonly ToolName[],
): Promise<{ tools: ToolDef[]; skipped: Record<string, string> }> {
  const tools: ToolDef[] = [];
  const skipped: Record<string, string> = {};
  for (const name of names) {
    const why = await TOOLS[name].unavailable();
    if (why === undefined) tools.push(TOOLS[name]);
    else {
      skipped[name] = why;
      process.stderr.write(`bench: skipping ${name}: ${why}\n`);
    }
  }
  return { tools, skipped };
}

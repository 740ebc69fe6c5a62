// npm run bench -- --soak SECONDS: the whole pipe (loadgen → nft log → nflog-zmq-send → ipc →
// nflog-pcap-recv → FIFO → a counting reader) under a steady load for SECONDS, with a fault every
// --fault-every seconds in turn: the FIFO reader killed, the output full (the reader stops
// reading for a while), the receiver SIGKILLed and restarted, the sender restarted. Every
// process's RSS is sampled each second; at the end it prints each role's RSS trend and where
// every offered packet went, stage by stage. Not part of CI: the coordinator runs it.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Netns, nftLogged } from '@nflog-pipe/testing';
import { buildLoadgen, loadResult, startLoadgen } from './loadgen.js';
import { readNflogInstance, waitNflogBound } from './nflog-ready.js';
import { sampleProc } from './proc-stats.js';
import { delay, runCmd, RunScope, startProc, stopProc, type Proc } from './proc.js';
import { binPath, NODE_ARGS, parseSummaryLine } from './tools.js';

/** What one soak run does. */
export interface SoakOptions {
  seconds: number;
  sizeBytes: number;
  ratePps: number;
  /** Seconds between faults. */
  faultEveryS: number;
  /** How long the output stays full (the reader stopped), seconds. */
  stallS: number;
  group: number;
  port: number;
}

/** The faults, applied in this order, over and over. */
export const SOAK_FAULTS = [
  'reader-kill',
  'output-full',
  'receiver-kill',
  'sender-restart',
] as const;
type Fault = (typeof SOAK_FAULTS)[number];

type Role = 'sender' | 'receiver' | 'reader';

/** One RSS sample of the process holding a role at that moment. */
interface RssSample {
  tS: number;
  role: Role;
  pid: number;
  rssKiB: number;
}

const READER = fileURLToPath(new URL('./soak-reader.js', import.meta.url));
const STOPPED = /\bstopped\b/;
const STATS = /\bINFO nflog-pcap-recv: stats\b/;
/** The receiver's warning for a sender it meets past sequence 0 (a restart's in-flight gap). */
const PAST_ZERO = /sender already past sequence 0: .* sender=([0-9a-f]+) first_seq=(\d+)/g;

function ruleset(group: number, port: number): string {
  return [
    'table inet nfpsoak {',
    '  chain in {',
    '    type filter hook input priority 0;',
    // The counter is the ground truth: every datagram offered, whether a sender was bound or not.
    `    udp dport ${port} counter log group ${group} drop`,
    '  }',
    '}',
    '',
  ].join('\n');
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const mib = (kib: number): string => (kib / 1024).toFixed(1);

/** Least-squares slope of y over x (MiB per minute when x is seconds and y KiB). */
function slopeMiBPerMin(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : (num / den / 1024) * 60;
}

/**
 * Runs the soak and prints its report. Resolves to the exit code: 0 when the run completed and
 * every loss is counted or declared, 1 otherwise.
 */
export async function runSoak(o: SoakOptions): Promise<number> {
  const scope = new RunScope('bench', await mkdtemp(join(tmpdir(), 'nfp-soak-')));
  const dir = scope.tmp;
  const t0 = performance.now();
  const now = (): number => (performance.now() - t0) / 1000;
  const log = (s: string): void =>
    void process.stderr.write(`soak: [${now().toFixed(1)} s] ${s}\n`);
  const samples: RssSample[] = [];
  const senders: Proc[] = [];
  const receivers: Proc[] = [];
  const readerCounts: number[] = [];
  const killedReceivers = new Set<Proc>();
  const current: Partial<Record<Role, Proc>> = {};
  let finishing = false;
  let sampling = true;
  let readerExited: Promise<void> = Promise.resolve();
  try {
    const loadgenBin = await buildLoadgen(dir);
    const ns = await Netns.create('soak');
    scope.ns = ns;
    await ns.nft(ruleset(o.group, o.port));
    const endpoint = `ipc://${join(dir, 'recv.sock')}`;
    const fifo = join(dir, 'out.fifo');
    await runCmd('mkfifo', [fifo]);

    const startReader = (): void => {
      const r = startProc('reader', process.execPath, [READER, fifo]);
      current.reader = r;
      // A reader ends at EOF (its receiver closed the FIFO or died) or when killed: count what
      // it got, and put a new one in its place unless the run is ending.
      readerExited = r.exited.then(() => {
        const line = r.stdout().trim().split('\n').pop() ?? '';
        try {
          readerCounts.push((JSON.parse(line) as { records: number }).records);
        } catch {
          log(`a reader gave no count: ${r.stderr().trim().slice(-200)}`);
          readerCounts.push(0);
        }
        if (!finishing && !scope.interrupted) startReader();
      });
    };
    const startReceiver = async (): Promise<void> => {
      const r = startProc(
        'receiver',
        process.execPath,
        [
          ...NODE_ARGS,
          binPath('receiver', 'nflog-pcap-recv'),
          endpoint,
          fifo,
          '--stats-interval',
          '0.2',
        ],
        { netns: ns.name },
      );
      receivers.push(r);
      current.receiver = r;
      await r.waitFor(/ started /, 20_000);
    };
    const startSender = async (): Promise<void> => {
      const s = startProc(
        'sender',
        process.execPath,
        [...NODE_ARGS, binPath('sender', 'nflog-zmq-send'), String(o.group), endpoint],
        { netns: ns.name },
      );
      senders.push(s);
      current.sender = s;
      await waitNflogBound(s, o.group);
    };

    startReader();
    await startReceiver();
    await startSender();

    const sampler = (async () => {
      while (sampling) {
        const tS = now();
        for (const role of ['sender', 'receiver', 'reader'] as const) {
          const p = current[role];
          if (p === undefined || p.done) continue;
          const s = await sampleProc(p.pid);
          // A process on its way out (a zombie) reports no resident set: not a sample.
          if (s !== undefined && s.rssKiB > 0)
            samples.push({ tS, role, pid: p.pid, rssKiB: s.rssKiB });
        }
        await delay(1000);
      }
    })();

    log(
      `${o.ratePps} pps of ${o.sizeBytes} B for ${o.seconds} s, a fault every ${o.faultEveryS} s`,
    );
    const gen = startLoadgen(loadgenBin, ns.name, {
      port: o.port,
      sizeBytes: o.sizeBytes,
      pps: o.ratePps,
      seconds: o.seconds,
    });
    const faults: Array<{ tS: number; fault: Fault }> = [];
    for (let k = 0; !gen.done && !scope.interrupted; k++) {
      await Promise.race([gen.exited, delay(o.faultEveryS * 1000)]);
      if (gen.done || scope.interrupted) break;
      const fault = SOAK_FAULTS[k % SOAK_FAULTS.length]!;
      faults.push({ tS: now(), fault });
      log(fault);
      switch (fault) {
        case 'reader-kill':
          // A reader that goes away; the receiver reopens the FIFO for the next one.
          current.reader?.kill('SIGTERM');
          break;
        case 'output-full': {
          // The IDS stops reading: the pipe fills, then the receiver's bounded queue.
          const r = current.reader;
          r?.kill('SIGSTOP');
          await delay(o.stallS * 1000);
          r?.kill('SIGCONT');
          break;
        }
        case 'receiver-kill': {
          const r = current.receiver!;
          killedReceivers.add(r);
          r.kill('SIGKILL');
          await r.exited;
          await startReceiver();
          break;
        }
        case 'sender-restart': {
          await stopProc(current.sender!, 'SIGTERM', 20_000);
          await startSender();
          break;
        }
      }
    }
    await gen.exited;
    if (scope.interrupted) return 0;
    const load = loadResult(gen);
    log(`load done: ${fmt(load.sent)} datagrams sent`);

    // Drain: the kernel holds nothing for the group and the receiver's count stops moving.
    const recv = current.receiver!;
    let last = -1;
    for (let i = 0; i < 40; i++) {
      await delay(250);
      const held = (await readNflogInstance(current.sender!.pid, o.group))?.qlen ?? 0;
      const inPkt = parseSummaryLine(recv.stderr(), STATS)['in_pkt'] ?? 0;
      if (held === 0 && inPkt === last) break;
      last = inPkt;
    }
    finishing = true;
    await stopProc(current.sender!, 'SIGTERM', 20_000);
    await delay(500);
    await stopProc(recv, 'SIGTERM', 20_000);
    await readerExited;
    sampling = false;
    await sampler;

    const offered = await nftLogged(ns, o.group);
    report(o, {
      offered,
      generated: load.sent,
      senders,
      receivers,
      killedReceivers,
      readerCounts,
      samples,
      faults,
    });
    return 0;
  } catch (err) {
    process.stderr.write(`bench: soak failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    sampling = false;
    finishing = true;
    await scope.cleanup();
  }
}

interface SoakResult {
  offered: number;
  generated: number;
  senders: readonly Proc[];
  receivers: readonly Proc[];
  killedReceivers: ReadonlySet<Proc>;
  readerCounts: readonly number[];
  samples: readonly RssSample[];
  faults: ReadonlyArray<{ tS: number; fault: Fault }>;
}

/** Prints the RSS trends and the loss arithmetic. */
function report(o: SoakOptions, r: SoakResult): void {
  const out: string[] = [];
  const sum = (ps: readonly Proc[], key: string, marker: RegExp): number =>
    ps.reduce((a, p) => a + (parseSummaryLine(p.stderr(), marker)[key] ?? 0), 0);
  // Senders always stop cleanly (SIGTERM): their final lines are exact.
  const captured = sum(r.senders, 'captured', STOPPED);
  const kernel = sum(r.senders, 'dropped_kernel', STOPPED);
  const senderDrops =
    sum(r.senders, 'dropped_queue', STOPPED) + sum(r.senders, 'dropped_shaper', STOPPED);
  const queued = sum(r.senders, 'queued', STOPPED); // packets handed to ZeroMQ
  const logged = captured + kernel;
  // Receivers: the last one stops cleanly; a killed one's counters are its last stats line.
  const recvLine = (p: Proc): RegExp => (r.killedReceivers.has(p) ? STATS : STOPPED);
  const fifo = r.receivers.reduce(
    (a, p) => a + (parseSummaryLine(p.stderr(), recvLine(p))['loss_fifo_pkt'] ?? 0),
    0,
  );
  const delivered = r.readerCounts.reduce((a, b) => a + b, 0);
  const notLogged = r.offered - logged;
  const lostAtKills = queued - delivered - fifo;
  // What each restarted receiver logged: the first number of each sender it met past 0.
  const firstSeqs = r.receivers
    .slice(1)
    .flatMap((p) => [...p.stderr().matchAll(PAST_ZERO)].map((m) => fmt(Number(m[2]))));

  out.push('', `nflog-pipe soak: ${o.seconds} s at ${o.ratePps} pps of ${o.sizeBytes} B, faults:`);
  const counts = new Map<string, number>();
  for (const f of r.faults) counts.set(f.fault, (counts.get(f.fault) ?? 0) + 1);
  out.push(
    `  ${[...counts].map(([f, n]) => `${f} ×${n}`).join(', ')} (one every ${o.faultEveryS} s; output full for ${o.stallS} s each)`,
  );

  // RSS: per role, the largest sample in each tenth of the run (or 10 s), across restarts, so a
  // trend over the whole run shows; then per process, its steady part (second half of its life).
  const bucketS = Math.max(10, Math.ceil(o.seconds / 10));
  const buckets = Math.ceil((r.samples.at(-1)?.tS ?? 0) / bucketS);
  out.push('', `RSS (MiB, sampled each second), largest per ${bucketS} s of the run:`);
  out.push(
    `  ${'t (s)'.padEnd(9)}${Array.from({ length: buckets }, (_, b) => String((b + 1) * bucketS).padStart(7)).join('')}`,
  );
  for (const role of ['sender', 'receiver', 'reader'] as const) {
    const cells = Array.from({ length: buckets }, (_, b) => {
      const inB = r.samples.filter(
        (x) => x.role === role && x.tS >= b * bucketS && x.tS < (b + 1) * bucketS,
      );
      return inB.length === 0 ? '-' : mib(Math.max(...inB.map((x) => x.rssKiB)));
    });
    out.push(`  ${role.padEnd(9)}${cells.map((c) => c.padStart(7)).join('')}`);
  }
  out.push('', 'RSS per process (MiB; slope over the second half of its life, MiB/min):');
  out.push('  role      pid      lived (s)      start    end    max    slope');
  const byPid = new Map<number, RssSample[]>();
  for (const x of r.samples) {
    const list = byPid.get(x.pid) ?? [];
    list.push(x);
    byPid.set(x.pid, list);
  }
  for (const role of ['sender', 'receiver', 'reader'] as const) {
    for (const [pid, ss] of byPid) {
      if (ss[0]!.role !== role || ss.length < 4) continue;
      const rss = ss.map((x) => x.rssKiB);
      const half = ss.slice(Math.floor(ss.length / 2));
      const slope = slopeMiBPerMin(
        half.map((x) => x.tS),
        half.map((x) => x.rssKiB),
      );
      out.push(
        `  ${role.padEnd(9)} ${String(pid).padEnd(8)} ${`${ss[0]!.tS.toFixed(0)}–${ss.at(-1)!.tS.toFixed(0)}`.padEnd(13)}` +
          ` ${mib(rss[0]!).padStart(6)} ${mib(rss.at(-1)!).padStart(6)} ${mib(Math.max(...rss)).padStart(6)} ${slope.toFixed(2).padStart(8)}`,
      );
    }
  }

  const rows: Array<[string, number, string]> = [
    ['delivered: whole records the readers got', delivered, ''],
    [
      'not logged: no sender bound (restarts)',
      notLogged,
      `declared: nft counter − what the senders' NFLOG instances logged (${(notLogged / o.ratePps).toFixed(2)} s of load over ${r.senders.length - 1} restarts)`,
    ],
    ['kernel drops (ENOBUFS)', kernel, 'counted: dropped_kernel'],
    ['sender queue and shaper drops', senderDrops, 'counted: dropped_queue + dropped_shaper'],
    ['FIFO drops (reader gone or too slow)', fifo, 'counted: loss_fifo_pkt'],
    [
      'lost with killed receivers',
      lostAtKills,
      `declared uncountable: in flight and queued in a receiver when it was killed (the restarted receivers logged first_seq ${firstSeqs.join(', ') || 'none'})`,
    ],
  ];
  const accounted = rows.reduce((a, [, n]) => a + n, 0);
  out.push('', 'where every offered packet went (packets):');
  out.push(
    `  offered: nft counter of the logging rule  ${fmt(r.offered).padStart(14)}   (the generator sent ${fmt(r.generated)})`,
  );
  for (const [what, n, why] of rows)
    out.push(
      `  ${(rows[0]![0] === what ? '= ' : '+ ') + what}`.padEnd(44) +
        `${fmt(n).padStart(12)}   ${why}`,
    );
  out.push(
    `  check: offered − all of the above = ${fmt(r.offered - accounted)} (0 = nothing unexplained)`,
  );
  out.push(
    `  sender identity: logged ${fmt(logged)} = captured ${fmt(captured)} + kernel ${fmt(kernel)}; captured = queued ${fmt(queued)} + drops ${fmt(senderDrops)}${captured === queued + senderDrops ? '' : '  MISMATCH'}`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

// npm run bench -- --recv-memory: the receiver's memory, measured (issue 10). Runs of the real
// nflog-pcap-recv, fed over loopback ZeroMQ by this process (no root, no namespace):
//  1. ring: --buffer-window 256 under 50k packets/s of 1444-byte records for --seconds, first
//     without queries, then with a full dump by nflog-pcap-query every few seconds; RSS
//     sampled, its peak against the plan "ring + 96 MiB";
//  2. hostile: 20 messages of 200 MiB each from one peer, beside a real sender; the receiver's
//     RSS over its idle RSS (the plan: at most 128 MiB), and what it counted.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Push } from 'zeromq';
import { encodeRecords } from '@nflog-pipe/pcap-writer';
import { MIB, WIRE_NAMESPACE_ID_BYTES, encodeFrame } from '@nflog-pipe/shared';
import { cpuPercent, sampleProc } from './proc-stats.js';
import { delay, startProc, stopProc, type Proc } from './proc.js';
import { binPath } from './tools.js';

/** Options of {@link runRecvMemory}. */
export interface RecvMemoryOptions {
  /** Seconds of load in the ring run (the 256 MiB ring fills in about 4). */
  seconds: number;
}

const RING_MIB = 256;
const RATE_PPS = 50_000;
const PAYLOAD_BYTES = 1400;
const FRAME_PACKETS = 100;
const DUMP_EVERY_MS = 5000;
const SAMPLE_MS = 100;
const HOSTILE_MESSAGES = 20;
const HOSTILE_BYTES = 200 * MIB;
const NAMESPACE_ID = Buffer.alloc(WIRE_NAMESPACE_ID_BYTES, 7);

/** RSS in MiB of `pid` now (undefined once it is gone). */
async function rssMiB(pid: number): Promise<number | undefined> {
  const s = await sampleProc(pid);
  return s === undefined ? undefined : s.rssKiB / 1024;
}

/** Samples the RSS of `pid` every SAMPLE_MS until stopped; keeps the peak and the last. */
function sampler(pid: number): { stop(): Promise<{ peakMiB: number; lastMiB: number }> } {
  let peak = 0;
  let last = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const r = await rssMiB(pid);
      if (r === undefined) return;
      last = r;
      peak = Math.max(peak, r);
      await delay(SAMPLE_MS);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { peakMiB: peak, lastMiB: last };
    },
  };
}

/** One IPv4/UDP-shaped packet of PAYLOAD_BYTES payload numbered `i` (content is not checked). */
function packet(i: number): Buffer {
  const ip = Buffer.alloc(28 + PAYLOAD_BYTES, 0x61);
  ip[0] = 0x45;
  ip.writeUInt16BE(ip.length, 2);
  ip[8] = 64;
  ip[9] = 17;
  ip.writeUInt32BE(0x7f000001, 12);
  ip.writeUInt32BE(0x7f000001, 16);
  ip.writeUInt32BE(i, 28);
  return ip;
}

/** v1 frames of FRAME_PACKETS records stamped now, sequence numbers from `firstSeq`. */
function frameAt(senderId: bigint, firstSeq: number, pkts: readonly Buffer[]): Buffer {
  const nowMs = Date.now();
  const tsSec = Math.floor(nowMs / 1000);
  const tsFrac = (nowMs % 1000) * 1000;
  // With the kernel-order section nflog-zmq-send puts in every frame (one netns, its numbers
  // in order): a lone sender, which the reorder window passes straight through. Frames without
  // it are merged by time and held --reorder-window (the receiver's README, "Memory").
  const seqGlobal = Buffer.alloc(4 * pkts.length);
  for (let i = 0; i < pkts.length; i++) seqGlobal.writeUInt32LE((firstSeq + i + 1) >>> 0, 4 * i);
  const order = { namespaceId: NAMESPACE_ID, delayBoundMs: 60, seqGlobal };
  return encodeFrame(
    { linktype: 101, senderId, firstSeq: BigInt(firstSeq), count: pkts.length, order },
    encodeRecords(pkts.map((data) => ({ tsSec, tsFrac, data }))),
  );
}

/** Sends frames at RATE_PPS for `ms`; returns the packets sent. */
async function offer(push: Push, ms: number, from: number): Promise<number> {
  const pkts = Array.from({ length: FRAME_PACKETS }, (_, i) => packet(i));
  const start = Date.now();
  let sent = 0;
  while (Date.now() - start < ms) {
    const due = Math.floor(((Date.now() - start) / 1000) * RATE_PPS);
    while (sent + FRAME_PACKETS <= due) {
      await push.send(frameAt(1n, from + sent, pkts));
      sent += FRAME_PACKETS;
    }
    await delay(5);
  }
  return sent;
}

async function startReceiver(dir: string, args: string[]): Promise<{ proc: Proc; ep: string }> {
  const proc = startProc('receiver', process.execPath, [
    binPath('receiver', 'nflog-pcap-recv'),
    'tcp://127.0.0.1:*',
    '/dev/null',
    '--stats-interval',
    '0.5',
    ...args,
  ]);
  const m = await proc.waitFor(/ started .*endpoints=(\S+)/, 20_000);
  return { proc, ep: m[1]! };
}

/** The last `stats` line's key=value counters. */
function lastStats(proc: Proc): Record<string, string> {
  const lines = proc
    .stderr()
    .split('\n')
    .filter((l) => / stats /.test(l));
  const line = lines[lines.length - 1] ?? '';
  return Object.fromEntries([...line.matchAll(/ ([a-z_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
}

/** The ring run; `withDumps` false measures the same load without queries. */
async function ringRun(dir: string, seconds: number, withDumps: boolean): Promise<void> {
  const query = `ipc://${join(dir, 'q.sock')}`;
  const { proc, ep } = await startReceiver(dir, [
    '--buffer-interface',
    query,
    '--buffer-window',
    String(RING_MIB),
  ]);
  const push = new Push({ linger: 0, sendHighWaterMark: 10_000 });
  try {
    push.connect(ep);
    await delay(500);
    const idle = (await rssMiB(proc.pid)) ?? 0;
    const s = sampler(proc.pid);
    let dumps = 0;
    let dumpMiB = 0;
    let stopDumps = false;
    const dumping = (async () => {
      while (withDumps && !stopDumps) {
        await delay(DUMP_EVERY_MS);
        if (stopDumps) return;
        // The real client, in its own process: the load generator here never waits for it.
        const file = join(dir, 'dump.pcap');
        const q = startProc('query', process.execPath, [
          binPath('query', 'nflog-pcap-query'),
          query,
          '-w',
          file,
        ]);
        const r = await q.exited;
        if (r.code !== 0) throw new Error(`nflog-pcap-query failed: ${q.stderr().trim()}`);
        dumps++;
        dumpMiB = (await stat(file)).size / MIB;
        await rm(file, { force: true });
      }
    })();
    const cpuBefore = await sampleProc(proc.pid);
    const loadStart = performance.now();
    const sent = await offer(push, seconds * 1000, 0);
    const cpu = cpuPercent(
      cpuBefore,
      await sampleProc(proc.pid),
      (performance.now() - loadStart) / 1000,
    );
    stopDumps = true;
    await dumping;
    await delay(1000); // let the last frames in
    const { peakMiB, lastMiB } = await s.stop();
    const st = lastStats(proc);
    const hwm = ((await sampleProc(proc.pid))?.hwmKiB ?? 0) / 1024;
    const plan = RING_MIB + 96;
    process.stdout.write(
      [
        `ring run: --buffer-window ${RING_MIB}, ${RATE_PPS} pps of ${28 + PAYLOAD_BYTES + 16}-byte records for ${seconds} s, ${withDumps ? `a full dump every ${DUMP_EVERY_MS / 1000} s` : 'no dumps'}`,
        `  sent ${sent} packets, received ${st['in_pkt']}, ring_pkt ${st['ring_pkt']}, ${dumps} dumps (last ${dumpMiB.toFixed(1)} MiB)`,
        `  receiver CPU ${cpu.toFixed(1)} % of a core over the load`,
        `  RSS: idle ${idle.toFixed(1)} MiB, end ${lastMiB.toFixed(1)} MiB, peak sampled ${peakMiB.toFixed(1)} MiB, VmHWM ${hwm.toFixed(1)} MiB`,
        `  plan: ring + 96 MiB = ${plan} MiB -> ${hwm <= plan ? 'met' : 'MISSED'} (VmHWM - ring = ${(hwm - RING_MIB).toFixed(1)} MiB)`,
        '',
      ].join('\n'),
    );
  } finally {
    push.close();
    await stopProc(proc, 'SIGTERM');
  }
}

async function hostileRun(dir: string): Promise<void> {
  const { proc, ep } = await startReceiver(dir, []);
  const real = new Push({ linger: 0 });
  const hostile = new Push({ linger: 0 });
  try {
    real.connect(ep);
    hostile.connect(ep);
    await delay(1000);
    const idle = (await rssMiB(proc.pid)) ?? 0;
    const s = sampler(proc.pid);
    const huge = Buffer.alloc(HOSTILE_BYTES); // one buffer, sent again and again without copies
    const flooding = (async () => {
      for (let i = 0; i < HOSTILE_MESSAGES; i++) await hostile.send(huge);
    })();
    const pkts = Array.from({ length: 10 }, (_, i) => packet(i));
    let sent = 0;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      await real.send(frameAt(7n, sent, pkts));
      sent += pkts.length;
      const st = lastStats(proc);
      if (Number(st['disconnects'] ?? 0) >= HOSTILE_MESSAGES && sent >= 1000) break;
      await delay(10);
    }
    await flooding;
    await delay(1000);
    const { peakMiB } = await s.stop();
    const st = lastStats(proc);
    const hwm = ((await sampleProc(proc.pid))?.hwmKiB ?? 0) / 1024;
    process.stdout.write(
      [
        `hostile run: ${HOSTILE_MESSAGES} messages of ${HOSTILE_BYTES / MIB} MiB from one peer, a real sender beside it`,
        `  receiver: disconnects ${st['disconnects']}, bad_frames ${st['bad_frames']}, in_pkt ${st['in_pkt']} of ${sent} sent, loss_network_pkt ${st['loss_network_pkt']}`,
        `  RSS: idle ${idle.toFixed(1)} MiB, peak sampled ${peakMiB.toFixed(1)} MiB, VmHWM ${hwm.toFixed(1)} MiB`,
        `  plan: at most 128 MiB over idle -> ${hwm - idle <= 128 ? 'met' : 'MISSED'} (VmHWM - idle = ${(hwm - idle).toFixed(1)} MiB)`,
        '',
      ].join('\n'),
    );
  } finally {
    real.close();
    hostile.close();
    await stopProc(proc, 'SIGTERM');
  }
}

/** Runs both measurements and prints their lines on stdout. */
export async function runRecvMemory(options: RecvMemoryOptions): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'nfp-recvmem-'));
  try {
    await ringRun(dir, options.seconds, false);
    await ringRun(dir, options.seconds, true);
    await hostileRun(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

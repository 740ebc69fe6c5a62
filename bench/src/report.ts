import { SHARD_LOAD, type ToolName } from './tools.js';

/** One measured run: one set-up, one payload size, one rate, one repetition. */
export interface RunRecord {
  tool: ToolName;
  sizeBytes: number;
  /** Target pps, or 'max' for the generator's maximum. */
  rate: number | 'max';
  rep: number;
  /** Datagrams the generator sent (each one is logged to NFLOG once). */
  offered: number;
  /** Seconds the generator ran. */
  seconds: number;
  /** Packets at the end of the set-up. */
  captured: number;
  lost: number;
  /** lost / offered, in percent. */
  lossPct: number;
  /** captured / seconds. */
  pps: number;
  /** Captured IP bytes (payload + 28 bytes of IPv4/UDP headers) per second, in MB/s (10^6). */
  mbps: number;
  /** CPU of each process as % of one core over the offered interval, keyed `label`. */
  cpuPct: Record<string, number>;
  /** Peak RSS (VmHWM) of each process, in MiB. */
  rssMiB: Record<string, number>;
  /** Sum of cpuPct over the set-up's own processes (not the bench's sink or file reader). */
  toolCpuPct: number;
  /** The generator's CPU, % of one core (100 = saturated). */
  loadgenCpuPct: number;
  /** Each stage's own counters. */
  stages: Record<string, number>;
  /** `lost` split over the stages (see splitLoss). */
  lostAt: Record<string, number>;
  /** Ours: lost packets no stage counted (goal 0); undefined for the reference tools. */
  uncounted?: number;
  notes: string[];
  error?: string;
}

/** The median over repetitions of one (tool, size, rate) cell, plus ratios against references. */
export interface MedianRow extends Omit<RunRecord, 'rep' | 'notes' | 'error'> {
  reps: number;
  failedReps: number;
  /** The repetition whose counts (offered ... mbps, stages, lostAt) the row shows. */
  medianRep?: number;
  /** ours/reference, keyed by reference tool: delivered fraction ratio and tool-CPU ratio. */
  ratios: Record<string, { delivered: number; cpu: number; cpuPerPacket: number }>;
  notes: string[];
}

/** Median of numbers (mean of the two middle ones for an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 === 1
    ? (s[mid] as number)
    : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function medianOfRecords(recs: readonly Record<string, number>[]): Record<string, number> {
  const keys = new Set(recs.flatMap((r) => Object.keys(r)));
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = median(recs.map((r) => r[k] ?? Number.NaN));
  return out;
}

function rateKey(rate: number | 'max'): string {
  return String(rate);
}

/** The row of `tool` at `row`'s size and rate, when it has a repetition that ran. */
function findBase(
  rows: readonly MedianRow[],
  tool: ToolName,
  row: MedianRow,
): MedianRow | undefined {
  const base = rows.find(
    (r) => r.tool === tool && r.sizeBytes === row.sizeBytes && r.rate === row.rate,
  );
  return base === undefined || base.reps === 0 || row.reps === 0 ? undefined : base;
}

/** `row` over `base`: delivered fraction, tool CPU, and tool CPU per delivered packet. */
function ratiosAgainst(
  row: MedianRow,
  base: MedianRow,
): { delivered: number; cpu: number; cpuPerPacket: number } {
  const delivered = row.offered > 0 ? row.captured / row.offered : Number.NaN;
  const baseDelivered = base.offered > 0 ? base.captured / base.offered : Number.NaN;
  return {
    delivered: delivered / baseDelivered,
    cpu: base.toolCpuPct > 0 ? row.toolCpuPct / base.toolCpuPct : Number.NaN,
    // CPU per delivered packet: a tool that loses half the packets also skips half the work.
    cpuPerPacket:
      base.toolCpuPct > 0 && row.pps > 0
        ? row.toolCpuPct / row.pps / (base.toolCpuPct / base.pps)
        : Number.NaN,
  };
}

/**
 * Groups runs by (tool, size, rate), takes medians, then adds ratios against `references`, and
 * for `pipe-curve` rows against `pipe` (what CURVE costs).
 */
export function summarize(
  runs: readonly RunRecord[],
  references: readonly ToolName[],
): MedianRow[] {
  const groups = new Map<string, RunRecord[]>();
  for (const r of runs) {
    const k = `${r.tool}|${r.sizeBytes}|${rateKey(r.rate)}`;
    const g = groups.get(k) ?? [];
    g.push(r);
    groups.set(k, g);
  }
  const rows: MedianRow[] = [];
  for (const g of groups.values()) {
    const first = g[0] as RunRecord;
    const ok = g.filter((r) => r.error === undefined);
    const m = (f: (r: RunRecord) => number): number => median(ok.map(f));
    // Counts come from one real run, the one with the median loss, so offered - captured = lost
    // and the stage counters add up within the row; CPU and memory are per-column medians.
    const byLoss = [...ok].sort((a, b) => a.lossPct - b.lossPct);
    const mid = byLoss[(byLoss.length - 1) >> 1];
    const c = (f: (r: RunRecord) => number): number => (mid !== undefined ? f(mid) : Number.NaN);
    rows.push({
      tool: first.tool,
      sizeBytes: first.sizeBytes,
      rate: first.rate,
      reps: ok.length,
      failedReps: g.length - ok.length,
      offered: c((r) => r.offered),
      seconds: c((r) => r.seconds),
      captured: c((r) => r.captured),
      lost: c((r) => r.lost),
      lossPct: c((r) => r.lossPct),
      pps: c((r) => r.pps),
      mbps: c((r) => r.mbps),
      cpuPct: medianOfRecords(ok.map((r) => r.cpuPct)),
      rssMiB: medianOfRecords(ok.map((r) => r.rssMiB)),
      toolCpuPct: m((r) => r.toolCpuPct),
      loadgenCpuPct: m((r) => r.loadgenCpuPct),
      stages: mid?.stages ?? {},
      lostAt: mid?.lostAt ?? {},
      ...(mid !== undefined ? { medianRep: mid.rep } : {}),
      ...(ok.some((r) => r.uncounted !== undefined)
        ? {
            // The worst repetition: one run with uncounted loss is one too many.
            uncounted: ok
              .map((r) => r.uncounted ?? 0)
              .reduce((a, b) => (Math.abs(b) > Math.abs(a) ? b : a), 0),
          }
        : {}),
      ratios: {},
      notes: [
        ...new Set(
          g.flatMap((r) => [...r.notes, ...(r.error !== undefined ? [`error: ${r.error}`] : [])]),
        ),
      ],
    });
  }
  for (const row of rows) {
    for (const ref of references) {
      if (row.tool === ref) continue;
      const base = findBase(rows, ref, row);
      if (base !== undefined) row.ratios[ref] = ratiosAgainst(row, base);
    }
    // The CURVE row's own reference: the plain pipe of the same size and rate in this run.
    if (row.tool === 'pipe-curve') {
      const base = findBase(rows, 'pipe', row);
      if (base !== undefined) row.ratios['pipe'] = ratiosAgainst(row, base);
    }
  }
  return rows;
}

function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return '-';
  return n.toFixed(digits);
}

function fmtCount(n: number): string {
  if (!Number.isFinite(n)) return '-';
  return Math.round(n).toLocaleString('en-US');
}

function pad(cells: string[], widths: number[], right: boolean[]): string {
  return cells
    .map((c, i) => (right[i] === true ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
    .join('  ');
}

/** Renders the median rows as a fixed-width table, with a per-process and per-stage detail list. */
export function renderTable(rows: readonly MedianRow[], reference: ToolName): string {
  const head = [
    'size',
    'rate',
    'tool',
    'offered',
    'captured',
    'lost',
    'loss%',
    'pps',
    'MB/s',
    'cpu%',
    'rssMiB',
    'gen%',
    'uncounted',
    `deliv/${reference}`,
    `cpu/${reference}`,
    'cpu/pkt',
  ];
  const right = head.map((_, i) => i !== 2);
  const body = rows.map((r) => {
    const ratio = r.ratios[reference];
    return [
      String(r.sizeBytes),
      String(r.rate),
      r.tool,
      fmtCount(r.offered),
      fmtCount(r.captured),
      fmtCount(r.lost),
      fmt(r.lossPct, 2),
      fmtCount(r.pps),
      fmt(r.mbps, 1),
      fmt(r.toolCpuPct, 1),
      fmt(
        Object.values(r.rssMiB).reduce((a, b) => a + b, 0),
        0,
      ),
      fmt(r.loadgenCpuPct, 0),
      r.uncounted !== undefined ? fmtCount(r.uncounted) : '',
      ratio !== undefined ? fmt(ratio.delivered, 3) : '',
      ratio !== undefined ? fmt(ratio.cpu, 2) : '',
      ratio !== undefined ? fmt(ratio.cpuPerPacket, 2) : '',
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const lines = [pad(head, widths, right), widths.map((w) => '-'.repeat(w)).join('  ')];
  let last = '';
  for (const [i, b] of body.entries()) {
    const group = `${rows[i]?.sizeBytes}|${rows[i]?.rate}`;
    if (last !== '' && group !== last) lines.push('');
    last = group;
    lines.push(pad(b, widths, right));
  }
  lines.push(
    '',
    'per row: cpu% of one core / peak RSS MiB per process; where the lost packets went; counters:',
  );
  for (const r of rows) {
    const procs = Object.keys(r.cpuPct)
      .map(
        (k) => `${k} ${fmt(r.cpuPct[k] ?? Number.NaN, 1)}%/${fmt(r.rssMiB[k] ?? Number.NaN, 0)}M`,
      )
      .join(', ');
    const list = (rec: Record<string, number>): string =>
      Object.entries(rec)
        .map(([k, v]) => `${k}=${fmtCount(v)}`)
        .join(' ');
    lines.push(`  ${r.sizeBytes}B ${r.rate} ${r.tool}: ${procs}`);
    lines.push(`      lost at: ${list(r.lostAt)}`);
    if (Object.keys(r.stages).length > 0) lines.push(`      counters: ${list(r.stages)}`);
    for (const n of r.notes) lines.push(`      note: ${n}`);
  }
  return lines.join('\n');
}

/** One target from the issue, checked on the medians. */
export interface TargetCheck {
  target: string;
  sizeBytes: number;
  ok: boolean;
  detail: string;
}

/**
 * Checks the targets on the median rows (rows missing for a size are skipped):
 * the sender alone loses nothing at the generator's maximum with CPU no higher than tcpdump
 * -w FILE; the whole pipe loses nothing at 50k pps and, at the maximum, delivers at least the
 * fraction tcpdump -w FILE delivers; every lost packet of ours is counted at its stage.
 */
export function checkTargets(rows: readonly MedianRow[]): TargetCheck[] {
  const out: TargetCheck[] = [];
  const find = (tool: ToolName, size: number, rate: number | 'max'): MedianRow | undefined =>
    rows.find((r) => r.tool === tool && r.sizeBytes === size && r.rate === rate && r.reps > 0);
  const frac = (r: MedianRow): number => (r.offered > 0 ? r.captured / r.offered : Number.NaN);
  for (const size of [...new Set(rows.map((r) => r.sizeBytes))]) {
    const ref = find('tcpdump', size, 'max');
    const s = find('sender', size, 'max');
    if (s !== undefined && ref !== undefined) {
      out.push({
        target: 'sender alone at max: 0 loss, CPU <= tcpdump -w FILE',
        sizeBytes: size,
        ok: s.lost === 0 && s.toolCpuPct <= ref.toolCpuPct,
        detail:
          `lost ${fmtCount(s.lost)}, cpu ${fmt(s.toolCpuPct, 1)}% vs ${fmt(ref.toolCpuPct, 1)}% ` +
          `(per delivered packet x${fmt(s.ratios['tcpdump']?.cpuPerPacket ?? Number.NaN, 2)})`,
      });
    }
    const p50 = find('pipe', size, 50000);
    if (p50 !== undefined) {
      out.push({
        target: 'whole pipe at 50k pps: 0 loss',
        sizeBytes: size,
        ok: p50.lost === 0,
        detail: `lost ${fmtCount(p50.lost)} of ${fmtCount(p50.offered)}`,
      });
    }
    const pmax = find('pipe', size, 'max');
    if (pmax !== undefined && ref !== undefined) {
      out.push({
        target: 'whole pipe at max: delivered >= tcpdump -w FILE',
        sizeBytes: size,
        ok: frac(pmax) >= frac(ref),
        detail: `${fmt(frac(pmax) * 100, 2)}% vs ${fmt(frac(ref) * 100, 2)}%`,
      });
    }
    for (const r of rows.filter((x) => x.sizeBytes === size && x.uncounted !== undefined)) {
      if (r.uncounted === 0) continue;
      out.push({
        target: `every loss counted at its stage (${r.tool} ${r.rate})`,
        sizeBytes: size,
        ok: false,
        detail: `${fmtCount(r.uncounted ?? Number.NaN)} lost packets not in any stage's counters`,
      });
    }
  }
  return out;
}

/**
 * What CURVE costs, one line per size and rate that has both rows: `pipe-curve` over `pipe` of
 * the same run, CPU per delivered packet and delivered fraction. Empty without such rows.
 */
export function renderCurveCost(rows: readonly MedianRow[]): string {
  const lines = rows
    .filter((r) => r.tool === 'pipe-curve' && r.ratios['pipe'] !== undefined)
    .map((r) => {
      const x = r.ratios['pipe']!;
      return `  ${String(r.sizeBytes).padStart(4)}B ${String(r.rate).padStart(6)}: cpu/pkt x${fmt(x.cpuPerPacket, 2)}, cpu x${fmt(x.cpu, 2)}, delivered x${fmt(x.delivered, 3)}`;
    });
  return lines.length === 0
    ? ''
    : ['CURVE cost (pipe-curve / pipe, same run):', ...lines].join('\n');
}

/**
 * What the reorder window costs, one line per size and rate with the rows: the receiver's CPU
 * per delivered packet and its mean delivery delay (Prometheus histogram) with every record held
 * (`pipe-order-held`) over the window off (`pipe-order-off`), and the fast path of one sender
 * (`pipe`, the default) over off. Empty without such rows.
 */
export function renderReorderCost(rows: readonly MedianRow[]): string {
  const lines: string[] = [];
  const recvCpuPerPacket = (r: MedianRow): number => (r.cpuPct['receiver'] ?? Number.NaN) / r.pps;
  for (const off of rows.filter((r) => r.tool === 'pipe-order-off')) {
    const same = (tool: ToolName): MedianRow | undefined =>
      rows.find((r) => r.tool === tool && r.sizeBytes === off.sizeBytes && r.rate === off.rate);
    const held = same('pipe-order-held');
    const fast = same('pipe');
    const parts: string[] = [];
    if (held !== undefined)
      parts.push(
        `held/off receiver cpu/pkt x${fmt(recvCpuPerPacket(held) / recvCpuPerPacket(off), 2)}, delay ${fmt(held.stages['receiver.delay_ms'] ?? Number.NaN, 1)} ms vs ${fmt(off.stages['receiver.delay_ms'] ?? Number.NaN, 1)} ms, delivered x${fmt(held.captured / held.offered / (off.captured / off.offered), 3)}`,
      );
    if (fast !== undefined)
      parts.push(
        `fast path (pipe)/off receiver cpu/pkt x${fmt(recvCpuPerPacket(fast) / recvCpuPerPacket(off), 2)}`,
      );
    if (parts.length > 0)
      lines.push(
        `  ${String(off.sizeBytes).padStart(4)}B ${String(off.rate).padStart(6)}: ${parts.join('; ')}`,
      );
  }
  return lines.length === 0 ? '' : ['Reorder window cost (same run):', ...lines].join('\n');
}

/** Renders target checks, one line each. */
export function renderTargets(checks: readonly TargetCheck[]): string {
  if (checks.length === 0) return 'targets: nothing to check (need tcpdump, sender and pipe rows)';
  return [
    'targets (medians):',
    ...checks.map(
      (c) =>
        `  ${c.ok ? 'PASS' : 'FAIL'}  ${String(c.sizeBytes).padStart(4)}B  ${c.target}: ${c.detail}`,
    ),
  ].join('\n');
}

/**
 * The cost of sharding: for each size and rate with the sender-shard rows (the sender alone on
 * the same 256-flow load, with 1, 2 and 4 endpoints), CPU per delivered packet with 2 and 4
 * shards over 1.
 */
export function renderShardCost(rows: readonly MedianRow[]): string {
  const lines: string[] = [];
  const perPacket = (r: MedianRow): number => r.toolCpuPct / r.pps;
  for (const one of rows.filter((r) => r.tool === 'sender-shard1')) {
    const parts = [`1: ${fmt(one.toolCpuPct, 1)}% at ${fmtCount(one.pps)} pps`];
    for (const n of [2, 4]) {
      const r = rows.find(
        (x) =>
          x.tool === `sender-shard${n}` && x.sizeBytes === one.sizeBytes && x.rate === one.rate,
      );
      if (r !== undefined)
        parts.push(
          `${n}: cpu/pkt x${fmt(perPacket(r) / perPacket(one), 2)} (${fmt(r.toolCpuPct, 1)}% at ${fmtCount(r.pps)} pps, loss ${fmt(r.lossPct, 2)}%)`,
        );
    }
    lines.push(`  ${one.sizeBytes}B ${one.rate}: ${parts.join('; ')}`);
  }
  return lines.length === 0
    ? ''
    : `sharding (sender alone, ${SHARD_LOAD.flows} UDP flows, --shard flow over N counting sinks), shards:\n${lines.join('\n')}`;
}

/**
 * The cost of accounting by rule: for each size and rate with both sender-acct-off and
 * sender-acct-on rows (the sender alone, Prometheus export on, the table off or on), the
 * sender's CPU per delivered packet on / off. 1.00 = free.
 */
export function renderAccountingCost(rows: readonly MedianRow[]): string {
  const lines: string[] = [];
  const perPacket = (r: MedianRow): number => r.toolCpuPct / r.pps;
  for (const on of rows.filter((r) => r.tool === 'sender-acct-on')) {
    const off = rows.find(
      (r) => r.tool === 'sender-acct-off' && r.sizeBytes === on.sizeBytes && r.rate === on.rate,
    );
    if (off === undefined) continue;
    lines.push(
      `  ${on.sizeBytes}B ${on.rate}: cpu/pkt on/off ${fmt(perPacket(on) / perPacket(off), 2)}` +
        ` (on ${fmt(on.toolCpuPct, 1)}% at ${fmtCount(on.pps)} pps, off ${fmt(off.toolCpuPct, 1)}% at ${fmtCount(off.pps)} pps)`,
    );
  }
  return lines.length === 0
    ? ''
    : `accounting by rule (sender, per (group, prefix) in the C walker):\n${lines.join('\n')}`;
}

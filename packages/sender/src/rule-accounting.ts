// The sender's accounting by rule, exported: the native walker's (group, prefix) table and its
// per-group kernel drops, read once per export (NflogSocket.account()), become
// nflog_pipe_logged_packets_total / _bytes_total{group,prefix} (or the prefix's own labels with
// --prefix-labels), nflog_pipe_accounting_series and nflog_pipe_group_lost_packets_total{group}.

import type { NflogAccount } from '@nflog-pipe/nflog-native';
import { METRIC, type CounterHandle, type GaugeHandle, type Metrics } from '@nflog-pipe/shared';
import { parsePrefixLabels } from './prefix-labels.js';

/** Default `--max-series`: distinct (group, prefix) keys the table counts. */
export const ACCOUNTING_DEFAULT_MAX_SERIES = 256;

/** Labels of the bucket for packets of keys beyond the table's capacity. */
export const ACCOUNTING_OTHER_LABELS: Readonly<Record<string, string>> = Object.freeze({
  group: 'other',
});

interface Series {
  packets: CounterHandle;
  bytes: CounterHandle;
  /** Totals of the entries that map to these labels, summed in this sync. */
  sumPackets: number;
  sumBytes: number;
}

/**
 * Folds successive NflogAccount snapshots (cumulative) into the metrics. Entries whose labels
 * coincide (with `prefixLabels`, `a=1;b=2` and `b=2; a=1`) are summed into one series.
 */
export class RuleAccounting {
  readonly #metrics: Metrics;
  readonly #prefixLabels: boolean;
  /** Labels of table entry i (entries keep their index: the table only appends). */
  readonly #entryLabels: Array<{ key: string; labels: Record<string, string> }> = [];
  readonly #series = new Map<string, Series>();
  readonly #groupLost = new Map<number, CounterHandle>();
  readonly #size: GaugeHandle;

  /** @param prefixLabels parse each prefix into labels (`--prefix-labels`) */
  constructor(metrics: Metrics, prefixLabels: boolean) {
    this.#metrics = metrics;
    this.#prefixLabels = prefixLabels;
    this.#size = metrics.gauge(METRIC.ACCOUNTING_SERIES);
  }

  /** Brings the exported series up to `account` (a snapshot of the same socket, cumulative). */
  sync(account: NflogAccount): void {
    for (const s of this.#series.values()) s.sumPackets = s.sumBytes = 0;
    account.entries.forEach((e, i) => {
      let el = this.#entryLabels[i];
      if (el === undefined) {
        el = this.#labelsOf(e.group, e.prefix);
        this.#entryLabels[i] = el;
      }
      const s = this.#seriesFor(el.key, el.labels);
      s.sumPackets += e.packets;
      s.sumBytes += e.bytes;
    });
    if (account.otherPackets > 0) {
      const s = this.#seriesFor('other', ACCOUNTING_OTHER_LABELS);
      s.sumPackets += account.otherPackets;
      s.sumBytes += account.otherBytes;
    }
    for (const s of this.#series.values()) {
      s.packets.inc(s.sumPackets - s.packets.value);
      s.bytes.inc(s.sumBytes - s.bytes.value);
    }
    this.#size.set(account.entries.length);
    for (const g of account.groups) {
      let c = this.#groupLost.get(g.group);
      if (c === undefined) {
        c = this.#metrics.counter(METRIC.GROUP_LOST_PKT, { group: String(g.group) });
        this.#groupLost.set(g.group, c);
      }
      c.inc(g.kernelDropped - c.value);
    }
  }

  #labelsOf(group: number, prefix: string): { key: string; labels: Record<string, string> } {
    const parsed = this.#prefixLabels ? parsePrefixLabels(prefix) : null;
    const labels = { group: String(group), ...(parsed ?? { prefix }) };
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
    return { key, labels };
  }

  #seriesFor(key: string, labels: Readonly<Record<string, string>>): Series {
    let s = this.#series.get(key);
    if (s === undefined) {
      s = {
        packets: this.#metrics.counter(METRIC.LOGGED_PKT, labels),
        bytes: this.#metrics.counter(METRIC.LOGGED_BYTES, labels),
        sumPackets: 0,
        sumBytes: 0,
      };
      this.#series.set(key, s);
    }
    return s;
  }
}

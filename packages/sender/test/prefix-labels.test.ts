// Proves --prefix-labels' parsing (every accepted and refused form) and RuleAccounting's folding of cumulative native snapshots into series: labels, prefixes with equal labels summed, the other bucket, per-group kernel drops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { METRIC, createLogger, createMetrics } from '@nflog-pipe/shared';
import { RuleAccounting, parsePrefixLabels } from '../src/index.js';

test('parsePrefixLabels: key=value pairs, or null to keep the prefix whole', () => {
  const ok: Array<[string, Record<string, string>]> = [
    ['svc=dns;dir=out', { svc: 'dns', dir: 'out' }],
    [' svc = dns ; dir=out; ', { svc: 'dns', dir: 'out' }],
    ['a=', { a: '' }],
    ['url=a=b', { url: 'a=b' }],
    ['_x9=1', { _x9: '1' }],
  ];
  for (const [p, labels] of ok) assert.deepEqual(parsePrefixLabels(p), labels, p);
  for (const bad of [
    '',
    ' ; ',
    'DROP: ',
    'svc=dns;oops',
    '9a=1',
    'a-b=1',
    '__x=1',
    'group=7',
    'prefix=x',
    'a=1;a=2',
  ])
    assert.equal(parsePrefixLabels(bad), null, bad);
});

test('RuleAccounting: cumulative snapshots become series; equal label sets are summed', () => {
  const metrics = createMetrics(null, createLogger({ name: 't', level: 'silent' }), {
    tool: 't',
    defaultMetrics: false,
  });
  const acct = new RuleAccounting(metrics, true);
  const entries = [
    { group: 7, prefix: 'svc=dns;dir=out', packets: 3, bytes: 300 },
    { group: 7, prefix: 'dir=out; svc=dns', packets: 2, bytes: 200 },
    { group: 8, prefix: 'DROP: ', packets: 1, bytes: 60 },
  ];
  acct.sync({
    entries,
    otherPackets: 4,
    otherBytes: 400,
    groups: [{ group: 7, kernelDropped: 5 }],
  });
  const dns = metrics.counter(METRIC.LOGGED_PKT, { group: '7', svc: 'dns', dir: 'out' });
  const raw = metrics.counter(METRIC.LOGGED_BYTES, { group: '8', prefix: 'DROP: ' });
  const other = metrics.counter(METRIC.LOGGED_PKT, { group: 'other' });
  const lost = metrics.counter(METRIC.GROUP_LOST_PKT, { group: '7' });
  assert.deepEqual([dns.value, raw.value, other.value, lost.value], [5, 60, 4, 5]);
  assert.equal(metrics.gauge(METRIC.ACCOUNTING_SERIES).value, 3);
  // The next snapshot is cumulative: the series follow it, never double-count.
  entries[0]!.packets = 10;
  acct.sync({
    entries,
    otherPackets: 4,
    otherBytes: 400,
    groups: [{ group: 7, kernelDropped: 6 }],
  });
  assert.deepEqual([dns.value, other.value, lost.value], [12, 4, 6]);
});

// Helpers of the end-to-end rate-control test: wait for and total the statsd counters, and
// check the UDP payloads that landed in a pcap against payloadFor(). Starting the CLIs, their
// log counters and a clean stop: @nflog-pipe/testing.

import assert from 'node:assert/strict';
import { StatsdListener, payloadFor, type LogCounters } from '@nflog-pipe/testing';

/**
 * Resolves once `pred()` holds, checked now and after every statsd datagram the listener gets
 * (the processes flush their counters every few tens of ms while they change).
 */
export async function waitForStatsd(
  statsd: StatsdListener,
  pred: () => boolean,
  what: () => string,
): Promise<void> {
  try {
    // waitFor re-runs the predicate on every datagram; the metric name only selects the total
    // it passes, which this predicate does not need.
    await statsd.waitFor('-', () => pred());
  } catch (err) {
    throw new Error(`${what()}: ${(err as Error).message.slice(0, 300)}`, { cause: err });
  }
}

/** statsd totals by metric name (as sent: prefix included), for diagnostics and assertions. */
export function statsdTotals(statsd: StatsdListener, names: readonly string[]): LogCounters {
  return Object.fromEntries(names.map((n) => [n, statsd.total(n)]));
}

/** The UDP payload of a raw IPv4 packet (linktype 101), checking the protocol and port. */
export function udpPayload(ip: Buffer, dport: number): Buffer {
  assert.equal(ip[0]! >> 4, 4, 'an IPv4 packet');
  const ihl = (ip[0]! & 0x0f) * 4;
  assert.equal(ip[9], 17, 'UDP');
  assert.equal(ip.readUInt16BE(ihl + 2), dport, 'destination port');
  assert.equal(ip.readUInt16BE(2), ip.length, 'IP total length = captured length (nothing cut)');
  return ip.subarray(ihl + 8);
}

/**
 * Checks that `packets` (raw IPv4 UDP packets, in pcap order) carry payloadFor(seed, i, size)
 * byte for byte with strictly increasing i below `offered`; returns the indices.
 */
export function checkPayloads(
  packets: readonly Buffer[],
  opts: { seed: number; size: number; dport: number; offered: number },
): number[] {
  const indices: number[] = [];
  for (const [k, ip] of packets.entries()) {
    const payload = udpPayload(ip, opts.dport);
    assert.equal(payload.length, opts.size, `packet ${k}: payload size`);
    assert.equal(payload.readUInt32BE(0), opts.seed, `packet ${k}: seed`);
    const i = payload.readUInt32BE(4);
    assert.ok(i < opts.offered, `packet ${k}: index ${i} below ${opts.offered}`);
    if (indices.length > 0)
      assert.ok(
        i > indices[indices.length - 1]!,
        `packet ${k}: index ${i} after ${indices[indices.length - 1]} (order kept, no duplicate)`,
      );
    assert.ok(
      payload.equals(payloadFor(opts.seed, i, opts.size)),
      `packet ${k}: payload of index ${i} byte-exact`,
    );
    indices.push(i);
  }
  return indices;
}

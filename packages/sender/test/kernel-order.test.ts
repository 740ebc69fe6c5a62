// Through the kernel: TCP flows whose two directions are logged to two groups that flush at different times reach the wire from one sender in kernel order (SYN, SYN-ACK, ACK, request, response), 50 of 50, and every frame carries the namespace identity and NFULA_SEQ_GLOBAL per packet, increasing across frames.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Pull } from 'zeromq';
import { WIRE_FLAG_KERNEL_ORDER, seqGlobalBefore } from '@nflog-pipe/shared';
import {
  Netns,
  binPath,
  inKernelOrder,
  makeTempDir,
  nftLogged,
  parseLogCounters,
  requirePrereqs,
  sendTraffic,
  stopCleanly,
  tcpDirectionsRuleset,
  tcpFlows,
  waitForLogCounters,
  type LogCounters,
} from '@nflog-pipe/testing';
import { receivePackets, type Pkt } from './kernel-helper.js';

const PORT = 8080;
const FLOWS_PER_FAMILY = 25;

/**
 * A namespace with tcpDirectionsRuleset(PORT), nflog-zmq-send on groups 1 and 2 (with `args`) into a PULL socket,
 * `flows` request/response flows per family in `families`; resolves once the sender has stopped
 * and everything it queued was received.
 */
async function shipFlows(
  t: TestContext,
  tag: string,
  args: string[],
  families: readonly (4 | 6)[],
  flows: number,
): Promise<{
  ns: Netns;
  logged: number;
  fin: LogCounters;
  pkts: Pkt[];
  frames: Awaited<ReturnType<typeof receivePackets>>['frames'];
}> {
  const dir = await makeTempDir(t);
  const ns = await Netns.create(tag);
  t.after(() => ns.remove());
  await ns.nft(tcpDirectionsRuleset(PORT));
  const pull = new Pull();
  t.after(() => pull.close());
  const endpoint = `ipc://${join(dir, 'pull.sock')}`;
  await pull.bind(endpoint);
  const sender = ns.spawn(process.execPath, [
    binPath('nflog-zmq-send'),
    '1,2',
    endpoint,
    '--stats-interval',
    '0.1',
    ...args,
  ]);
  await sender.waitForStderr(/ started /);
  for (const family of families)
    await sendTraffic(ns, {
      proto: 'flows',
      family,
      port: PORT,
      count: flows,
      size: 200,
      seed: family,
    });
  const logged = (await nftLogged(ns, 1)) + (await nftLogged(ns, 2));
  await waitForLogCounters(sender, 'stats', (c) => c['captured'] === logged, `captured=${logged}`);
  const fin = parseLogCounters(await stopCleanly(sender, 'the sender'));
  const { pkts, frames } = await receivePackets(pull, logged);
  return { ns, logged, fin, pkts, frames };
}

test('two groups, one sender: every flow in kernel order, NFULA_SEQ_GLOBAL on the wire', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft'] })) return;
  const { ns, logged, fin, pkts, frames } = await shipFlows(
    t,
    'order',
    ['--meta-interval', '0'],
    [4, 6],
    FLOWS_PER_FAMILY,
  );
  assert.deepEqual(
    [fin['captured'], fin['queued'], fin['dropped_kernel'], fin['order_late']],
    [logged, logged, 0, 0],
  );

  // (b) The kernel-order section: this namespace, and the kernel's numbers 1, 2, 3, ... in
  // order across frames (only this sender asks for them here, and nothing was lost).
  const bootId = Buffer.from(
    readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim().replaceAll('-', ''),
    'hex',
  );
  const inode = statSync(`/run/netns/${ns.name}`, { bigint: true }).ino;
  const seqs: number[] = [];
  for (const f of frames) {
    assert.ok(f.flags & WIRE_FLAG_KERNEL_ORDER, 'every frame carries the section');
    assert.ok(f.order !== undefined);
    assert.deepEqual(f.order.namespaceId.subarray(0, 16), bootId);
    assert.equal(f.order.namespaceId.readBigUInt64LE(16), inode);
    // flush timeout 10 + hold (10 + 20) + --flush-interval 10
    assert.equal(f.order.delayBoundMs, 50);
    for (let i = 0; i < f.count; i++) seqs.push(f.order.seqGlobal.readUInt32LE(i * 4));
  }
  for (let i = 1; i < seqs.length; i++)
    assert.ok(seqGlobalBefore(seqs[i - 1]!, seqs[i]!), `seq ${seqs[i]} after ${seqs[i - 1]}`);
  assert.deepEqual(
    seqs,
    Array.from({ length: logged }, (_, i) => i + 1),
  );

  // (a) Every flow in kernel order, as an IDS needs it.
  const flows = tcpFlows(
    pkts.map((p) => p.data),
    PORT,
  );
  assert.equal(flows.size, 2 * FLOWS_PER_FAMILY);
  const ordered = [...flows.values()].filter(inKernelOrder).length;
  assert.equal(ordered, 2 * FLOWS_PER_FAMILY, `${ordered}/${flows.size} flows in kernel order`);
  // Receipt timestamps (the output hook has no kernel timestamp) never go backwards.
  for (let i = 1; i < pkts.length; i++) {
    const a = pkts[i - 1]!;
    const b = pkts[i]!;
    assert.ok(b.tsSec * 1e6 + b.tsUsec >= a.tsSec * 1e6 + a.tsUsec, `timestamp step back at ${i}`);
  }
});

test('--no-wire-order: plain v1 frames, still merged in kernel order', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft'] })) return;
  const { pkts, frames } = await shipFlows(t, 'order-plain', ['--no-wire-order'], [4], 10);
  assert.ok(frames.every((f) => f.order === undefined && (f.flags & WIRE_FLAG_KERNEL_ORDER) === 0));
  assert.equal(
    [
      ...tcpFlows(
        pkts.map((p) => p.data),
        PORT,
      ).values(),
    ].filter(inKernelOrder).length,
    10,
  );
});

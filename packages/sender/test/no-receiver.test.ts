// With no receiver the sender keeps a bounded memory and its drops add up: logged = read + kernel drops, read = queued + queue drops.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  Netns,
  binPath,
  makeTempDir,
  parseLogCounters,
  requirePrereqs,
  sendTraffic,
  stopCleanly,
} from '@nflog-pipe/testing';
import { nextStats } from './kernel-helper.js';

/** Upper bound on the sender's resident memory during the burst, bytes: a sanity bound, not a benchmark. */
const RSS_BOUND_BYTES = 200 * 1024 * 1024;
const BURST = 20_000;
const HWM_FRAMES = 64;

async function vmRssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (m === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

for (const rcvbufMiB of ['64', '0.0625']) {
  test(`no receiver (netlink rcvbuf ${rcvbufMiB} MiB): bounded memory, every packet accounted for`, async (t) => {
    if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft'] })) return;
    const dir = await makeTempDir(t);
    const ns = await Netns.create('norecv');
    t.after(() => ns.remove());
    await ns.nft(`
table inet t {
  chain out {
    type filter hook output priority 0;
    udp dport 9000 log group 7
  }
}
`);
    // Nobody binds this path: ZeroMQ keeps reconnecting, queues SNDHWM frames and refuses the rest.
    const endpoint = `ipc://${join(dir, 'nobody.sock')}`;
    const sender = ns.spawn(process.execPath, [
      binPath('nflog-zmq-send'),
      '7',
      endpoint,
      '--zmq-buffer',
      String(HWM_FRAMES),
      '--batch-bytes',
      '65536',
      '--stats-interval',
      '0.1',
      '--zmq-linger',
      '0',
      // A small receive buffer makes the kernel drop part of the burst (ENOBUFS), so the
      // kernel-drop side of the accounting is exercised too, whenever it happens.
      '--libnflog-rcvbuf',
      rcvbufMiB,
    ]);
    await sender.waitForStderr(/ started /);

    // Sample the resident set while the burst runs (no timing involved: just the largest value seen).
    let maxRss = await vmRssBytes(sender.pid);
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxRss = Math.max(maxRss, await vmRssBytes(sender.pid));
        await new Promise((r) => setImmediate(r));
      }
    })();
    // If the sender dies, sampling fails; the exit code assertions below report why.
    const samplerDone = sampler.catch(() => {});
    let logged = 0;
    try {
      logged += (
        await sendTraffic(ns, { proto: 'udp', port: 9000, count: BURST, size: 1000, seed: 11 })
      ).sent;
      // Kernel drops are counted from gaps in NFLOG's sequence, so a loss at the very end only shows
      // once a later packet arrives: send single packets until everything logged is accounted for.
      let settled = false;
      for (let i = 0; i < 20 && !settled; i++) {
        // Two fresh stats lines: the later one was written after everything sent so far was read.
        const c = await nextStats(sender, 2);
        settled = c['captured']! + c['dropped_kernel']! === logged;
        if (!settled)
          logged += (
            await sendTraffic(ns, { proto: 'udp', port: 9000, count: 1, size: 1000, seed: 12 })
          ).sent;
      }
      assert.ok(settled, 'the sender accounted for every logged packet');
    } finally {
      sampling = false;
      await samplerDone;
    }

    const fin = parseLogCounters(await stopCleanly(sender, 'the sender'));
    const {
      captured,
      queued,
      dropped_queue: queue,
      dropped_kernel: kernel,
      dropped_shaper: shaper,
      messages,
    } = fin as Record<string, number>;
    assert.equal(
      captured! + kernel!,
      logged,
      `logged ${logged} = read ${captured} + kernel drops ${kernel}`,
    );
    assert.equal(
      captured,
      queued! + queue!,
      `read ${captured} = queued ${queued} + queue drops ${queue}`,
    );
    assert.equal(shaper, 0);
    // Only SNDHWM frames ever entered the queue; everything else was dropped there.
    assert.equal(messages, HWM_FRAMES);
    assert.ok(queue! > 0);
    t.diagnostic(
      `logged=${logged} ${JSON.stringify(fin)} maxRss=${(maxRss / 1048576).toFixed(1)}MiB`,
    );
    assert.ok(maxRss < RSS_BOUND_BYTES, `VmRSS peaked at ${(maxRss / 1048576).toFixed(1)} MiB`);
  });
}

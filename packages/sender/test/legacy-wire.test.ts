// --wire legacy with default options: the queue counts packets and holds many kernel batches, so a legacy receiver that keeps up gets every packet (1000 at 5k pps, 20,000 at 50k pps), ours and a pyzmq PULL peer, byte for byte and in order.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { readPcapFile } from '@nflog-pipe/pcap-writer';
import {
  Children,
  Netns,
  PYZMQ_PYTHON,
  TEST_TIMEOUT_MS,
  logField,
  logLines,
  makeTempDir,
  nftLogged,
  parseIpPacket,
  parseLogCounters,
  payloadFor,
  requirePrereqs,
  requirePyzmq,
  sendTraffic,
  spawnChild,
  stopCleanly,
  waitForLogCounters,
  withTimeout,
  udpLogRuleset,
} from '@nflog-pipe/testing';

const GROUP = 6;
const PORT = 9000;
const RULES = udpLogRuleset([{ port: PORT, group: GROUP }]);
const SIZE = 200;
const SEED = 61;
/** The sender's default legacy queue: 16 kernel batches of --libnflog-qthresh (1024) packets. */
const DEFAULT_LEGACY_QUEUE = 16 * 1024;

const PYTHON_PULL = new URL('../../test/fixtures/legacy-pull.py', import.meta.url).pathname;

interface Peer {
  /** Resolves with the (seed, index) of every packet received, in arrival order. */
  finish(): Promise<Array<[number, number]>>;
}

/** nflog-pcap-recv --wire legacy into a file. */
async function ourReceiver(kids: Children, endpoint: string, out: string): Promise<Peer> {
  const recv = await kids.start(
    'nflog-pcap-recv',
    [endpoint, out, '--wire', 'legacy', '--linktype', '101', '--stats-interval', '0.05'],
    / started /,
  );
  return {
    finish: async (): Promise<Array<[number, number]>> => {
      const r = parseLogCounters(await stopCleanly(recv, 'the receiver'));
      assert.equal(r['bad_frames'], 0);
      const { records } = await readPcapFile(out);
      assert.equal(records.length, r['out_pkt']);
      return records.map((rec, i) => {
        const { payload } = parseIpPacket(rec.data);
        const id: [number, number] = [payload.readUInt32BE(0), payload.readUInt32BE(4)];
        assert.ok(payload.equals(payloadFor(id[0], id[1], SIZE)), `record ${i} byte-exact`);
        return id;
      });
    },
  };
}

/** A pyzmq PULL socket (test/fixtures/legacy-pull.py) counting well-formed legacy messages. */
async function pythonPull(kids: Children, endpoint: string): Promise<Peer> {
  const py = kids.add(
    spawnChild(PYZMQ_PYTHON, [PYTHON_PULL, endpoint], { stdio: ['pipe', 'pipe', 'pipe'] }),
  );
  await py.waitForStdout(/^ready$/m);
  return {
    finish: async (): Promise<Array<[number, number]>> => {
      py.child.stdin!.end();
      const exit = await withTimeout(py.exited, TEST_TIMEOUT_MS, 'the Python PULL peer');
      assert.equal(exit.code, 0, py.stderr());
      const res = JSON.parse(py.stdout().toString('utf8').trim().split('\n').at(-1)!) as {
        count: number;
        bad: number;
        ids: Array<[number, number]>;
      };
      assert.equal(res.bad, 0, 'every message a well-formed legacy message');
      assert.equal(res.ids.length, res.count);
      return res.ids;
    },
  };
}

async function run(
  t: TestContext,
  count: number,
  ratePps: number,
  peer: 'ours' | 'pyzmq',
): Promise<void> {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft'] })) return;
  if (peer === 'pyzmq' && !(await requirePyzmq(t))) return;
  const dir = await makeTempDir(t);
  const ns = await Netns.create('legacy');
  t.after(() => ns.remove());
  await ns.nft(RULES);
  const kids = new Children(t);
  const endpoint = `ipc://${join(dir, 'r.sock')}`; // a path: reachable across the netns
  const receiver =
    peer === 'ours'
      ? await ourReceiver(kids, endpoint, join(dir, 'out.pcap'))
      : await pythonPull(kids, endpoint);
  // Every option at its default but the wire format (and a stats line to wait on).
  const sender = await kids.start(
    'nflog-zmq-send',
    [String(GROUP), endpoint, '--wire', 'legacy', '--stats-interval', '0.05'],
    / started /,
    ns,
  );
  const started = logLines(sender.stderr(), 'started')[0] ?? '';
  assert.equal(logField(started, 'zmq_buffer'), String(DEFAULT_LEGACY_QUEUE), started);

  const { sent } = await sendTraffic(ns, {
    proto: 'udp',
    port: PORT,
    count,
    size: SIZE,
    seed: SEED,
    ratePps,
  });
  assert.equal(sent, count);
  assert.equal(await nftLogged(ns, GROUP), count);
  await waitForLogCounters(sender, 'stats', (c) => c['captured'] === count, 'sender read all');
  const s = parseLogCounters(await stopCleanly(sender, 'the sender'));
  assert.deepEqual(
    [s['captured'], s['queued'], s['dropped_queue'], s['dropped_kernel'], s['messages']],
    [count, count, 0, 0, count],
    'one message per packet, none dropped',
  );
  const ids = await receiver.finish();
  assert.equal(ids.length, count, `${peer} received every packet`);
  ids.forEach(([seed, index], i) => assert.deepEqual([seed, index], [SEED, i], `packet ${i}`));
}

test('--wire legacy, defaults, 1000 packets at 5k pps → nflog-pcap-recv --wire legacy: 1000/1000', (t) =>
  run(t, 1000, 5000, 'ours'));

test('--wire legacy, defaults, 20,000 packets at 50k pps → nflog-pcap-recv --wire legacy: 20,000/20,000', (t) =>
  run(t, 20_000, 50_000, 'ours'));

test('--wire legacy, defaults, 20,000 packets at 50k pps → a pyzmq PULL peer: 20,000/20,000', (t) =>
  run(t, 20_000, 50_000, 'pyzmq'));

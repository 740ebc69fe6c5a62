// A real Python-side peer (pyzmq) sends what the Python nflog-zmq-compress sends, windows of 0x01 + zlib of length-prefixed legacy messages, into our nflog-zmq-decompress with its defaults, on to nflog-pcap-recv: every packet of every window arrives (2000/2000), byte for byte, in order; the relay's counters add up.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readPcapFile } from '@nflog-pipe/pcap-writer';
import {
  Children,
  PYZMQ_PYTHON,
  makeTempDir,
  parseLogCounters,
  requirePyzmq,
  runCommand,
  stopCleanly,
  waitForLogCounters,
} from '@nflog-pipe/testing';

const PYTHON_COMPRESS = new URL('../../test/fixtures/python-compress.py', import.meta.url).pathname;
/** Two windows of 1000 messages: each decompresses into a burst 20 times the ZeroMQ queue (50). */
const WINDOWS = 2;
const PER_WINDOW = 1000;
const SIZE = 200;

/** The packets the Python peer wrote: (u32 BE length + IP packet) repeated. */
function sentPackets(file: string): Buffer[] {
  const all = readFileSync(file);
  const out: Buffer[] = [];
  for (let off = 0; off < all.length;) {
    const n = all.readUInt32BE(off);
    out.push(all.subarray(off + 4, off + 4 + n));
    off += 4 + n;
  }
  return out;
}

test('Python compress windows → nflog-zmq-decompress (defaults) → nflog-pcap-recv: 2000/2000, byte for byte', async (t) => {
  if (!(await requirePyzmq(t))) return;
  const dir = await makeTempDir(t);
  const kids = new Children(t);
  const recvEp = `ipc://${join(dir, 'recv.sock')}`;
  const relayEp = `ipc://${join(dir, 'relay.sock')}`;
  const out = join(dir, 'out.pcap');
  const recv = await kids.start(
    'nflog-pcap-recv',
    [recvEp, out, '--wire', 'legacy', '--linktype', '101', '--stats-interval', '0.05'],
    / started /,
  );
  // Every relay option at its default (the stats line only, to wait on).
  const relay = await kids.start(
    'nflog-zmq-decompress',
    [relayEp, recvEp, '--stats-interval', '0.05'],
    / relaying /,
  );
  const sentFile = join(dir, 'sent.bin');
  const py = await runCommand(PYZMQ_PYTHON, [
    PYTHON_COMPRESS,
    relayEp,
    String(WINDOWS),
    String(PER_WINDOW),
    String(SIZE),
    sentFile,
  ]);
  const total = WINDOWS * PER_WINDOW;
  assert.equal(py.stdout.trim(), `sent ${total}`);

  // The relay has taken both windows and its queue is empty: every message is out or counted.
  await waitForLogCounters(
    relay,
    'stats',
    (c) => c['decompress_in.pkt'] === total && c['queued_pkt'] === 0,
    'relay done',
  );
  const d = parseLogCounters(await stopCleanly(relay, 'the relay'));
  assert.deepEqual(
    [d['decompress_in.pkt'], d['decompress_out.pkt'], d['loss.zmq_queue.pkt'], d['bad_frames']],
    [total, total, 0, 0],
    'every decompressed message went out',
  );
  await waitForLogCounters(recv, 'stats', (c) => c['in_pkt'] === total, 'receiver has all');
  const r = parseLogCounters(await stopCleanly(recv, 'the receiver'));
  assert.deepEqual([r['in_pkt'], r['out_pkt'], r['bad_frames']], [total, total, 0]);

  const sent = sentPackets(sentFile);
  const { records } = await readPcapFile(out);
  assert.equal(records.length, total);
  records.forEach((rec, i) => assert.ok(rec.data.equals(sent[i]!), `packet ${i} byte-exact`));
});

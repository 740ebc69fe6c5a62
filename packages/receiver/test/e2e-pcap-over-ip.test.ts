// Proves PCAP-over-IP through the kernel: `nc | tshark -r -` and `tshark -i TCP@...` clients each get a pcap header and every packet since they connected, byte for byte; a client that never reads loses whole batches, counted for it (offered = sent + lost), while the other two and the FIFO lose nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readPcapFile } from '@nflog-pipe/pcap-writer';
import {
  Netns,
  logField,
  mkfifo,
  requirePrereqs,
  sendTraffic,
  spawnChild,
  tsharkFields,
  udpLogRuleset,
  type ChildHandle,
  stopCleanly,
  withTimeout,
  TEST_TIMEOUT_MS,
} from '@nflog-pipe/testing';
import { readFifo, udpIds, startSender, startFifoReceiver } from './e2e-util.js';
import { logFields } from './helpers.js';

const SIZE = 1000;
const N1 = 300;
const N2 = 8000;

/** A client that connects with a 4 KiB receive buffer and never reads (killed in t.after). */
function neverReads(port: number): ChildHandle {
  const script = [
    'import socket, sys, time',
    's = socket.socket()',
    's.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)',
    `s.connect(('127.0.0.1', ${port}))`,
    'print("connected", flush=True)',
    'time.sleep(300)',
  ].join('\n');
  return spawnChild('python3', ['-c', script]);
}

test('PCAP-over-IP: two clients get every packet since they connected; one that never reads loses and is counted; the FIFO loses nothing', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft', 'tshark', 'nc', 'python3'] })) return;
  const ns = await Netns.create('poip');
  t.after(() => ns.remove());
  await ns.nft(udpLogRuleset([{ port: 9000, group: 7 }]));
  const { dir, fifo, ep, recv } = await startFifoReceiver(t, [
    '--pcap-over-ip',
    '0',
    '--pcap-over-ip-queue',
    '2',
    '--flush-timeout',
    '1',
    '--stats-interval',
    '0.05',
  ]);
  const started = recv
    .stderr()
    .split('\n')
    .find((l) => l.includes(' started '))!;
  const address = logField(started, 'pcap_over_ip')!;
  assert.match(address, /^127\.0\.0\.1:\d+$/, 'port 0: the port picked is logged');
  const port = Number(address.split(':')[1]);
  const fifoOut = join(dir, 'fifo.pcap');
  const reader = readFifo(fifo, fifoOut);

  // Client A: `nc 127.0.0.1 PORT | tshark -r -`, from the start. The pipe is a named one, so
  // each process is ours by PID (a shell pipeline's would not be).
  const aFile = join(dir, 'a.pcap');
  const pipe = join(dir, 'nc.pipe');
  await mkfifo(pipe);
  const nc = spawnChild('sh', ['-c', 'exec nc -d 127.0.0.1 "$0" > "$1"', String(port), pipe]);
  t.after(() => nc.kill('SIGKILL'));
  const tsharkA = spawnChild('sh', ['-c', 'exec tshark -r - -F pcap -w "$1" < "$0"', pipe, aFile]);
  t.after(() => tsharkA.kill('SIGKILL'));
  await recv.waitForStderr(/pcap-over-ip client connected .*clients=1/);
  // Client C: never reads, from the start too.
  const slow = neverReads(port);
  t.after(() => slow.kill('SIGKILL'));
  await recv.waitForStderr(/pcap-over-ip client connected .*clients=2/);

  await startSender(t, ns, 7, ep);
  // Paced, so the readers that do read keep up with the traffic (each queue holds 2 MiB).
  await sendTraffic(ns, {
    proto: 'udp',
    port: 9000,
    count: N1,
    size: SIZE,
    seed: 1,
    ratePps: 5000,
  });
  await recv.waitForStderr(new RegExp(`stats .*in_pkt=${N1} `));

  // Client B: tshark's own PCAP-over-IP reader, from here on.
  const bFile = join(dir, 'b.pcap');
  const tsharkB = spawnChild('tshark', ['-i', `TCP@127.0.0.1:${port}`, '-F', 'pcap', '-w', bFile]);
  t.after(() => tsharkB.kill('SIGKILL'));
  await recv.waitForStderr(/pcap-over-ip client connected .*clients=3/);
  await sendTraffic(ns, {
    proto: 'udp',
    port: 9000,
    count: N2,
    size: SIZE,
    seed: 2,
    ratePps: 5000,
  });
  await recv.waitForStderr(new RegExp(`stats .*in_pkt=${N1 + N2} `));
  await recv.waitForStderr(/pcap-over-ip client too slow/);

  const stopped = await stopCleanly(recv, 'receiver');
  await reader;
  for (const [name, h] of [
    ['tshark -r -', tsharkA],
    ['nc', nc],
    ['tshark -i TCP@', tsharkB],
  ] as const) {
    const { code } = await withTimeout(h.exited, TEST_TIMEOUT_MS, name);
    assert.equal(code, 0, `${name}: ${h.stderr()}`);
  }

  const all = [
    ...Array.from({ length: N1 }, (_, i) => `1:${i}`),
    ...Array.from({ length: N2 }, (_, i) => `2:${i}`),
  ];
  const ids = async (file: string): Promise<string[]> =>
    (await udpIds(file, SIZE)).map((x) => `${x.seed}:${x.index}`);
  assert.deepEqual(await ids(fifoOut), all, 'the FIFO: every packet');
  const clientLines = recv
    .stderr()
    .split('\n')
    .filter((l) => l.includes('pcap-over-ip'))
    .join('\n');
  assert.deepEqual(
    await ids(aFile),
    all,
    `client A: every packet since it connected\n${clientLines}`,
  );
  assert.deepEqual(
    await ids(bFile),
    all.slice(N1),
    `client B: every packet since it connected\n${clientLines}`,
  );
  assert.equal((await readPcapFile(bFile)).header.linktype, 101);
  assert.equal((await tsharkFields(aFile, ['udp.dstport'])).length, N1 + N2);

  // The slow client: offered everything, lost some (whole batches), the rest sent; counted.
  const gone = recv
    .stderr()
    .split('\n')
    .filter((l) => l.includes('pcap-over-ip client gone'));
  assert.equal(gone.length, 3);
  const lost = gone.map((l) => Number(logField(l, 'lost_pkt')));
  const slowLine = gone[lost.findIndex((n) => n > 0)]!;
  assert.equal(lost.filter((n) => n > 0).length, 1, 'only the client that never reads lost');
  const offered = Number(logField(slowLine, 'offered_pkt'));
  const sent = Number(logField(slowLine, 'sent_pkt'));
  assert.equal(offered, N1 + N2);
  assert.equal(sent + Number(logField(slowLine, 'lost_pkt')), offered);
  const f = logFields(stopped, 'stopped');
  assert.deepEqual(
    [f['in_pkt'], f['out_pkt'], f['loss_fifo_pkt'], f['pcap_over_ip_loss_pkt']],
    [String(N1 + N2), String(N1 + N2), '0', logField(slowLine, 'lost_pkt')],
  );
  // A and B took everything they were offered; the slow client's kernel took `sent`.
  assert.equal(Number(f['pcap_over_ip_out_pkt']), N1 + N2 + N2 + sent);
});

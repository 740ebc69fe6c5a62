// nflog-pcap-query against a receiver with CURVE on both sockets (tcp://127.0.0.1): a reader key on --buffer-curve-allow dumps the ring byte for byte; an unknown key, a sender's key (allowed to send, not to read) and a plain client get nothing and exit 1 at once with one line; the receiver counts each refusal.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Push } from 'zeromq';
import { encodeRecords, readPcap } from '@nflog-pipe/pcap-writer';
import {
  curveClientSocketOptions,
  encodeFrame,
  generateKeyPair,
  writeCertificatePair,
} from '@nflog-pipe/shared';
import {
  Children,
  ipv4,
  logField,
  logLines,
  makeTempDir,
  parseLogCounters,
  runTool,
  stopCleanly,
  waitForLogCounters,
} from '@nflog-pipe/testing';

const N = 30;

function packet(i: number): Buffer {
  const udp = Buffer.alloc(16);
  udp.writeUInt16BE(40000 + i, 0);
  udp.writeUInt16BE(53, 2);
  udp.writeUInt16BE(16, 4);
  udp.writeUInt32BE(i, 8);
  return ipv4('10.0.0.1', '10.0.0.2', 17, udp);
}

test('query with CURVE: the reader key dumps the ring; unknown, sender and plain clients exit 1 at once with one line', async (t) => {
  const dir = await makeTempDir(t);
  const pair = async (name: string): Promise<ReturnType<typeof generateKeyPair>> => {
    const keys = generateKeyPair();
    await writeCertificatePair(dir, name, keys);
    return keys;
  };
  const server = await pair('ids');
  const sender = await pair('gw');
  await pair('reader');
  await pair('stranger');
  const kids = new Children(t);
  const recv = await kids.start(
    'nflog-pcap-recv',
    [
      'tcp://127.0.0.1:*',
      join(dir, 'out.pcap'),
      '--linktype',
      '101',
      '--stats-interval',
      '0.05',
      '--buffer-interface',
      'tcp://127.0.0.1:*',
      '--curve-server',
      join(dir, 'ids.key_secret'),
      '--curve-allow',
      join(dir, 'gw.key'),
      '--buffer-curve-allow',
      join(dir, 'reader.key'),
    ],
    / started /,
  );
  const started = logLines(recv.stderr(), 'started')[0]!;
  const data = logField(started, 'endpoints')!;
  const q = logField(started, 'buffer_interface')!;

  const push = new Push({
    linger: 0,
    ...curveClientSocketOptions({ ...sender, serverKey: server.publicKey }),
  });
  t.after(() => push.close());
  push.connect(data);
  const packets = Array.from({ length: N }, (_, i) => packet(i));
  await push.send(
    encodeFrame(
      { linktype: 101, senderId: 5n, firstSeq: 0n, count: N },
      encodeRecords(packets.map((p, i) => ({ tsSec: 1_700_000_000, tsFrac: i, data: p }))),
    ),
  );
  await waitForLogCounters(recv, 'stats', (c) => c.in_pkt === N, `${N} packets in`);

  const key = (name: string): string[] => [
    '--curve-client',
    join(dir, `${name}.key_secret`),
    '--curve-server-key',
    join(dir, 'ids.key'),
  ];
  const ok = await runTool('nflog-pcap-query', [q, ...key('reader')]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(
    readPcap(ok.stdout).records.map((r) => r.data),
    packets,
  );

  // A generous --timeout: a refusal must end the query long before it.
  const esc = q.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  for (const [who, args, why] of [
    ['an unknown key', key('stranger'), /the server refused our key \(400\)/],
    ["a sender's key", key('gw'), /the server refused our key \(400\)/],
    ['no CURVE', [], /the handshake did not complete|the peer uses CURVE and this side does not/],
  ] as const) {
    const r = await runTool('nflog-pcap-query', [q, '--timeout', '600', ...args]);
    assert.equal(r.code, 1, `${who}: ${r.stderr}`);
    assert.equal(r.stdout.length, 0, who);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `${who}: one line: ${r.stderr}`);
    assert.match(lines[0]!, new RegExp(`^nflog-pcap-query: handshake with ${esc} failed: `));
    assert.match(lines[0]!, why, who);
  }
  const stopped = parseLogCounters(await stopCleanly(recv, 'receiver'));
  assert.equal(stopped['queries'], 1);
  assert.ok((stopped['auth_rejected'] ?? 0) >= 3, `refusals counted: ${stopped['auth_rejected']}`);
});

// A relay chain with CURVE on both hops, through the real CLIs over tcp://127.0.0.1: client → compress (server for its SRC, client for its DST) → decompress (the same) → a CURVE sink. Frames arrive byte-identical; an input with an unknown key is refused by the compress relay, logged and counted (auth.rejected), and delivers nothing.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Pull, Push } from 'zeromq';
import {
  CurveServer,
  createLogger,
  curveClientSocketOptions,
  generateKeyPair,
  writeCertificatePair,
  type CurveKeyPair,
} from '@nflog-pipe/shared';
import {
  Children,
  collectMessages,
  makeTempDir,
  parseLogCounters,
  stopCleanly,
  type MessageCollector,
} from '@nflog-pipe/testing';
import { makeFrame, textPayload } from './helpers.js';

const ALWAYS_COMPRESS = ['--lwm', '0.000001', '--hwm', '0', '--wm-interval', '0.000001'];

/** A CURVE PULL sink admitting `allow` (Z85 keys), collecting what arrives. */
async function curveSink(
  t: TestContext,
  dir: string,
  allow: string[],
): Promise<{ endpoint: string; publicKey: string } & MessageCollector> {
  const keys = generateKeyPair();
  const { secretPath } = await writeCertificatePair(dir, 'sink', keys);
  const server = await CurveServer.start({
    secretCertPath: secretPath,
    domains: { sink: allow },
    logger: createLogger({ name: 'sink', level: 'silent' }),
  });
  const pull = new Pull({ linger: 0, ...server.socketOptions('sink') });
  await pull.bind('tcp://127.0.0.1:*');
  const got = collectMessages(pull);
  t.after(async () => {
    pull.close();
    await got.done;
    await server.close();
  });
  return { endpoint: pull.lastEndpoint!, publicKey: keys.publicKey, ...got };
}

test('compress → decompress with CURVE on both hops: byte-identical; an unknown input key is refused and counted', async (t) => {
  const dir = await makeTempDir(t);
  const pair = async (name: string): Promise<CurveKeyPair> => {
    const keys = generateKeyPair();
    await writeCertificatePair(dir, name, keys);
    return keys;
  };
  const input = await pair('input'); // the client of the compress relay
  const comp = await pair('compress'); // its server key (SRC) and its client key (DST)
  const decomp = await pair('decompress');
  const sink = await curveSink(t, dir, [decomp.publicKey]);
  const kids = new Children(t);
  const ready = /relaying .* src=(\S+) .*curve_bind=true curve_connect=true/;
  const d = await kids.start(
    'nflog-zmq-decompress',
    [
      'tcp://127.0.0.1:*',
      sink.endpoint,
      '--curve-server',
      join(dir, 'decompress.key_secret'),
      '--curve-allow',
      join(dir, 'compress.key'),
      '--curve-client',
      join(dir, 'decompress.key_secret'),
      '--curve-server-key',
      sink.publicKey,
    ],
    ready,
  );
  const dSrc = ready.exec(d.stderr())![1]!;
  const c = await kids.start(
    'nflog-zmq-compress',
    [
      'tcp://127.0.0.1:*',
      dSrc,
      ...ALWAYS_COMPRESS,
      '--curve-server',
      join(dir, 'compress.key_secret'),
      '--curve-allow',
      join(dir, 'input.key'),
      '--curve-client',
      join(dir, 'compress.key_secret'),
      '--curve-server-key',
      join(dir, 'decompress.key'),
    ],
    ready,
  );
  const cSrc = ready.exec(c.stderr())![1]!;

  const client = (keys: CurveKeyPair): Push => {
    const push = new Push({
      linger: 0,
      ...curveClientSocketOptions({ ...keys, serverKey: comp.publicKey }),
    });
    t.after(() => push.close());
    push.connect(cSrc);
    return push;
  };
  const stranger = client(generateKeyPair());
  await stranger.send(makeFrame([textPayload(999, 100)]));
  await c.waitForStderr(/refused a client \(counted in auth\.rejected/);

  const frames = Array.from({ length: 30 }, (_, i) =>
    makeFrame(
      Array.from({ length: 10 }, (_, k) => textPayload(i * 10 + k, 200 + k * 30)),
      BigInt(i * 10),
    ),
  );
  const push = client(input);
  for (const f of frames) await push.send(f);
  await sink.waitCount(frames.length);
  assert.deepEqual(sink.msgs, frames);

  const cs = parseLogCounters(await stopCleanly(c, 'compress relay'));
  assert.equal(cs['compress_in.pkt'], 300, 'nothing from the refused client');
  assert.equal(cs['compress_out.pkt'], 300);
  assert.ok((cs['auth.rejected'] ?? 0) >= 1);
  const ds = parseLogCounters(await stopCleanly(d, 'decompress relay'));
  assert.equal(ds['decompress_out.pkt'], 300);
  assert.equal(ds['auth.rejected'], 0);
});

// CurveServer + ZapHandler + PeerWatch over real ZeroMQ on tcp://127.0.0.1: allowed keys deliver, unknown keys and plain clients are refused, logged (key and address) and counted, domains keep separate allowlists, `any` admits any CURVE client, a reload admits a refused client without restarting it, and no handler means refusal.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Context, Pull, Push } from 'zeromq';
import {
  CurveServer,
  PeerWatch,
  createLogger,
  curveClientSocketOptions,
  generateKeyPair,
  writeCertificatePair,
  type CurveKeyPair,
  type Logger,
} from '../src/index.js';
import { TEST_TIMEOUT_MS, collectMessages, makeTempDir, withTimeout } from '@nflog-pipe/testing';

/** A logger whose lines a test can wait for. */
function recorder(name: string): {
  logger: Logger;
  lines: string[];
  waitFor(re: RegExp): Promise<string>;
} {
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const logger = createLogger({
    name,
    level: 'debug',
    stream: {
      write: (s: string) => {
        lines.push(s);
        for (const w of [...waiters]) w();
      },
    },
  });
  return {
    logger,
    lines,
    waitFor: (re) =>
      withTimeout(
        new Promise<string>((resolve) => {
          const check = (): void => {
            const hit = lines.find((l) => re.test(l));
            if (hit !== undefined) {
              waiters.delete(check);
              resolve(hit);
            }
          };
          waiters.add(check);
          check();
        }),
        TEST_TIMEOUT_MS,
        `a log line matching ${re}`,
      ),
  };
}

interface Setup {
  dir: string;
  serverKeys: CurveKeyPair;
  secretPath: string;
  allowDir: string;
}

async function setup(t: TestContext): Promise<Setup> {
  const dir = await makeTempDir(t);
  const serverKeys = generateKeyPair();
  const { secretPath } = await writeCertificatePair(dir, 'server', serverKeys);
  const allowDir = join(dir, 'allow');
  await mkdir(allowDir);
  return { dir, serverKeys, secretPath, allowDir };
}

/** A PUSH client with a PeerWatch; `keys` undefined = plain. */
function client(
  t: TestContext,
  endpoint: string,
  serverKey: string,
  keys: CurveKeyPair | undefined,
  logger: Logger,
): { push: Push; watch: PeerWatch } {
  const push = new Push({
    linger: 0,
    sendTimeout: 0,
    ...(keys !== undefined ? curveClientSocketOptions({ ...keys, serverKey }) : {}),
  });
  const watch = PeerWatch.watch(push, {
    role: 'connect',
    endpoint,
    logger,
    curve: keys !== undefined,
    reconnectMs: 100,
  });
  push.connect(endpoint);
  t.after(() => {
    watch.close();
    push.close();
  });
  return { push, watch };
}

/** The messages of `pull` as text, each taken once by next(). */
function collect(pull: Pull): { msgs: string[]; next(): Promise<string> } {
  const got = collectMessages(pull);
  let taken = 0;
  return {
    get msgs() {
      return got.msgs.map((m) => m.toString());
    },
    next: async () => {
      await got.waitCount(taken + 1);
      return got.msgs[taken++]!.toString();
    },
  };
}

test('allowed key delivers; unknown key and plain client are refused, logged with key and address, counted; both clients log the failure', async (t) => {
  const s = await setup(t);
  const good = generateKeyPair();
  const unknown = generateKeyPair();
  await writeCertificatePair(s.allowDir, 'good', good);
  const srv = recorder('srv');
  let rejected = 0;
  const server = await CurveServer.start({
    secretCertPath: s.secretPath,
    domains: { data: [s.allowDir] },
    logger: srv.logger,
    onRejected: () => rejected++,
  });
  t.after(() => server.close());
  assert.equal(server.publicKey, s.serverKeys.publicKey);
  const pull = new Pull({ linger: 0, ...server.socketOptions('data') });
  const sw = PeerWatch.watch(pull, {
    role: 'bind',
    endpoint: 'data',
    logger: srv.logger,
    curve: true,
    onRefused: () => rejected++,
  });
  t.after(() => pull.close());
  await pull.bind('tcp://127.0.0.1:*');
  const ep = pull.lastEndpoint!;
  const got = collect(pull);

  const bad = recorder('bad');
  const b = client(t, ep, s.serverKeys.publicKey, unknown, bad.logger);
  await b.push.send('from unknown');
  const refusal = await srv.waitFor(/refused a client \(counted/);
  assert.match(refusal, new RegExp(`${keyField(unknown.publicKey)} `));
  assert.match(refusal, / address=127\.0\.0\.1 /);
  assert.match(refusal, / domain=data /);
  assert.match(
    await bad.waitFor(/handshake with the server failed/),
    new RegExp(`endpoint=${escape(ep)} why="the server refused our key" code=400`),
  );

  const plain = recorder('plain');
  const p = client(t, ep, s.serverKeys.publicKey, undefined, plain.logger);
  await p.push.send('from plain');
  // Which side notices the mismatch first is a race: the server logs the mismatch, or a
  // handshake the client broke off (EPIPE). Either way it is refused, logged and counted.
  await srv.waitFor(
    /refused a client: handshake failed .*(why="the peer does not use CURVE" code=ERR_ZMTP_MECHANISM_MISMATCH|why="the handshake did not complete" code=EPIPE)/,
  );
  await plain.waitFor(
    /handshake with the server failed.*the peer uses CURVE and this side does not/,
  );

  const ok = recorder('ok');
  const g = client(t, ep, s.serverKeys.publicKey, good, ok.logger);
  await g.push.send('from good');
  assert.equal(await got.next(), 'from good');
  await ok.waitFor(/connected \(handshake done\).*curve=true/);
  assert.equal(g.watch.peers, 1);
  // Monitor events travel apart from the data: wait for the server's own handshake event.
  await srv.waitFor(/peer connected \(handshake done\) endpoint=data peers=1/);
  assert.equal(sw.peers, 1, 'only the admitted client is a peer');
  assert.ok(sw.failures >= 2);
  assert.ok(rejected >= 2, `refusals counted (${rejected})`);
  assert.equal(server.rejected >= 1, true);
  assert.deepEqual(got.msgs, ['from good'], 'nothing from the refused clients');
  assert.equal(b.watch.peers + p.watch.peers, 0);
});

test('domains: the query allowlist is not the data allowlist; `any` admits every CURVE client', async (t) => {
  const s = await setup(t);
  const sender = generateKeyPair();
  const reader = generateKeyPair();
  const srv = recorder('srv');
  const server = await CurveServer.start({
    secretCertPath: s.secretPath,
    domains: { data: [sender.publicKey], query: [reader.publicKey], open: 'any' },
    logger: srv.logger,
  });
  t.after(() => server.close());
  const pulls: Record<string, { ep: string; got: ReturnType<typeof collect> }> = {};
  for (const domain of ['data', 'query', 'open']) {
    const pull = new Pull({ linger: 0, ...server.socketOptions(domain) });
    t.after(() => pull.close());
    await pull.bind('tcp://127.0.0.1:*');
    pulls[domain] = { ep: pull.lastEndpoint!, got: collect(pull) };
  }
  assert.equal(server.socketOptions('open').zapDomain, undefined);
  await srv.waitFor(/CURVE without client authentication.*domain=open/);
  const log = recorder('c').logger;
  const k = s.serverKeys.publicKey;
  // The reader's key is refused on data, the sender's on query.
  await client(t, pulls['data']!.ep, k, reader, log).push.send('r→data');
  await client(t, pulls['query']!.ep, k, sender, log).push.send('s→query');
  await srv.waitFor(new RegExp(`refused a client.*domain=data ${keyField(reader.publicKey)}`));
  await srv.waitFor(new RegExp(`refused a client.*domain=query ${keyField(sender.publicKey)}`));
  await client(t, pulls['data']!.ep, k, sender, log).push.send('s→data');
  await client(t, pulls['query']!.ep, k, reader, log).push.send('r→query');
  await client(t, pulls['open']!.ep, k, generateKeyPair(), log).push.send('any→open');
  assert.equal(await pulls['data']!.got.next(), 's→data');
  assert.equal(await pulls['query']!.got.next(), 'r→query');
  assert.equal(await pulls['open']!.got.next(), 'any→open');
});

test('reload: a refused client that keeps retrying is admitted once its key is in the directory', async (t) => {
  const s = await setup(t);
  const late = generateKeyPair();
  const srv = recorder('srv');
  const server = await CurveServer.start({
    secretCertPath: s.secretPath,
    domains: { data: [s.allowDir] },
    logger: srv.logger,
  });
  t.after(() => server.close());
  await srv.waitFor(/allowlist is empty: every client is refused until SIGHUP/);
  const pull = new Pull({ linger: 0, ...server.socketOptions('data') });
  t.after(() => pull.close());
  await pull.bind('tcp://127.0.0.1:*');
  const got = collect(pull);
  const c = recorder('late');
  const { push } = client(t, pull.lastEndpoint!, s.serverKeys.publicKey, late, c.logger);
  await srv.waitFor(/refused a client \(counted/);
  await c.waitFor(/handshake with the server failed.*retry_s=/);
  await writeCertificatePair(s.allowDir, 'late', late);
  await server.reload();
  assert.match(await srv.waitFor(/allowlist reloaded/), /keys=1 added=1 removed=0/);
  await c.waitFor(/connected \(handshake done\)/);
  await push.send('admitted');
  assert.equal(await got.next(), 'admitted');
});

test('a socket whose domain has no handler refuses (ZMQ_ZAP_ENFORCE_DOMAIN), it does not admit everyone', async (t) => {
  const s = await setup(t);
  const ctx = new Context({ blocky: false });
  const pull = new Pull({
    context: ctx,
    linger: 0,
    curveServer: true,
    curveSecretKey: s.serverKeys.secretKey,
    zapDomain: 'data',
    zapEnforceDomain: true,
  });
  t.after(() => pull.close());
  await pull.bind('tcp://127.0.0.1:*');
  const c = recorder('c');
  const { push, watch } = client(
    t,
    pull.lastEndpoint!,
    s.serverKeys.publicKey,
    generateKeyPair(),
    c.logger,
  );
  await push.send('x');
  await c.waitFor(/handshake with the server failed/);
  assert.equal(watch.peers, 0);
});

/** The log field `key=` of a Z85 key: quoted when the key holds `=` (the logger's rule). */
function keyField(key: string): string {
  return `key=(${escape(key)}|${escape(JSON.stringify(key))})`;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

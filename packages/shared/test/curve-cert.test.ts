// Certificate files: czmq's and pyzmq's layouts read, ours written 0600 and read back by pyzmq (zmq.auth.load_certificate), pyzmq's read by us, a readable secret warned about, broken files refused with their code.
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  CurveError,
  ZapAllowlist,
  createLogger,
  curvePublicKey,
  formatCertificate,
  generateKeyPair,
  parseCertificate,
  readCertificate,
  readSecretCertificate,
  resolvePublicKey,
  writeCertificatePair,
} from '../src/index.js';
import { makeTempDir, requirePyzmq, runPython } from '@nflog-pipe/testing';

const PUBLIC = 'Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID';
const SECRET = 'D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs';

/** A secret certificate laid out as czmq's zcert_save_secret writes it (zconfig: quoted values). */
const CZMQ_SECRET = `#   ****  Generated on 2024-05-01 10:00:00 by CZMQ  ****
#   ZeroMQ CURVE **Secret** Certificate
#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.

metadata
    name = "Pieter Hintjens"
    email = "ph@example.org"
curve
    public-key = "${PUBLIC}"
    secret-key = "${SECRET}"
`;

/** A public certificate as pyzmq's create_certificates writes one (unquoted metadata values). */
const PYZMQ_PUBLIC = `#   ****  Generated on 2024-05-01 10:00:00.000001 by pyzmq  ****
#   ZeroMQ CURVE Public Certificate

metadata
    name = ids one
curve
    public-key = "${PUBLIC}"
`;

function silentLogger(lines: string[]): ReturnType<typeof createLogger> {
  return createLogger({ name: 't', stream: { write: (s) => lines.push(s) } });
}

function code(err: unknown, expected: string): boolean {
  assert.ok(err instanceof CurveError, String(err));
  assert.equal(err.code, expected);
  return true;
}

test("czmq's and pyzmq's layouts parse: keys, metadata, CRLF and tabs tolerated", () => {
  const c = parseCertificate(CZMQ_SECRET, 'czmq');
  assert.deepEqual(c, {
    publicKey: PUBLIC,
    secretKey: SECRET,
    metadata: { name: 'Pieter Hintjens', email: 'ph@example.org' },
  });
  const p = parseCertificate(PYZMQ_PUBLIC.replace(/\n/g, '\r\n').replace(/ {4}/g, '\t'), 'py');
  assert.deepEqual(p, { publicKey: PUBLIC, metadata: { name: 'ids one' } });
  // czmq's public certificates loaded whole carry forty '0's as the secret: no secret then.
  const zeros = parseCertificate(
    `curve\n    public-key = "${PUBLIC}"\n    secret-key = "${'0'.repeat(40)}"\n`,
    'z',
  );
  assert.equal(zeros.secretKey, undefined);
});

test('broken files: each is ERR_CURVE_BAD_CERT', () => {
  for (const [what, text] of [
    ['empty', ''],
    ['no curve section', `metadata\n    public-key = "${PUBLIC}"\n`],
    ['short key', 'curve\n    public-key = "abc"\n'],
    ['not Z85', `curve\n    public-key = "${PUBLIC.slice(0, 39)}~"\n`],
    ['bad secret', `curve\n    public-key = "${PUBLIC}"\n    secret-key = "x"\n`],
    ['not ZPL', 'curve\n    = "x"\n'],
  ] as const) {
    assert.throws(
      () => parseCertificate(text, what),
      (e: unknown) => code(e, 'ERR_CURVE_BAD_CERT'),
      what,
    );
  }
});

test('ours round-trip; a public certificate has no secret; metadata that ZPL cannot hold is refused', () => {
  const cert = { publicKey: PUBLIC, secretKey: SECRET, metadata: { name: 'recv-1' } };
  assert.deepEqual(parseCertificate(formatCertificate(cert, 'secret'), 's'), cert);
  assert.deepEqual(parseCertificate(formatCertificate(cert, 'public'), 'p'), {
    publicKey: PUBLIC,
    metadata: { name: 'recv-1' },
  });
  assert.throws(
    () => formatCertificate({ ...cert, metadata: { 'a b': 'x' } }, 'public'),
    RangeError,
  );
  assert.throws(() => formatCertificate({ ...cert, metadata: { a: 'x"y' } }, 'public'), RangeError);
  assert.throws(
    () => formatCertificate({ publicKey: PUBLIC, metadata: {} }, 'secret'),
    (e: unknown) => code(e, 'ERR_CURVE_NO_SECRET'),
  );
});

test('writeCertificatePair: two files of mode 0600, never over an existing one, keys that match', async (t) => {
  const dir = await makeTempDir(t);
  const keys = generateKeyPair();
  assert.equal(curvePublicKey(keys.secretKey), keys.publicKey);
  const old = process.umask(0o000); // the mode must not depend on the umask
  try {
    const { publicPath, secretPath } = await writeCertificatePair(dir, 'gw1', keys);
    assert.equal(publicPath, join(dir, 'gw1.key'));
    assert.equal(secretPath, join(dir, 'gw1.key_secret'));
    for (const p of [publicPath, secretPath]) assert.equal((await stat(p)).mode & 0o777, 0o600);
  } finally {
    process.umask(old);
  }
  assert.deepEqual(await readSecretCertificate(join(dir, 'gw1.key_secret')), keys);
  assert.equal((await readCertificate(join(dir, 'gw1.key'))).secretKey, undefined);
  const before = await readFile(join(dir, 'gw1.key_secret'), 'utf8');
  await assert.rejects(writeCertificatePair(dir, 'gw1', generateKeyPair()), (e: unknown) =>
    code(e, 'ERR_CURVE_CERT_EXISTS'),
  );
  assert.equal(await readFile(join(dir, 'gw1.key_secret'), 'utf8'), before);
});

test('readSecretCertificate: a public file, a mismatched pair, a missing file; a readable secret is warned about', async (t) => {
  const dir = await makeTempDir(t);
  const pub = join(dir, 'x.key');
  await writeFile(pub, PYZMQ_PUBLIC);
  await assert.rejects(readSecretCertificate(pub), (e: unknown) => code(e, 'ERR_CURVE_NO_SECRET'));
  const other = generateKeyPair();
  const mixed = join(dir, 'mixed.key_secret');
  await writeFile(mixed, CZMQ_SECRET.replace(SECRET, other.secretKey));
  await assert.rejects(readSecretCertificate(mixed), (e: unknown) =>
    code(e, 'ERR_CURVE_KEY_MISMATCH'),
  );
  await assert.rejects(readSecretCertificate(join(dir, 'none')), (e: unknown) =>
    code(e, 'ERR_CURVE_CERT_READ'),
  );
  const sec = join(dir, 'czmq.key_secret');
  await writeFile(sec, CZMQ_SECRET);
  const lines: string[] = [];
  await chmod(sec, 0o600);
  await readSecretCertificate(sec, silentLogger(lines));
  assert.deepEqual(lines, []);
  await chmod(sec, 0o644);
  assert.deepEqual(await readSecretCertificate(sec, silentLogger(lines)), {
    publicKey: PUBLIC,
    secretKey: SECRET,
  });
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /WARN t: secret certificate is readable by group or others.* mode=0644/);
});

test('resolvePublicKey: a file (public or secret) or 40 Z85 characters; a file wins over an inline reading', async (t) => {
  const dir = await makeTempDir(t);
  await writeFile(join(dir, 'p.key'), PYZMQ_PUBLIC);
  await writeFile(join(dir, 's.key_secret'), CZMQ_SECRET);
  assert.equal(await resolvePublicKey(join(dir, 'p.key')), PUBLIC);
  assert.equal(await resolvePublicKey(join(dir, 's.key_secret')), PUBLIC);
  assert.equal(await resolvePublicKey(PUBLIC), PUBLIC);
  await assert.rejects(resolvePublicKey('HelloWorld'), (e: unknown) =>
    code(e, 'ERR_CURVE_CERT_READ'),
  );
});

test('ZapAllowlist: a directory (czmq store rules), files, inline keys; reload swaps, a failed reload keeps the old keys', async (t) => {
  const dir = await makeTempDir(t);
  const store = join(dir, 'allow');
  await mkdir(store);
  const a = generateKeyPair();
  const b = generateKeyPair();
  const c = generateKeyPair();
  await writeCertificatePair(store, 'a', a);
  await writeFile(join(store, 'README'), 'not a certificate\n');
  await writeFile(join(store, '.b.key.swp'), formatCertificate({ ...b, metadata: {} }, 'public'));
  const lines: string[] = [];
  const list = await ZapAllowlist.load([store, c.publicKey], silentLogger(lines));
  assert.equal(list.size, 2);
  assert.ok(list.has(a.publicKey) && list.has(c.publicKey) && !list.has(b.publicKey));
  assert.equal(list.sourceOf(a.publicKey), join(store, 'a.key'));
  assert.equal(list.sourceOf(c.publicKey), 'inline');
  assert.equal(
    lines.length,
    1,
    'README skipped with a warning; a.key_secret and dot files quietly',
  );
  assert.match(lines[0]!, /allowlist: skipped a file .*README/);

  await writeCertificatePair(store, 'b', b);
  await rm(join(store, 'a.key'));
  const r = await list.reload();
  assert.deepEqual([r.added, r.removed], [[b.publicKey], [a.publicKey]]);
  assert.ok(list.has(b.publicKey) && !list.has(a.publicKey));

  await rm(store, { recursive: true });
  await assert.rejects(list.reload(), (e: unknown) => code(e, 'ERR_CURVE_CERT_READ'));
  assert.ok(list.has(b.publicKey), 'a failed reload keeps what was admitted');
  await assert.rejects(ZapAllowlist.load(['HelloWorld']), (e: unknown) =>
    code(e, 'ERR_CURVE_CERT_READ'),
  );
});

test('pyzmq interop: certificates from zmq.auth.create_certificates load here; ours load in zmq.auth.load_certificate', async (t) => {
  if (!(await requirePyzmq(t))) return;
  const dir = await makeTempDir(t);
  await runPython('import sys, zmq.auth; zmq.auth.create_certificates(sys.argv[1], "py")', [dir]);
  const lines: string[] = [];
  const py = await readSecretCertificate(join(dir, 'py.key_secret'), silentLogger(lines));
  assert.equal((await readCertificate(join(dir, 'py.key'))).publicKey, py.publicKey);
  assert.equal(curvePublicKey(py.secretKey), py.publicKey);

  const keys = generateKeyPair();
  await writeCertificatePair(dir, 'ours', keys);
  const { stdout } = await runPython(
    [
      'import sys, zmq, zmq.auth',
      'p, s = zmq.auth.load_certificate(sys.argv[1])',
      'p2, s2 = zmq.auth.load_certificate(sys.argv[2])',
      'assert s2 is None',
      'assert zmq.curve_public(s) == p == p2',
      'print(p.decode(), s.decode())',
    ].join('\n'),
    [join(dir, 'ours.key_secret'), join(dir, 'ours.key')],
  );
  assert.equal(stdout.trim(), `${keys.publicKey} ${keys.secretKey}`);
});

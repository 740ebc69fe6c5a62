// ZeroMQ certificate files (czmq zcert, pyzmq zmq.auth): `NAME.key` holds a public key,
// `NAME.key_secret` the same public key and its secret key, both Z85, in ZPL text (ZeroMQ
// RFC 4):
//
//     metadata
//         name = "ids-1"
//     curve
//         public-key = "<40 Z85 characters>"
//         secret-key = "<40 Z85 characters>"
//
// The reader is lenient where the writers differ: pyzmq leaves metadata values unquoted, czmq
// quotes them; both indent by four spaces; comments start with `#`. What it insists on is a
// `curve` section with a 40-character `public-key`. We write what both read (quoted values,
// four-space indent), so pyzmq's load_certificate and czmq's zcert_load take our files.

import type * as Crypto from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CurveError } from './curve-error.js';
import { lazyRequire } from './lazy-require.js';
import type { Logger } from './logger.js';
import { checkZ85Key, isZ85Key, z85Decode, z85Encode } from './z85.js';

// Loaded at first use, not at import: the sender's start must not pay for them (lazy-require.ts).
const crypto = lazyRequire<typeof Crypto>(import.meta.url, 'node:crypto');
const zmq = lazyRequire<typeof import('zeromq')>(import.meta.url, 'zeromq');

/** A CURVE key pair, both Z85 (40 characters). */
export interface CurveKeyPair {
  publicKey: string;
  secretKey: string;
}

/** What a certificate file holds. */
export interface CurveCertificate {
  /** Z85, 40 characters. */
  publicKey: string;
  /** Z85, 40 characters; absent in a public certificate. */
  secretKey?: string;
  /** The `metadata` section, name → value. */
  metadata: Record<string, string>;
}

/** File-name suffix of a public certificate (czmq and pyzmq: `NAME.key`). */
export const CERT_PUBLIC_SUFFIX = '.key';
/** File-name suffix of a secret certificate (`NAME.key_secret`). */
export const CERT_SECRET_SUFFIX = '.key_secret';
/** Mode of the files writeCertificatePair creates. */
export const CERT_FILE_MODE = 0o600;

/** czmq writes forty '0's as the secret key of a certificate it only has the public key of. */
const NO_SECRET = '0'.repeat(40);

/** Removes a ZPL value's quotes; an unquoted value runs to a ` #` comment or the line's end. */
function zplValue(raw: string): string {
  const quote = raw[0];
  if (quote === '"' || quote === "'") {
    const end = raw.indexOf(quote, 1);
    return end < 0 ? raw.slice(1) : raw.slice(1, end);
  }
  const comment = raw.search(/\s#/);
  return (comment < 0 ? raw : raw.slice(0, comment)).trim();
}

/**
 * Parses the text of a certificate file.
 * @param source names the file in errors
 * @throws CurveError `ERR_CURVE_BAD_CERT` without a `curve` / `public-key`, or with a key (public or
 *   secret) that is not 40 Z85 characters
 */
export function parseCertificate(text: string, source: string): CurveCertificate {
  const values = new Map<string, string>();
  const stack: { indent: number; name: string }[] = [];
  for (const [i, rawLine] of text.split('\n').entries()) {
    const line = rawLine.replace(/\r$/, '').replace(/\t/g, '    ');
    const body = line.trimStart();
    if (body === '' || body.startsWith('#')) continue;
    const indent = line.length - body.length;
    const m = /^([^\s=#]+)\s*(?:=\s*(.*))?$/.exec(body.trimEnd());
    if (m === null)
      throw new CurveError('ERR_CURVE_BAD_CERT', `${source}:${i + 1}: not a ZPL line`);
    while (stack.length > 0 && stack[stack.length - 1]!.indent >= indent) stack.pop();
    stack.push({ indent, name: m[1]! });
    if (m[2] !== undefined) values.set(stack.map((s) => s.name).join('/'), zplValue(m[2]));
  }
  const key = (name: string, path: string): string | undefined => {
    const v = values.get(path);
    if (v === undefined) return undefined;
    try {
      return checkZ85Key(v, `${source}: ${name}`);
    } catch (err) {
      throw new CurveError('ERR_CURVE_BAD_CERT', (err as Error).message, { cause: err });
    }
  };
  const publicKey = key('public-key', 'curve/public-key');
  if (publicKey === undefined)
    throw new CurveError(
      'ERR_CURVE_BAD_CERT',
      `${source}: not a ZeroMQ certificate (no curve / public-key)`,
    );
  const secretKey = key('secret-key', 'curve/secret-key');
  const metadata: Record<string, string> = {};
  for (const [path, v] of values) {
    if (path.startsWith('metadata/') && path.indexOf('/', 9) < 0) metadata[path.slice(9)] = v;
  }
  return {
    publicKey,
    ...(secretKey !== undefined && secretKey !== NO_SECRET ? { secretKey } : {}),
    metadata,
  };
}

/** A ZPL value as we write it: double-quoted (ZPL has no escapes, so no `"` or newline inside). */
function quoted(name: string, v: string): string {
  if (/["\r\n]/.test(v)) throw new RangeError(`metadata ${name}: no quotes or newlines in values`);
  return `"${v}"`;
}

/**
 * The text of a certificate file: the public one (`kind` 'public', no secret key) or the secret
 * one. Values are double-quoted and indented by four spaces, as czmq writes them.
 * @throws RangeError for a metadata name that is not a ZPL name or a value with `"` or a newline;
 *   CurveError `ERR_CURVE_NO_SECRET` for 'secret' without a secret key
 */
export function formatCertificate(
  cert: CurveCertificate,
  kind: 'public' | 'secret',
  now: Date = new Date(),
): string {
  if (kind === 'secret' && cert.secretKey === undefined)
    throw new CurveError('ERR_CURVE_NO_SECRET', 'a secret certificate needs the secret key');
  const lines = [
    `#   ZeroMQ CURVE ${kind === 'secret' ? 'SECRET' : 'public'} certificate, written ${now.toISOString()} by nflog-pipe`,
    kind === 'secret'
      ? '#   Private to the host it names: never copy it elsewhere, keep it mode 0600.'
      : '#   Give it to the peers that must recognise this key (an allowlist directory).',
    '',
    'metadata',
  ];
  for (const [name, v] of Object.entries(cert.metadata)) {
    if (!/^[A-Za-z0-9$\-_@.&+/]+$/.test(name))
      throw new RangeError(`metadata name ${JSON.stringify(name)} is not a ZPL name`);
    lines.push(`    ${name} = ${quoted(name, v)}`);
  }
  lines.push('curve', `    public-key = "${cert.publicKey}"`);
  if (kind === 'secret') lines.push(`    secret-key = "${cert.secretKey}"`);
  return `${lines.join('\n')}\n`;
}

/**
 * The X25519 public key of a CURVE secret key (both Z85), so a secret certificate can be
 * checked for a public key that does not belong to it. Node's crypto does the scalar
 * multiplication: the secret key wrapped as PKCS#8, the public key read from its SPKI form.
 * @throws CurveError `ERR_CURVE_BAD_KEY` / `ERR_CURVE_BAD_Z85` for a malformed key
 */
export function curvePublicKey(secretKey: string): string {
  const raw = z85Decode(checkZ85Key(secretKey, 'secret key'));
  // PKCS#8 PrivateKeyInfo for id-X25519 (1.3.101.110) around the 32-byte key (RFC 8410).
  const der = Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), raw]);
  const { createPrivateKey, createPublicKey } = crypto();
  const spki = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export(
    { format: 'der', type: 'spki' },
  );
  return z85Encode(spki.subarray(spki.length - 32));
}

/**
 * Reads and parses a certificate file.
 * @throws CurveError `ERR_CURVE_CERT_READ` (`cause` the fs error) or `ERR_CURVE_BAD_CERT`
 */
export async function readCertificate(path: string): Promise<CurveCertificate> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CurveError('ERR_CURVE_CERT_READ', `cannot read certificate ${path}`, {
      cause: err,
    });
  }
  return parseCertificate(text, path);
}

/**
 * Reads this host's secret certificate (`--curve-server`, `--curve-client`) and returns its key
 * pair. A file that its group or others may read is warned about on `logger`, not refused:
 * pyzmq writes secret certificates with the umask's mode.
 * @throws CurveError `ERR_CURVE_CERT_READ`, `ERR_CURVE_BAD_CERT`, `ERR_CURVE_NO_SECRET` (a public
 *   certificate), `ERR_CURVE_KEY_MISMATCH` (its public key is not its secret key's)
 */
export async function readSecretCertificate(path: string, logger?: Logger): Promise<CurveKeyPair> {
  const cert = await readCertificate(path);
  if (cert.secretKey === undefined)
    throw new CurveError(
      'ERR_CURVE_NO_SECRET',
      `${path} holds no secret-key: give the secret certificate (NAME${CERT_SECRET_SUFFIX})`,
    );
  if (curvePublicKey(cert.secretKey) !== cert.publicKey)
    throw new CurveError(
      'ERR_CURVE_KEY_MISMATCH',
      `${path}: its public-key is not the public key of its secret-key`,
    );
  const st = await stat(path).catch(() => null);
  if (st !== null && (st.mode & 0o044) !== 0) {
    logger?.warn('secret certificate is readable by group or others: chmod 600 it', {
      path,
      mode: (st.mode & 0o777).toString(8).padStart(4, '0'),
    });
  }
  return { publicKey: cert.publicKey, secretKey: cert.secretKey };
}

/**
 * A public key given as a certificate file (public or secret: its public-key is used) or
 * inline as 40 Z85 characters. An existing file wins over the inline reading, since a path can
 * be 40 characters of the Z85 alphabet too.
 * @throws CurveError `ERR_CURVE_CERT_READ` (neither a file nor a key), `ERR_CURVE_BAD_CERT`
 */
export async function resolvePublicKey(spec: string): Promise<string> {
  const st = await stat(spec).catch(() => null);
  if (st === null && isZ85Key(spec)) return spec;
  return (await readCertificate(spec)).publicKey;
}

/** A new CURVE key pair from libzmq (libsodium's randomness). @throws CurveError `ERR_CURVE_UNSUPPORTED`. */
export function generateKeyPair(): CurveKeyPair {
  if (!zmq().capability.curve)
    throw new CurveError('ERR_CURVE_UNSUPPORTED', 'this libzmq was built without CURVE');
  return zmq().curveKeyPair();
}

/**
 * Writes `DIR/NAME.key` (public) and `DIR/NAME.key_secret` with mode 0600, never over an
 * existing file. Metadata `name` is NAME unless `metadata` says otherwise.
 * @returns the two paths
 * @throws CurveError `ERR_CURVE_CERT_EXISTS` (nothing written then), `ERR_CURVE_CERT_WRITE` for
 *   another fs error (the `cause`; whatever was written is removed again)
 */
export async function writeCertificatePair(
  dir: string,
  name: string,
  keys: CurveKeyPair,
  metadata: Record<string, string> = {},
  now: Date = new Date(),
): Promise<{ publicPath: string; secretPath: string }> {
  const cert: CurveCertificate = { ...keys, metadata: { name, ...metadata } };
  const publicPath = join(dir, `${name}${CERT_PUBLIC_SUFFIX}`);
  const secretPath = join(dir, `${name}${CERT_SECRET_SUFFIX}`);
  const files: [string, string][] = [
    [secretPath, formatCertificate(cert, 'secret', now)],
    [publicPath, formatCertificate(cert, 'public', now)],
  ];
  const written: string[] = [];
  try {
    for (const [path, text] of files) {
      // O_EXCL: never replace a key someone relies on. The mode is set at creation (the umask
      // can only narrow it) and again by chmod, so the file is 0600 whatever the umask.
      const fh = await open(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, CERT_FILE_MODE);
      written.push(path);
      try {
        await fh.chmod(CERT_FILE_MODE);
        await fh.writeFile(text);
      } finally {
        await fh.close();
      }
    }
  } catch (err) {
    for (const p of written) await unlink(p).catch(() => {});
    if ((err as { code?: unknown }).code === 'EEXIST')
      throw new CurveError('ERR_CURVE_CERT_EXISTS', `${(err as { path?: string }).path} exists`, {
        cause: err,
      });
    throw new CurveError('ERR_CURVE_CERT_WRITE', `cannot write certificates in ${dir}`, {
      cause: err,
    });
  }
  return { publicPath, secretPath };
}

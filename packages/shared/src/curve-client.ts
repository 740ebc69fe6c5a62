// The connecting side of CURVE (sender PUSH, relay PUSH, query REQ): this host's key pair from
// its secret certificate, and the server's public key, as zeromq.js socket options.

import { readSecretCertificate, resolvePublicKey, type CurveKeyPair } from './curve-cert.js';
import { CurveError } from './curve-error.js';
import { lazyRequire } from './lazy-require.js';
import type { Logger } from './logger.js';

// Loaded at first use, not at import (lazy-require.ts).
const zmq = lazyRequire<typeof import('zeromq')>(import.meta.url, 'zeromq');

/** What `--curve-client` and `--curve-server-key` name (read by {@link loadCurveClient}). */
export interface CurveClientConfig {
  /** This host's secret certificate file (`NAME.key_secret`). */
  secretCertPath: string;
  /** The server's public certificate file, or its public key inline as 40 Z85 characters. */
  serverKey: string;
}

/** A connecting socket's CURVE keys, Z85. */
export interface CurveClientKeys extends CurveKeyPair {
  /** The public key of the server it connects to. */
  serverKey: string;
}

/** The zeromq.js options that make a socket a CURVE client. */
export interface CurveClientSocketOptions {
  /** ZMQ_CURVE_PUBLICKEY */
  curvePublicKey: string;
  /** ZMQ_CURVE_SECRETKEY */
  curveSecretKey: string;
  /** ZMQ_CURVE_SERVERKEY */
  curveServerKey: string;
}

/** @throws CurveError `ERR_CURVE_UNSUPPORTED` when this libzmq has no CURVE. */
export function requireCurve(): void {
  if (!zmq().capability.curve)
    throw new CurveError(
      'ERR_CURVE_UNSUPPORTED',
      'this build of libzmq has no CURVE (zeromq.js capability.curve is false)',
    );
}

/**
 * Reads the files `config` names. A secret certificate readable by others is warned about on
 * `logger` (see readSecretCertificate). File reads only: libzmq is not loaded here (the sender
 * reads its keys before it binds its groups, and loads ZeroMQ after).
 * @throws CurveError (`ERR_CURVE_CERT_READ`, `ERR_CURVE_BAD_CERT`, `ERR_CURVE_NO_SECRET`,
 *   `ERR_CURVE_KEY_MISMATCH`)
 */
export async function loadCurveClient(
  config: CurveClientConfig,
  logger?: Logger,
): Promise<CurveClientKeys> {
  const own = await readSecretCertificate(config.secretCertPath, logger);
  return { ...own, serverKey: await resolvePublicKey(config.serverKey) };
}

/**
 * The socket options of a CURVE client with `keys`.
 * @throws CurveError `ERR_CURVE_UNSUPPORTED` when this libzmq has no CURVE
 */
export function curveClientSocketOptions(keys: CurveClientKeys): CurveClientSocketOptions {
  requireCurve();
  return {
    curvePublicKey: keys.publicKey,
    curveSecretKey: keys.secretKey,
    curveServerKey: keys.serverKey,
  };
}

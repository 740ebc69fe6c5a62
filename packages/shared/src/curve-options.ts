// The CURVE flags of every CLI, one function per side so each tool gains two lines:
// binding side `--curve-server SECRET_CERT` + `--curve-allow PATH|KEY|any` (and the receiver's
// `--buffer-curve-allow`), connecting side `--curve-client SECRET_CERT` +
// `--curve-server-key PUBLIC_CERT|KEY`. Parsing only checks how the flags combine; the files
// are read when the engine starts (an unreadable file is a runtime error, exit 1).

import { Option, type Command, type OptionValues } from 'commander';
import type { CurveClientConfig } from './curve-client.js';
import type { CurveServerConfig } from './curve-server.js';
import { UsageError } from './errors.js';
import type { CurveAllow } from './zap-allowlist.js';

/** What addCurveServerOptions adds beyond `--curve-server` and `--curve-allow`. */
export interface CurveServerOptionSet {
  /** Add `--buffer-curve-allow` (the receiver's query socket). */
  bufferAllow?: boolean;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * Adds `--curve-server <secret-cert>`, `--curve-allow <path|key|any>` (repeatable) and, with
 * `bufferAllow`, `--buffer-curve-allow <path|key|any>` (repeatable) to `cmd`.
 * @returns `cmd`
 */
export function addCurveServerOptions(cmd: Command, set: CurveServerOptionSet = {}): Command {
  cmd
    .addOption(
      new Option(
        '--curve-server <secret-cert>',
        "CURVE on the bound socket(s): this host's secret certificate (NAME.key_secret, from nflog-zmq-keygen); needs --curve-allow",
      ),
    )
    .addOption(
      new Option(
        '--curve-allow <path|key|any>',
        'clients admitted with --curve-server: a public certificate, a directory of them, or a 40-character Z85 key; repeatable; SIGHUP reloads; "any" = encryption without client authentication',
      ).argParser(collect),
    );
  if (set.bufferAllow === true) {
    cmd.addOption(
      new Option(
        '--buffer-curve-allow <path|key|any>',
        'CURVE on --buffer-interface too, admitting these clients (as --curve-allow; who may read is not who may send); without it the buffer interface is plain',
      ).argParser(collect),
    );
  }
  return cmd;
}

function allowFrom(values: readonly string[], flag: string): CurveAllow {
  if (values.includes('any')) {
    if (values.length > 1) throw new UsageError(`${flag} any cannot be combined with keys`);
    return 'any';
  }
  return values;
}

/**
 * The binding side's CURVE settings from what addCurveServerOptions parsed, or null without
 * `--curve-server`.
 * @throws UsageError: `--curve-server` without `--curve-allow` (choose who may connect, or
 *   `any`), `--curve-allow`/`--buffer-curve-allow` without `--curve-server`, `any` with keys
 */
export function curveServerFrom(opts: OptionValues): CurveServerConfig | null {
  const cert = opts['curveServer'] as string | undefined;
  const allow = opts['curveAllow'] as string[] | undefined;
  const bufferAllow = opts['bufferCurveAllow'] as string[] | undefined;
  if (cert === undefined) {
    if (allow !== undefined) throw new UsageError('--curve-allow needs --curve-server');
    if (bufferAllow !== undefined)
      throw new UsageError('--buffer-curve-allow needs --curve-server');
    return null;
  }
  if (allow === undefined)
    throw new UsageError(
      '--curve-server needs --curve-allow: the clients admitted (certificate, directory, key), or any',
    );
  return {
    secretCertPath: cert,
    allow: allowFrom(allow, '--curve-allow'),
    ...(bufferAllow !== undefined
      ? { bufferAllow: allowFrom(bufferAllow, '--buffer-curve-allow') }
      : {}),
  };
}

/**
 * Adds `--curve-client <secret-cert>` and `--curve-server-key <public-cert|key>` to `cmd`.
 * @returns `cmd`
 */
export function addCurveClientOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--curve-client <secret-cert>',
        "CURVE on the connecting socket: this host's secret certificate (NAME.key_secret); needs --curve-server-key",
      ),
    )
    .addOption(
      new Option(
        '--curve-server-key <public-cert|key>',
        "the server's public certificate (NAME.key) or its public key as 40 Z85 characters; needs --curve-client",
      ),
    );
}

/**
 * The connecting side's CURVE settings from what addCurveClientOptions parsed, or null without
 * them.
 * @throws UsageError when only one of the two is given
 */
export function curveClientFrom(opts: OptionValues): CurveClientConfig | null {
  const cert = opts['curveClient'] as string | undefined;
  const serverKey = opts['curveServerKey'] as string | undefined;
  if (cert === undefined && serverKey === undefined) return null;
  if (cert === undefined) throw new UsageError('--curve-server-key needs --curve-client');
  if (serverKey === undefined)
    throw new UsageError(
      "--curve-client needs --curve-server-key: the server's public certificate or key",
    );
  return { secretCertPath: cert, serverKey };
}

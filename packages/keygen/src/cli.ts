// nflog-zmq-keygen NAME [--dir DIR]: a CURVE key pair as ZeroMQ certificate files, NAME.key
// (public: give it to the peers that must admit or reach this host) and NAME.key_secret (stays
// on this host), both mode 0600, in the format czmq and pyzmq read.

import { Option, type OptionValues } from 'commander';
import {
  CurveError,
  EXIT_OK,
  UsageError,
  createProgram,
  generateKeyPair,
  runProgram,
  writeCertificatePair,
} from '@nflog-pipe/shared';

/** Default --dir: the current directory. */
export const KEYGEN_DEFAULT_DIR = '.';

interface KeygenOptions extends OptionValues {
  dir: string;
}

/** A NAME is a file-name stem: no path separator, no leading dot, and a ZPL-safe metadata value. */
const NAME = /^[A-Za-z0-9_@+-][A-Za-z0-9._@+-]*$/;

function buildProgram(): ReturnType<typeof createProgram> {
  return createProgram(
    'nflog-zmq-keygen',
    'Write a new CURVE key pair as ZeroMQ certificates: NAME.key (public) and NAME.key_secret (secret), mode 0600.',
  )
    .argument(
      '<name>',
      'file-name stem of the pair, e.g. the host name (letters, digits, . _ - @ +)',
    )
    .addOption(
      new Option('--dir <dir>', 'directory to write them in (it must exist)').default(
        KEYGEN_DEFAULT_DIR,
      ),
    );
}

/**
 * Runs `nflog-zmq-keygen` with the user arguments `argv`; resolves to the exit code: 0 when both
 * files were written (their paths and the public key on stdout), 1 when they cannot be (a file
 * of that name exists, the directory is missing or not writable), 2 on bad usage. Never calls
 * process.exit().
 */
export function main(argv: string[]): Promise<number> {
  return runProgram<KeygenOptions>(buildProgram(), argv, async ({ opts, args }) => {
    const name = String(args[0]);
    if (!NAME.test(name))
      throw new UsageError(
        `NAME ${JSON.stringify(name)}: letters, digits and . _ - @ + only, not starting with a dot`,
      );
    let paths: { publicPath: string; secretPath: string };
    const keys = generateKeyPair();
    try {
      paths = await writeCertificatePair(opts.dir, name, keys);
    } catch (err) {
      if (err instanceof CurveError && err.code === 'ERR_CURVE_CERT_EXISTS')
        throw new CurveError(err.code, `${err.message}: choose another NAME or remove it first`, {
          cause: err.cause,
        });
      throw err;
    }
    process.stdout.write(
      `public-key ${keys.publicKey}\npublic ${paths.publicPath}\nsecret ${paths.secretPath}\n`,
    );
    return EXIT_OK;
  });
}

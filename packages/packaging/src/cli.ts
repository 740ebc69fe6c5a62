// npm run package: the operator tarball, nflog-pipe-VERSION.tgz (see docs/operations.md,
// "Install"). Prints the tarball's path on stdout.

import { resolve } from 'node:path';
import { EXIT_OK, createProgram, runProgram } from '@nflog-pipe/shared';
import { packTarball } from './pack-tarball.js';

/**
 * Runs the packer with the user arguments `argv`; resolves to the exit code (0 packed, 1 a
 * PackagingError, 2 usage).
 */
export function main(argv: string[]): Promise<number> {
  const program = createProgram(
    'nflog-pipe-pack',
    'Pack the built checkout into one installable tarball, nflog-pipe-VERSION.tgz.',
  ).option('-o, --out <dir>', 'directory to write the tarball to', '.');
  return runProgram<{ out: string }>(program, argv, async ({ opts, logger }) => {
    const packed = await packTarball({ outDir: resolve(opts.out) });
    logger.info('packed', {
      tools: Object.keys(packed.plan.manifest.bin ?? {}).join(','),
      files: packed.files.length,
    });
    process.stdout.write(`${packed.path}\n`);
    return EXIT_OK;
  });
}

// The start-up check of DST: what it is and whether we may write it, before any socket is bound
// or any file is created, so a receiver that cannot write its output never says "started".

import { constants as fsConstants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ReceiverError } from './errors.js';

/** What DST is: a FIFO (opened once a reader comes), a regular file (or device), or stdout. */
export type OutputKind = 'fifo' | 'file' | 'stdout';

/** What {@link checkOutput} found. */
export interface OutputCheck {
  kind: OutputKind;
  /** False when DST does not exist yet: it will be created as a regular file. */
  exists: boolean;
}

function errnoOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'error';
}

function outputError(dest: string, why: string, cause?: unknown): ReceiverError {
  return new ReceiverError('ERR_RECV_OUTPUT', `output ${dest}: ${why}`, { cause });
}

/**
 * Find out what `dest` is and check that this process may write it (access(2) with W_OK: the
 * effective uid's view, read-only mounts included). A path that does not exist yet must be in an
 * existing directory we may create files in. Opens and creates nothing.
 *
 * @param dest `-` (stdout), a FIFO path or a file path
 * @returns the kind of output, and whether the path exists (`-` does)
 * @throws ReceiverError `ERR_RECV_OUTPUT`: a directory, in a missing directory (or one that is
 *   not a directory), not writable; the message names the path and the errno code.
 */
export async function checkOutput(dest: string): Promise<OutputCheck> {
  if (dest === '-') return { kind: 'stdout', exists: true };
  const st = await stat(dest).catch((err: unknown) => {
    if (errnoOf(err) === 'ENOENT') return null;
    throw outputError(dest, `cannot be reached (${errnoOf(err)})`, err);
  });
  if (st !== null) {
    if (st.isDirectory()) throw outputError(dest, 'is a directory (EISDIR)');
    await access(dest, fsConstants.W_OK).catch((err: unknown) => {
      throw outputError(dest, `not writable (${errnoOf(err)})`, err);
    });
    return { kind: st.isFIFO() ? 'fifo' : 'file', exists: true };
  }
  const dir = dirname(dest);
  const dirSt = await stat(dir).catch((err: unknown) => {
    const code = errnoOf(err);
    throw outputError(
      dest,
      code === 'ENOENT'
        ? `its directory ${dir} does not exist (ENOENT)`
        : `its directory ${dir} cannot be reached (${code})`,
      err,
    );
  });
  if (!dirSt.isDirectory()) throw outputError(dest, `${dir} is not a directory (ENOTDIR)`);
  await access(dir, fsConstants.W_OK | fsConstants.X_OK).catch((err: unknown) => {
    throw outputError(
      dest,
      `not writable: no file can be created in ${dir} (${errnoOf(err)})`,
      err,
    );
  });
  return { kind: 'file', exists: false };
}

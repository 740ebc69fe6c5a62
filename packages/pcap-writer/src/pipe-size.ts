// A pipe's capacity and unread bytes, through the native helper (native/pw_pipe.c): Node has no
// fcntl(2) or ioctl(2). Used by the FIFO output once per open (raisePipeSize) and once when a
// reader leaves (pipeUnread); never per write.

import { readFileSync } from 'node:fs';
import { PcapPipeError } from './errors.js';
import { checkNative, pipeNative } from './native.js';

/** A pipe's capacity until someone changes it: 16 pages (pipe(7), "Pipe capacity"). */
export const PIPE_DEFAULT_BYTES = 65536;

/** The kernel's floor for /proc/sys/fs/pipe-max-size readers may assume: its default, 1 MiB. */
const PIPE_MAX_DEFAULT_BYTES = 1048576;

function check(r: number, syscall: string, fd: number): number {
  return checkNative(r, syscall, `fd ${fd}`);
}

/** Largest capacity F_SETPIPE_SZ takes (its argument is an int). */
export const PIPE_MAX_REQUEST_BYTES = 0x7fffffff;

/**
 * The capacity of the pipe (or FIFO) behind `fd`, either end: fcntl(F_GETPIPE_SZ).
 * @returns bytes
 * @throws PcapPipeError (`EBADF` if `fd` is no pipe; `ERR_PCAP_NATIVE_LOAD` if not built)
 */
export function getPipeSize(fd: number): number {
  return check(pipeNative().getPipeSize(fd), 'fcntl(F_GETPIPE_SZ)', fd);
}

/**
 * Set the capacity of the pipe behind `fd`: fcntl(F_SETPIPE_SZ). The kernel rounds `bytes` up
 * to a power of two pages; it refuses (EPERM) more than /proc/sys/fs/pipe-max-size to a process
 * without CAP_SYS_RESOURCE, and any raise to an unprivileged user over its pipe-user-pages
 * limits; shrinking below what the pipe holds is EBUSY.
 * @returns the capacity now, bytes
 * @throws PcapPipeError with the errno name as `code`
 */
export function setPipeSize(fd: number, bytes: number): number {
  return check(pipeNative().setPipeSize(fd, bytes), 'fcntl(F_SETPIPE_SZ)', fd);
}

/**
 * Bytes written into the pipe behind `fd` (either end) and not read yet: ioctl(FIONREAD).
 * @throws PcapPipeError with the errno name as `code`
 */
export function pipeUnread(fd: number): number {
  return check(pipeNative().pipeUnread(fd), 'ioctl(FIONREAD)', fd);
}

/**
 * /proc/sys/fs/pipe-max-size, read now: the largest capacity a process without
 * CAP_SYS_RESOURCE may set (1 MiB, the kernel's default, when it cannot be read).
 */
export function pipeMaxSizeBytes(): number {
  try {
    const n = Number(readFileSync('/proc/sys/fs/pipe-max-size', 'utf8').trim());
    if (Number.isInteger(n) && n > 0) return n;
  } catch {
    // not Linux, or no /proc
  }
  return PIPE_MAX_DEFAULT_BYTES;
}

/** What {@link raisePipeSize} did. */
export interface PipeSizeOutcome {
  /** The capacity asked for, bytes. */
  requestedBytes: number;
  /** The pipe's capacity now, bytes (F_SETPIPE_SZ's answer, or F_GETPIPE_SZ when unchanged). */
  bytes: number;
  /** /proc/sys/fs/pipe-max-size when the pipe was raised, bytes. */
  maxBytes: number;
  /**
   * Why `bytes` may be below `requestedBytes`, or null when it is not:
   * - `'pipe-max-size'`: the kernel refused more than pipe-max-size (no CAP_SYS_RESOURCE), so
   *   the pipe was raised to pipe-max-size instead;
   * - an errno name: the kernel refused the raise for another reason (`EPERM`: the per-user
   *   limits fs.pipe-user-pages-soft/-hard) and the pipe kept its capacity.
   */
  limitedBy: string | null;
}

/**
 * Raise the capacity of the pipe behind `fd` to at least `bytes`; never shrinks it. Asks for
 * `bytes` as is (a process with CAP_SYS_RESOURCE may go above pipe-max-size); when the kernel
 * refuses that with EPERM and `bytes` is above /proc/sys/fs/pipe-max-size, raises it to
 * pipe-max-size instead. A refusal is reported in `limitedBy`, not thrown: a pipe of the
 * default size still works.
 *
 * @throws PcapPipeError only when `fd` cannot be asked at all (`EBADF`: not a pipe) or the
 *   helper is not built (`ERR_PCAP_NATIVE_LOAD`); RangeError for `bytes` outside
 *   1..{@link PIPE_MAX_REQUEST_BYTES}
 */
export function raisePipeSize(fd: number, bytes: number): PipeSizeOutcome {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > PIPE_MAX_REQUEST_BYTES)
    throw new RangeError(
      `pipe size must be an integer of 1..${PIPE_MAX_REQUEST_BYTES} bytes: ${bytes}`,
    );
  const maxBytes = pipeMaxSizeBytes();
  const now = getPipeSize(fd);
  const outcome = (size: number, limitedBy: string | null): PipeSizeOutcome => ({
    requestedBytes: bytes,
    bytes: size,
    maxBytes,
    limitedBy,
  });
  if (now >= bytes) return outcome(now, null);
  try {
    return outcome(setPipeSize(fd, bytes), null);
  } catch (err) {
    const code = (err as PcapPipeError).code;
    if (code !== 'EPERM' || bytes <= maxBytes || now >= maxBytes) return outcome(now, code);
  }
  try {
    return outcome(setPipeSize(fd, maxBytes), 'pipe-max-size');
  } catch (err) {
    return outcome(now, (err as PcapPipeError).code);
  }
}

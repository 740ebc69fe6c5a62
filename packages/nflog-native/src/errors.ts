/**
 * NflogError: every failure of nflog-native, with a stable `code`. nflog-native depends on
 * nothing of ours, so it keeps its own registry rather than shared's NflogPipeError.
 */
import { getSystemErrorName } from 'node:util';

/**
 * Every code of ours an {@link NflogError} carries; system errors carry their errno name
 * instead ({@link NflogErrnoCode}). Branch on `code`, never on `message`.
 */
export const NFLOG_ERROR_CODES = [
  /** A method other than close() was called after close(). */
  'ERR_NFLOG_CLOSED',
  /** An option (or parseNflogMessages' linktype) is out of range; nothing reached the kernel. */
  'ERR_NFLOG_INVALID_OPTION',
  /** The compiled addon could not be loaded; the message lists every path tried and why. */
  'ERR_NFLOG_NATIVE_LOAD',
  /** The kernel reported an errno Node has no name for (the number is in `errno`). */
  'ERR_NFLOG_UNKNOWN_ERRNO',
  /** /proc could not tell the boot id or the network namespace (readNamespaceId). */
  'ERR_NFLOG_NAMESPACE_ID',
  /** groupByShard: an index entry does not match the records it indexes, or the table names a shard that does not exist. */
  'ERR_NFLOG_BAD_INDEX',
] as const;

/** One of {@link NFLOG_ERROR_CODES}. */
export type NflogErrorCode = (typeof NFLOG_ERROR_CODES)[number];

declare const errnoName: unique symbol;

/**
 * The errno name of a system error (`EPERM`, `ENOBUFS`, ..., from `util.getSystemErrorName`).
 * Only {@link NflogError.fromErrno} makes one, so every other throw site is checked against
 * {@link NFLOG_ERROR_CODES}; compare it with string literals as usual.
 */
export type NflogErrnoCode = string & { readonly [errnoName]: true };

/** Context a native failure carries. */
export interface NflogErrorDetails {
  errno?: number;
  syscall?: string;
  group?: number;
  cause?: unknown;
}

/** Error thrown (or passed to `onError`) by nflog-native. */
export class NflogError extends Error {
  /** Stable identity of the failure: one of {@link NFLOG_ERROR_CODES} or an errno name. */
  readonly code: NflogErrorCode | NflogErrnoCode;
  /** Positive errno for system errors. */
  readonly errno: number | undefined;
  /** The syscall or netlink request that failed, e.g. `NFULNL_CFG_CMD_BIND`. */
  readonly syscall: string | undefined;
  /** The NFLOG group involved, if any. */
  readonly group: number | undefined;

  constructor(
    code: NflogErrorCode | NflogErrnoCode,
    message: string,
    details: NflogErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'NflogError';
    this.code = code;
    this.errno = details.errno;
    this.syscall = details.syscall;
    this.group = details.group;
  }

  /**
   * Build from a positive errno reported by the C side. Message:
   * `"<syscall> <CODE> <context>"`; EPERM adds why (missing CAP_NET_ADMIN, or
   * - for a group bind, which only runs after a privileged request already
   * succeeded - the group is owned by another netlink socket).
   */
  static fromErrno(errno: number, syscall: string, group?: number): NflogError {
    let code: NflogErrorCode | NflogErrnoCode;
    try {
      const name = getSystemErrorName(-errno);
      code = name.startsWith('Unknown') ? 'ERR_NFLOG_UNKNOWN_ERRNO' : (name as NflogErrnoCode);
    } catch {
      code = 'ERR_NFLOG_UNKNOWN_ERRNO';
    }
    const parts: string[] = [syscall, code];
    if (group !== undefined && group >= 0) parts.push(`group ${group}`);
    if (code === 'ERR_NFLOG_UNKNOWN_ERRNO') parts.push(`(errno ${errno})`);
    if (code === 'EPERM') {
      parts.push(
        syscall === 'NFULNL_CFG_CMD_BIND'
          ? '(the group is already bound by another netlink socket, e.g. another capture process)'
          : syscall.startsWith('prctl')
            ? '(CAP_SETPCAP is needed to empty the capability bounding set: start as root)'
            : '(CAP_NET_ADMIN is needed to open and configure NFLOG)',
      );
    }
    return new NflogError(code, parts.join(' '), {
      errno,
      syscall,
      ...(group !== undefined && group >= 0 ? { group } : {}),
    });
  }
}

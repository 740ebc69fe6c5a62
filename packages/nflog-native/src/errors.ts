/**
 * NflogError: every failure of nflog-native, with a stable `code`.
 */
import { getSystemErrorName } from 'node:util';

/** Context a native failure carries. */
export interface NflogErrorDetails {
  errno?: number;
  syscall?: string;
  group?: number;
  cause?: unknown;
}

/**
 * Error thrown (or passed to `onError`) by nflog-native.
 *
 * `code` is the errno name for system errors (`EPERM`, `ENOBUFS`, ... via
 * `util.getSystemErrorName`) or one of ours: `ERR_NFLOG_CLOSED` (method
 * called after close()), `ERR_NFLOG_INVALID_OPTION`, `ERR_NFLOG_NATIVE_LOAD`,
 * `ERR_NFLOG_UNKNOWN_ERRNO` (a kernel-internal errno Node has no name for).
 * Branch on `code`, never on `message`.
 */
export class NflogError extends Error {
  /** Stable identity of the failure. */
  readonly code: string;
  /** Positive errno for system errors. */
  readonly errno: number | undefined;
  /** The syscall or netlink request that failed, e.g. `NFULNL_CFG_CMD_BIND`. */
  readonly syscall: string | undefined;
  /** The NFLOG group involved, if any. */
  readonly group: number | undefined;

  constructor(code: string, message: string, details: NflogErrorDetails = {}) {
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
    let code: string;
    try {
      code = getSystemErrorName(-errno);
    } catch {
      code = 'ERR_NFLOG_UNKNOWN_ERRNO';
    }
    if (code.startsWith('Unknown')) code = 'ERR_NFLOG_UNKNOWN_ERRNO';
    const parts = [syscall, code];
    if (group !== undefined && group >= 0) parts.push(`group ${group}`);
    if (code === 'ERR_NFLOG_UNKNOWN_ERRNO') parts.push(`(errno ${errno})`);
    if (code === 'EPERM') {
      parts.push(
        syscall === 'NFULNL_CFG_CMD_BIND'
          ? '(the group is already bound by another netlink socket, e.g. another capture process)'
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

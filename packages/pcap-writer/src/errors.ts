/** Codes carried by {@link PcapFormatError}. */
export type PcapFormatErrorCode = 'ERR_PCAP_BAD_MAGIC' | 'ERR_PCAP_TRUNCATED';

/**
 * Bytes that are not a well-formed pcap file or records section.
 *
 * `code` is stable: `ERR_PCAP_BAD_MAGIC` (the first four bytes are no pcap magic in either byte
 * order) or `ERR_PCAP_TRUNCATED` (a header or a record runs past the end of the buffer, or a
 * buffer handed to the writer does not hold whole records). `offset` is the byte offset at which
 * the problem was found.
 */
export class PcapFormatError extends Error {
  /** Stable identity of the failure; branch on this, never on `message`. */
  readonly code: PcapFormatErrorCode;
  /** Byte offset in the input where the problem was detected. */
  readonly offset: number;

  constructor(code: PcapFormatErrorCode, message: string, offset: number) {
    super(message);
    this.name = 'PcapFormatError';
    this.code = code;
    this.offset = offset;
  }
}

/** Codes carried by {@link PcapWriteError}. */
export type PcapWriteErrorCode =
  'ERR_PCAP_EPIPE' | 'ERR_PCAP_WRITE' | 'ERR_PCAP_NOT_FIFO' | 'ERR_PCAP_APPEND_MISMATCH';

/** Records a writer took in `write()` that its reader did not get whole. */
export interface PcapLoss {
  /** Records lost (never counted twice: each record is either delivered or lost). */
  lostRecords: number;
  /** Bytes of those records, 16-byte record headers included. */
  lostBytes: number;
}

/** A buffer of whole records given to `PcapWriter.write()`, with its record count. */
export interface PcapBatch {
  readonly records: Buffer;
  readonly count: number;
}

/**
 * Writing the pcap stream failed; the writer that emitted it is dead and must be reopened.
 *
 * `code` is `ERR_PCAP_EPIPE` when the reading end of a pipe/FIFO went away (the expected case for
 * a FIFO whose IDS restarted), `ERR_PCAP_NOT_FIFO` when `PcapWriter.openFifo` found something
 * else at the path, `ERR_PCAP_APPEND_MISMATCH` when `PcapWriter.open` with `append` found a file
 * that starts with another header, `ERR_PCAP_WRITE` for any other failure. `cause` is the original system error
 * (with its own `code`, `errno`, `syscall`).
 *
 * `lostRecords`/`lostBytes` say which of the records given to `write()` the reader did not get
 * whole. For a FIFO this is exact: the records still queued, the record cut off, and the records
 * the reader left unread in the pipe (read back out, so no later reader sees them). For stdout
 * it counts the records the OS had not yet accepted. A file is cut back to its last whole
 * buffer, so nothing is lost there: what it had not written is handed back in `unwritten`.
 * Every other record was delivered.
 */
export class PcapWriteError extends Error implements PcapLoss {
  /** Stable identity of the failure; branch on this, never on `message`. */
  readonly code: PcapWriteErrorCode;
  /** Records given to `write()` that the reader did not get whole. */
  readonly lostRecords: number;
  /** Bytes of `lostRecords` (record headers included). */
  readonly lostBytes: number;
  /**
   * The buffers given to `write()` that the output never wrote (not counted in `lostRecords`),
   * oldest first: a file cut back after a failed write holds none of them, so whoever wrote them
   * may write them again (to a writer opened anew with `append`). Empty for FIFOs and stdout.
   */
  readonly unwritten: readonly PcapBatch[];

  constructor(
    code: PcapWriteErrorCode,
    message: string,
    options?: {
      cause?: unknown;
      lostRecords?: number;
      lostBytes?: number;
      unwritten?: readonly PcapBatch[];
    },
  ) {
    super(message, options);
    this.name = 'PcapWriteError';
    this.code = code;
    this.lostRecords = options?.lostRecords ?? 0;
    this.lostBytes = options?.lostBytes ?? 0;
    this.unwritten = options?.unwritten ?? [];
  }
}

/**
 * A pipe call of the native helper failed ({@link getPipeSize}, {@link setPipeSize},
 * {@link pipeUnread}), or the helper could not be loaded.
 *
 * `code` is the errno name for a system error (`EBADF` for an fd that is not a pipe, `EPERM`
 * for a capacity above /proc/sys/fs/pipe-max-size without CAP_SYS_RESOURCE or over the per-user
 * pipe limits, `EBUSY` for one below what the pipe holds), with `errno` (positive) and
 * `syscall` (`fcntl(F_SETPIPE_SZ)`, ...); `ERR_PCAP_NATIVE_LOAD` when the addon is not built
 * (the message lists every path tried); `ERR_PCAP_UNKNOWN_ERRNO` for an errno Node cannot name.
 */
export class PcapPipeError extends Error {
  /** The errno name, or `ERR_PCAP_NATIVE_LOAD` / `ERR_PCAP_UNKNOWN_ERRNO`. */
  readonly code: string;
  /** Positive errno of a system error. */
  readonly errno: number | undefined;
  /** The call that failed, e.g. `fcntl(F_SETPIPE_SZ)`. */
  readonly syscall: string | undefined;

  constructor(code: string, message: string, details: { errno?: number; syscall?: string } = {}) {
    super(message);
    this.name = 'PcapPipeError';
    this.code = code;
    this.errno = details.errno;
    this.syscall = details.syscall;
  }
}

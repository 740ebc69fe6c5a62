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
export type PcapWriteErrorCode = 'ERR_PCAP_EPIPE' | 'ERR_PCAP_WRITE';

/**
 * Writing the pcap stream failed; the writer that emitted it is dead and must be reopened.
 *
 * `code` is `ERR_PCAP_EPIPE` when the reading end of a pipe/FIFO went away (the expected case for
 * a FIFO whose IDS restarted), `ERR_PCAP_WRITE` for any other failure. `cause` is the original
 * system error (with its own `code`, `errno`, `syscall`).
 */
export class PcapWriteError extends Error {
  /** Stable identity of the failure; branch on this, never on `message`. */
  readonly code: PcapWriteErrorCode;

  constructor(code: PcapWriteErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PcapWriteError';
    this.code = code;
  }
}

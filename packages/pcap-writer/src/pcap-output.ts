// The seam between PcapWriter and what it writes to (internal; not exported from index.ts).
import { PcapWriteError, type PcapBatch, type PcapLoss } from './errors.js';

/** What an output reports back to its PcapWriter. */
export interface OutputHooks {
  /** Some pending bytes were accepted by the OS (PcapWriter decides about `'drain'`). */
  onProgress(): void;
  /** The output failed and is now closed; called at most once, never after `destroy()`. */
  onError(err: PcapWriteError): void;
}

/** One kind of destination behind PcapWriter: queue whole records, flush, close. */
export interface PcapOutput {
  /** Bytes given to `send()` that the OS has not accepted yet. */
  readonly pendingBytes: number;
  /** Records given to `send()` whose last byte the OS has not accepted yet. */
  readonly pendingRecords: number;
  /** Queue `buf` (`count` whole records; 0 for the global header). Never throws. */
  send(buf: Buffer, count: number): void;
  /** Flush what is pending, then close. Resolves once closed; a failure goes to `onError`. */
  end(): Promise<void>;
  /** Close now, dropping what is pending; returns the records dropped. Safe to repeat. */
  destroy(): PcapLoss;
  /**
   * Close at the next record boundary: drop what is pending beyond the record being written,
   * give that record up to `timeoutMs`, then close; returns the records dropped. Outputs that
   * never leave a partial record when destroyed simply destroy.
   */
  finish(timeoutMs: number): Promise<PcapLoss>;
  /** Whether the output's own timers keep the event loop alive. */
  setRef(ref: boolean): void;
}

/** No loss: the value `destroy()` returns once there is nothing left to drop. */
export const NO_LOSS: Readonly<PcapLoss> = Object.freeze({ lostRecords: 0, lostBytes: 0 });

/** The `code` of a system error, if it has one. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Wrap a system error from writing: `ERR_PCAP_EPIPE` for a reader that left, else `ERR_PCAP_WRITE`. */
export function toWriteError(
  err: unknown,
  loss: PcapLoss,
  unwritten: readonly PcapBatch[] = [],
): PcapWriteError {
  const code = errnoCode(err);
  // ENXIO: the idle probe's open(2) found no reader left (fifo(7)); a write would get EPIPE.
  if (code === 'EPIPE' || code === 'ENXIO') {
    return new PcapWriteError('ERR_PCAP_EPIPE', `pcap reader went away (${code})`, {
      cause: err,
      ...loss,
    });
  }
  const why = err instanceof Error ? err.message : String(err);
  return new PcapWriteError('ERR_PCAP_WRITE', `pcap write failed: ${why}`, {
    cause: err,
    ...loss,
    unwritten,
  });
}

/** Per-sender counters kept by {@link SequenceTracker}. */
export interface SenderStats {
  /** Sender id as 16 hex digits (how logs show it). */
  id: string;
  /** Sequence number of the first packet of the first frame seen from this sender. */
  firstSeq: bigint;
  /** Next sequence number expected. */
  nextSeq: bigint;
  /** Frames received. */
  frames: number;
  /** Packets received. */
  packets: number;
  /** Packets missing between frames (sum of forward gaps). */
  lost: number;
  /** Frames that started behind the expected number (duplicates or reordering). */
  behind: number;
}

/** What one frame told the tracker. */
export interface SequenceVerdict {
  /** Packets missing just before this frame (0 for a new sender or a frame behind). */
  lost: number;
  /** This sender id had not been seen (a new sender, or a sender restart). */
  newSender: boolean;
  /** The frame started before the expected number (duplicate or reordered). */
  behind: boolean;
}

/** Default {@link SequenceTracker} capacity: senders remembered at once. */
export const SEQUENCE_TRACKER_DEFAULT_MAX_SENDERS = 4096;

/**
 * Per-sender loss accounting from frame sequence numbers (docs/architecture.md, "Sequence
 * numbers and loss accounting"). Each sender numbers every packet it takes from the kernel;
 * a frame whose first number is ahead of the expected one means the difference was lost on the
 * way (sender queue drops included). A new sender id starts a new sequence space; packets
 * numbered before its first frame are not counted as lost, because a receiver that starts
 * after a sender cannot tell them from packets an earlier receiver got (`firstSeq` shows them).
 */
export class SequenceTracker {
  readonly #senders = new Map<bigint, SenderStats>();
  readonly #maxSenders: number;

  /** @param maxSenders senders remembered; the least recently seen is forgotten beyond it. */
  constructor(maxSenders = SEQUENCE_TRACKER_DEFAULT_MAX_SENDERS) {
    this.#maxSenders = maxSenders;
  }

  /**
   * Account one frame.
   *
   * @param senderId the frame's sender id
   * @param firstSeq sequence number of the frame's first packet
   * @param count packets in the frame (0 for a heartbeat, which still moves nothing forward)
   */
  observe(senderId: bigint, firstSeq: bigint, count: number): SequenceVerdict {
    const end = firstSeq + BigInt(count);
    let s = this.#senders.get(senderId);
    if (s === undefined) {
      s = {
        id: senderId.toString(16).padStart(16, '0'),
        firstSeq,
        nextSeq: end,
        frames: 1,
        packets: count,
        lost: 0,
        behind: 0,
      };
      this.#senders.set(senderId, s);
      if (this.#senders.size > this.#maxSenders) {
        this.#senders.delete(this.#senders.keys().next().value!);
      }
      return { lost: 0, newSender: true, behind: false };
    }
    // Map order is insertion order: re-insert so the oldest entry is the least recently seen.
    this.#senders.delete(senderId);
    this.#senders.set(senderId, s);
    s.frames++;
    s.packets += count;
    if (firstSeq < s.nextSeq) {
      s.behind++;
      if (end > s.nextSeq) s.nextSeq = end;
      return { lost: 0, newSender: false, behind: true };
    }
    const gap = Number(firstSeq - s.nextSeq);
    s.lost += gap;
    s.nextSeq = end;
    return { lost: gap, newSender: false, behind: false };
  }

  /** Snapshot of every remembered sender, least recently seen first. */
  senders(): SenderStats[] {
    return [...this.#senders.values()].map((s) => ({ ...s }));
  }

  /** Sum of `lost` over remembered senders. */
  get totalLost(): number {
    let n = 0;
    for (const s of this.#senders.values()) n += s.lost;
    return n;
  }
}

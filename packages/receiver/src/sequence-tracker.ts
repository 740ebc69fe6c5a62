import { senderIdHex } from '@nflog-pipe/shared';

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
  /** Frames refused: a jump ahead this sender could not have made (see SequenceTracker). */
  implausible: number;
}

/** What one frame told the tracker. */
export interface SequenceVerdict {
  /** Packets missing just before this frame (0 for a new sender or a frame behind). */
  lost: number;
  /** This sender id had not been seen (a new sender, or a sender restart). */
  newSender: boolean;
  /** The frame started before the expected number (duplicate or reordered). */
  behind: boolean;
  /**
   * The frame jumps further ahead than its sender could have numbered packets since its previous
   * frame: it is not this sender's (a forged or corrupt frame); nothing was counted or moved.
   */
  implausible: boolean;
}

/**
 * A rate no sender reaches: packets per second it could take from the kernel, all its groups
 * together (one NFLOG reader has not been measured above about 1 M/s). 10 M/s.
 */
export const SEQUENCE_MAX_PPS = 10_000_000;

/**
 * Packets a sender may number beyond {@link SEQUENCE_MAX_PPS} × elapsed time: room for clock
 * granularity and a kernel backlog read at once. 2^20.
 */
export const SEQUENCE_JUMP_SLACK = 1_048_576;

/** Default {@link SequenceTracker} capacity: senders remembered at once. */
export const SEQUENCE_TRACKER_DEFAULT_MAX_SENDERS = 4096;

/** What the tracker keeps per sender: its counters and when it last heard from it. */
interface SenderState extends SenderStats {
  /** Receiver clock at its last accepted frame, ms since the epoch. */
  seenMs: number;
  /** Capture time of the first record of its last accepted frame with records (sender clock), ms. */
  recordMs: number | undefined;
}

/**
 * Per-sender loss accounting from frame sequence numbers (docs/architecture.md, "Sequence
 * numbers and loss accounting"). Each sender numbers every packet it takes from the kernel;
 * a frame whose first number is ahead of the expected one means the difference was lost on the
 * way (sender queue drops included). A new sender id starts a new sequence space; packets
 * numbered before its first frame are not counted as lost, because a receiver that starts
 * after a sender cannot tell them from packets an earlier receiver got (`firstSeq` shows them).
 *
 * A jump ahead no sender could make is refused instead of counted: more than
 * SEQUENCE_JUMP_SLACK + SEQUENCE_MAX_PPS × the seconds since its previous frame. Those seconds
 * are the longer of the receiver's clock since it accepted that frame and the receiver's clock
 * minus the capture time of that frame's first record, so frames that waited in queues through
 * an outage (their records are old) still allow the gap of the whole outage. The refused
 * frame's own fields (a forger's) never widen the bound.
 */
export class SequenceTracker {
  readonly #senders = new Map<bigint, SenderState>();
  readonly #maxSenders: number;
  readonly #now: () => number;

  /**
   * @param maxSenders senders remembered; the least recently seen is forgotten beyond it.
   * @param now the receiver's clock, ms since the epoch (default Date.now)
   */
  constructor(maxSenders = SEQUENCE_TRACKER_DEFAULT_MAX_SENDERS, now: () => number = Date.now) {
    this.#maxSenders = maxSenders;
    this.#now = now;
  }

  /**
   * Account one frame.
   *
   * @param senderId the frame's sender id
   * @param firstSeq sequence number of the frame's first packet
   * @param count packets in the frame (0 for a heartbeat, which still moves nothing forward)
   * @param recordMs capture time of the frame's first record, ms since the epoch (none for a
   *   heartbeat)
   */
  observe(senderId: bigint, firstSeq: bigint, count: number, recordMs?: number): SequenceVerdict {
    const end = firstSeq + BigInt(count);
    const nowMs = this.#now();
    let s = this.#senders.get(senderId);
    if (s === undefined) {
      s = {
        id: senderIdHex(senderId),
        firstSeq,
        nextSeq: end,
        frames: 1,
        packets: count,
        lost: 0,
        behind: 0,
        implausible: 0,
        seenMs: nowMs,
        recordMs,
      };
      this.#senders.set(senderId, s);
      if (this.#senders.size > this.#maxSenders) {
        this.#senders.delete(this.#senders.keys().next().value!);
      }
      return { lost: 0, newSender: true, behind: false, implausible: false };
    }
    if (firstSeq > s.nextSeq) {
      const elapsedMs = Math.max(nowMs - s.seenMs, nowMs - (s.recordMs ?? nowMs), 0);
      const allowed = SEQUENCE_JUMP_SLACK + (SEQUENCE_MAX_PPS * elapsedMs) / 1000;
      if (Number(firstSeq - s.nextSeq) > allowed) {
        s.implausible++;
        return { lost: 0, newSender: false, behind: false, implausible: true };
      }
    }
    // Map order is insertion order: re-insert so the oldest entry is the least recently seen.
    this.#senders.delete(senderId);
    this.#senders.set(senderId, s);
    s.frames++;
    s.packets += count;
    s.seenMs = nowMs;
    if (recordMs !== undefined) s.recordMs = recordMs;
    if (firstSeq < s.nextSeq) {
      s.behind++;
      if (end > s.nextSeq) s.nextSeq = end;
      return { lost: 0, newSender: false, behind: true, implausible: false };
    }
    const gap = Number(firstSeq - s.nextSeq);
    s.lost += gap;
    s.nextSeq = end;
    return { lost: gap, newSender: false, behind: false, implausible: false };
  }

  /** Snapshot of every remembered sender, least recently seen first. */
  senders(): SenderStats[] {
    return [...this.#senders.values()].map((s) => ({
      id: s.id,
      firstSeq: s.firstSeq,
      nextSeq: s.nextSeq,
      frames: s.frames,
      packets: s.packets,
      lost: s.lost,
      behind: s.behind,
      implausible: s.implausible,
    }));
  }

  /** Sum of `lost` over remembered senders. */
  get totalLost(): number {
    let n = 0;
    for (const s of this.#senders.values()) n += s.lost;
    return n;
  }
}

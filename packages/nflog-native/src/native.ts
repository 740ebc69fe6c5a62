/**
 * The one place that loads the compiled addon (`nflog_native.node`) and types
 * its surface. Everything else imports from here, never the `.node` file.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { NflogError } from './errors.js';
import type { NflogAccount } from './nflog-account.js';

/** Counters kept by the C side (see NflogStats for their meaning). */
export interface NativeStats {
  packets: number;
  bytes: number;
  truncated: number;
  malformed: number;
  kernelDropped: number;
  checksumsFixed: number;
  checksumsIncomplete: number;
  orderLate: number;
  orderForced: number;
  held: number;
  batches: number;
  enobufs: number;
  datagrams: number;
}

/** Values as sent to the kernel (already validated and converted in TS). */
export interface NativeConfig {
  copyRange: number;
  nlbufsiz: number;
  qthresh: number;
  /** NFULA_CFG_TIMEOUT, in 1/100 s. */
  timeoutCs: number;
  /** 0 leaves the system default. */
  rcvbufBytes: number;
  linktype: 101 | 239;
  /** 1: complete the checksums of locally generated packets. */
  wireChecksums: 0 | 1;
  /** What the index's flow hash keys on: 0 the 5-tuple, 1 the addresses (nl_flow.h NLF_KEY_*). */
  flowKey: 0 | 1;
  /** 1: hold and release records in NFULA_SEQ_GLOBAL order (several groups). */
  merge: 0 | 1;
  /** The merge's hold, ms (see nl_merge.h). */
  holdMs: number;
  /** 1: pass raw datagrams as the 5th callback argument (tests only). */
  debugRaw: 0 | 1;
  /** Capacity of the accounting table (keys); 0 = no accounting. */
  accountMaxSeries: number;
}

/** What a failed native call reports instead of throwing. */
export interface NativeFailure {
  errno: number;
  syscall: string;
  /** The group being configured, or -1. */
  group: number;
}

/**
 * Called once per readable event (or hold deadline) that has something to
 * say. `buffer` holds `count` records in its first `recordsBytes` bytes, then
 * their index entries. `errno` is non-zero when reading failed for good (the
 * handle stopped polling); `raw` only with debugRaw.
 */
export type NativeBatchCallback = (
  buffer: Buffer,
  count: number,
  recordsBytes: number,
  errno: number,
  raw: Buffer | undefined,
) => void;

/** An open netlink socket. Every method is a safe no-op after close(). */
export interface NativeHandle {
  close(): void;
  ref(): void;
  unref(): void;
  pause(): void;
  /** Returns 0 or a positive errno. */
  resume(): number;
  /**
   * Drain now, from JS (delivers datagrams stashed during open or unbind, then at most one
   * capped round of the socket); returns the datagrams handed over, 0 when nothing waited. A
   * paused handle is only read with `evenPaused`.
   */
  drain(evenPaused?: boolean): number;
  /**
   * NFULNL_CFG_CMD_UNBIND for every group (the kernel sends each pending batch first; they are
   * stashed for the next drain()). Undefined on success, else the first failure.
   */
  unbind(): NativeFailure | undefined;
  /** Drain until empty (bounded), then release everything the merge holds. */
  flush(): void;
  stats(): NativeStats;
  info(): { portid: number; rcvbufBytes: number; rcvbufForced: 0 | 1 };
  /** The accounting table and per-group drops (still readable after close). */
  account(): NflogAccount;
}

/** The walker's counters (and the merge's) as the addon reports them. */
export type NativeCounts = Omit<NativeStats, 'batches' | 'enobufs' | 'datagrams'>;

/** One batch as the addon makes it: records, then index entries. */
export interface NativeBatch {
  buffer: Buffer;
  count: number;
  recordsBytes: number;
}

/** Result of running the C walker over a recorded buffer. */
export type NativeParseResult = NativeCounts & NativeBatch & { account: NflogAccount };

/** One drain of replayNflog. */
export interface NativeReplayEvent {
  datagram?: Buffer;
  nowMs: number;
  recvMs?: number;
  wallSec?: number;
  wallUsec?: number;
  empty?: 0 | 1;
  flush?: 0 | 1;
}

/** Configuration of parseNflogMessages / replayNflog. */
export interface NativeWalkConfig {
  linktype: number;
  wireChecksums: 0 | 1;
  /** nl_flow.h NLF_KEY_*: 0 the 5-tuple (default), 1 the addresses. */
  flowKey?: 0 | 1;
  /** parseNflogMessages: capacity of an accounting table (0 or absent: none). */
  accountMaxSeries?: number;
}

/** The addon's exports. */
export interface NativeBinding {
  open(
    groups: number[],
    config: NativeConfig,
    onBatch: NativeBatchCallback,
  ): NativeHandle | NativeFailure;
  parseNflogMessages(buf: Buffer, config: NativeWalkConfig): NativeParseResult;
  replayNflog(
    events: NativeReplayEvent[],
    config: NativeWalkConfig & { merge: 0 | 1; holdMs: number; groups: number[] },
  ): NativeCounts & { batches: NativeBatch[] };
  /**
   * One read's records grouped by the shard `table[flowHash >>> 16]` names (nl_shard.c); fills
   * perShard with [count, bytes] per shard. Throws RangeError (code ERR_OUT_OF_RANGE for bad
   * arguments, ERR_NFLOG_BAD_INDEX when the index does not match the records).
   */
  groupByShard(
    records: Buffer,
    index: Buffer,
    table: Uint8Array,
    shards: number,
    perShard: Uint32Array,
  ): Buffer;
  /** prctl: no_new_privs, then every capability out of the bounding set (nl_privs.c). */
  lockPrivileges(): NativeFailure | undefined;
}

/** True when open() returned a failure record rather than a handle. */
export function isNativeFailure(v: NativeHandle | NativeFailure): v is NativeFailure {
  return typeof (v as NativeFailure).errno === 'number';
}

/** Paths tried in order: the normal build, then `build:native:debug`. */
export const NATIVE_ADDON_PATHS: readonly string[] = ['Release', 'Debug'].map((dir) =>
  fileURLToPath(new URL(`../../build/${dir}/nflog_native.node`, import.meta.url)),
);

function loadNative(): NativeBinding {
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const path of NATIVE_ADDON_PATHS) {
    try {
      return require(path) as NativeBinding;
    } catch (err) {
      failures.push(`${path}: ${(err as Error).message.split('\n')[0] ?? ''}`);
    }
  }
  throw new NflogError(
    'ERR_NFLOG_NATIVE_LOAD',
    `nflog-native: cannot load the addon (not built: in a checkout run "npm run build:native -w @nflog-pipe/nflog-native", an installed package "npm rebuild -g nflog-pipe"); tried ${failures.join('; ')}`,
  );
}

let binding: NativeBinding | undefined;

/** The addon, loaded on first use. @throws NflogError ERR_NFLOG_NATIVE_LOAD listing both paths. */
export function native(): NativeBinding {
  binding ??= loadNative();
  return binding;
}

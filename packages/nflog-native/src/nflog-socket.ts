/**
 * NflogSocket: NFLOG groups read through the native addon, with defaults,
 * validation and warnings for values the kernel would clamp or ignore.
 */
import { NflogError } from './errors.js';
import { flowKeyCode, type NflogFlowKey } from './flow-key.js';
import { readNamespaceId } from './namespace-id.js';
import { isNativeFailure, native, type NativeConfig, type NativeHandle } from './native.js';
import { NFLOG_ACCOUNT_MAX_SERIES, type NflogAccount } from './nflog-account.js';

/** Largest per-group batch the kernel accepts (NFULA_CFG_NLBUFSIZ); larger values are silently ignored. */
export const NFLOG_NLBUFSIZ_MAX_BYTES = 131072;
/** Smallest nlbufsiz we send: the kernel ignores values below its default (NLMSG_GOODSIZE, about 4 KiB). */
export const NFLOG_NLBUFSIZ_MIN_BYTES = 4096;
/** The kernel's copy-range cap (NFULNL_COPY_RANGE_MAX = 0xffff - NLA_HDRLEN). */
export const NFLOG_COPY_RANGE_MAX_BYTES = 65531;
/** Unit of NFULA_CFG_TIMEOUT: 1/100 s. */
export const NFLOG_TIMEOUT_UNIT_MS = 10;
/** Largest SO_RCVBUFFORCE request the kernel honours (it doubles the value into an int). */
export const NFLOG_RCVBUF_MAX_BYTES = 0x3fffffff;
/** Most groups one socket binds. */
export const NFLOG_MAX_GROUPS = 32;
/**
 * Most capped drain rounds one {@link NflogSocket.drain} runs. After unbind() nothing new
 * arrives, so the socket empties long before; the bound only keeps a socket that is still bound
 * and fed faster than it is read from holding the caller for ever.
 */
const NFLOG_DRAIN_MAX_ROUNDS = 65536;
/**
 * What the kernel-order hold adds to the flush timeout, ms: a kernel batch timer fires up to one
 * jiffy late (10 ms at HZ=100, the coarsest), plus softirq and scheduling delay.
 */
export const NFLOG_ORDER_HOLD_SLACK_MS = 20;

/** Defaults for NflogSocketOptions. */
export const NFLOG_DEFAULTS = {
  copyRangeBytes: 65535,
  nlbufsizBytes: NFLOG_NLBUFSIZ_MAX_BYTES,
  qthresh: 1024,
  timeoutMs: 10,
  rcvbufBytes: 64 * 1024 * 1024,
  linktype: 101,
} as const;

/** Options of NflogSocket.open(). */
export interface NflogSocketOptions {
  /** NFLOG groups to bind (0..65535, 1 to 32 distinct). Each maps to NFULNL_CFG_CMD_BIND. */
  groups: readonly number[];
  /**
   * Bytes of each packet to copy (NFULA_CFG_MODE copy_range, copy mode
   * NFULNL_COPY_PACKET). Default 65535; the kernel caps it at 65531 (a
   * warning is added when a larger value is asked for explicitly). An nft
   * `log ... snaplen N` overrides it per rule.
   */
  copyRangeBytes?: number;
  /**
   * Kernel batch size per group (NFULA_CFG_NLBUFSIZ), bytes. Default and
   * maximum 131072; the kernel silently ignores larger values (we clamp and
   * warn) and values below its ~4 KiB default (we raise to 4096 and warn).
   */
  nlbufsizBytes?: number;
  /** Packets per kernel batch before it is flushed (NFULA_CFG_QTHRESH). Default 1024. An nft `queue-threshold` overrides it per rule. */
  qthresh?: number;
  /**
   * Longest time a partial batch waits in the kernel (NFULA_CFG_TIMEOUT),
   * ms. Default 10. The kernel counts in 1/100 s, so values are rounded up
   * to a multiple of 10 (warned); 0 flushes on the next timer tick.
   */
  timeoutMs?: number;
  /**
   * Socket receive buffer (SO_RCVBUFFORCE, bytes; the kernel doubles it).
   * Default 64 MiB. 0 keeps the system default. Without CAP_NET_ADMIN it
   * falls back to SO_RCVBUF, capped by net.core.rmem_max (warned).
   */
  rcvbufBytes?: number;
  /** 101 (raw IP, default) or 239 (LINKTYPE_NFLOG: pseudo-header + all NFLOG TLVs). */
  linktype?: 101 | 239;
  /**
   * `'wire'` (default): complete the IPv4 header, TCP, UDP and ICMPv6 checksums of locally
   * generated packets (no input interface, output or postrouting hook), which checksum offload
   * leaves partial, as the NIC will put them on the wire. Received and forwarded packets are never
   * touched. `'as-logged'`: every packet as the kernel logged it.
   */
  checksums?: 'wire' | 'as-logged';
  /**
   * What each record's flow hash (its index entry's FLOW_HASH, README "Flow hash") keys on:
   * `'5tuple'` (default) the addresses, protocol and ports, `'2tuple'` the addresses only.
   */
  flowKey?: NflogFlowKey;
  /**
   * With several groups, records are delivered in NFULA_SEQ_GLOBAL order: a record is held until
   * every group has delivered one at least as new, or for this long (ms) once the socket was read
   * empty. Default: the flush timeout + {@link NFLOG_ORDER_HOLD_SLACK_MS}. One group: no hold.
   */
  orderHoldMs?: number;
  /**
   * Accounting by rule: the walker counts packets and IP bytes per (group, NFULA_PREFIX) in a
   * table of this many keys (allocated once; packets of further keys go to its `other` bucket),
   * read with account(). 0 (default) = off. At most NFLOG_ACCOUNT_MAX_SERIES.
   */
  accountMaxSeries?: number;
  /** Called with a fatal read error (the socket stops reading). Without it the error is thrown as an uncaught exception. */
  onError?: (err: NflogError) => void;
  /** Test-only: receives each wakeup's raw netlink datagrams, each prefixed by a u32 LE length. */
  onRawDatagrams?: (raw: Buffer) => void;
}

/**
 * Called with each batch: a fresh Buffer of `count` pcap records (LE headers, microseconds), in
 * kernel order, and `index`, their `count` index entries (16 bytes each, README "Record index";
 * {@link NFLOG_INDEX}). Both are views of one Buffer per read.
 */
export type NflogBatchHandler = (records: Buffer, count: number, index: Buffer) => void;

/** Counters of an NflogSocket, since open. */
export interface NflogStats {
  /** Records delivered. */
  packets: number;
  /** Sum of incl_len of the delivered records (bytes after the 16-byte record headers). */
  bytes: number;
  /** onBatch calls. */
  batches: number;
  /** ENOBUFS from recv(): overrun episodes (the kernel reports one per episode, not per packet). */
  enobufs: number;
  /** Packets the kernel logged but dropped before we read them, exact, from NFULA_SEQ gaps per group. */
  kernelDropped: number;
  /** Records with incl_len < orig_len (copy range, snaplen or NFLOG's 65531-byte limit cut them). */
  truncated: number;
  /** Locally generated records whose checksums were completed (`checksums: 'wire'`). */
  checksumsFixed: number;
  /** Locally generated records whose checksums could not be completed (cut, fragments): as logged. */
  checksumsIncomplete: number;
  /** Records delivered after a newer one (kernel order broken: a hold too short, or forced). */
  orderLate: number;
  /** Records released before their hold ended because the hold store was full. */
  orderForced: number;
  /** Records read and held for kernel order, not delivered yet. */
  held: number;
  /** Netlink messages skipped for impossible lengths. */
  malformed: number;
  /** Netlink datagrams read. */
  datagrams: number;
}

function fail(message: string): never {
  throw new NflogError('ERR_NFLOG_INVALID_OPTION', message);
}

function intOption(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail(`${name} must be an integer in ${min}..${max}, got ${String(v)}`);
  }
  return v;
}

/** Validate options, apply defaults, and note what the kernel would clamp. */
function resolveConfig(options: NflogSocketOptions): {
  groups: number[];
  config: NativeConfig;
  warnings: string[];
} {
  const warnings: string[] = [];
  if (!Array.isArray(options.groups) || options.groups.length === 0)
    fail('groups must be a non-empty array');
  if (options.groups.length > NFLOG_MAX_GROUPS) fail(`at most ${NFLOG_MAX_GROUPS} groups`);
  const groups = options.groups.map((g) => intOption('group', g, 0, 65535));
  if (new Set(groups).size !== groups.length) fail('groups must be distinct');

  let copyRange = intOption(
    'copyRangeBytes',
    options.copyRangeBytes ?? NFLOG_DEFAULTS.copyRangeBytes,
    1,
    0xffffffff,
  );
  if (copyRange > NFLOG_COPY_RANGE_MAX_BYTES) {
    if (options.copyRangeBytes !== undefined) {
      warnings.push(
        `copyRangeBytes ${copyRange} clamped to ${NFLOG_COPY_RANGE_MAX_BYTES} (kernel NFULNL_COPY_RANGE_MAX)`,
      );
    }
    copyRange = NFLOG_COPY_RANGE_MAX_BYTES;
  }

  let nlbufsiz = intOption(
    'nlbufsizBytes',
    options.nlbufsizBytes ?? NFLOG_DEFAULTS.nlbufsizBytes,
    1,
    0xffffffff,
  );
  if (nlbufsiz > NFLOG_NLBUFSIZ_MAX_BYTES) {
    warnings.push(
      `nlbufsizBytes ${nlbufsiz} clamped to ${NFLOG_NLBUFSIZ_MAX_BYTES} (the kernel ignores larger values)`,
    );
    nlbufsiz = NFLOG_NLBUFSIZ_MAX_BYTES;
  } else if (nlbufsiz < NFLOG_NLBUFSIZ_MIN_BYTES) {
    warnings.push(
      `nlbufsizBytes ${nlbufsiz} raised to ${NFLOG_NLBUFSIZ_MIN_BYTES} (the kernel ignores smaller values)`,
    );
    nlbufsiz = NFLOG_NLBUFSIZ_MIN_BYTES;
  }

  const qthresh = intOption('qthresh', options.qthresh ?? NFLOG_DEFAULTS.qthresh, 1, 0xffffffff);

  const timeoutMs = options.timeoutMs ?? NFLOG_DEFAULTS.timeoutMs;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
    fail(`timeoutMs must be a number >= 0, got ${String(timeoutMs)}`);
  }
  const timeoutCs = Math.min(Math.ceil(timeoutMs / NFLOG_TIMEOUT_UNIT_MS), 0xffffffff);
  if (timeoutCs * NFLOG_TIMEOUT_UNIT_MS !== timeoutMs) {
    warnings.push(
      `timeoutMs ${timeoutMs} rounded up to ${timeoutCs * NFLOG_TIMEOUT_UNIT_MS} (kernel unit 1/100 s)`,
    );
  }

  let rcvbufBytes = intOption(
    'rcvbufBytes',
    options.rcvbufBytes ?? NFLOG_DEFAULTS.rcvbufBytes,
    0,
    Number.MAX_SAFE_INTEGER,
  );
  if (rcvbufBytes > NFLOG_RCVBUF_MAX_BYTES) {
    warnings.push(
      `rcvbufBytes ${rcvbufBytes} clamped to ${NFLOG_RCVBUF_MAX_BYTES} (SO_RCVBUFFORCE limit)`,
    );
    rcvbufBytes = NFLOG_RCVBUF_MAX_BYTES;
  }

  const accountMaxSeries = intOption(
    'accountMaxSeries',
    options.accountMaxSeries ?? 0,
    0,
    NFLOG_ACCOUNT_MAX_SERIES,
  );

  const linktype = options.linktype ?? NFLOG_DEFAULTS.linktype;
  if (linktype !== 101 && linktype !== 239)
    fail(`linktype must be 101 or 239, got ${String(linktype)}`);
  const checksums = options.checksums ?? 'wire';
  if (checksums !== 'wire' && checksums !== 'as-logged')
    fail(`checksums must be 'wire' or 'as-logged', got ${String(checksums)}`);
  const flowKey = flowKeyCode(options.flowKey);
  const holdMs = intOption(
    'orderHoldMs',
    options.orderHoldMs ?? timeoutCs * NFLOG_TIMEOUT_UNIT_MS + NFLOG_ORDER_HOLD_SLACK_MS,
    0,
    0xffffffff,
  );

  return {
    groups,
    config: {
      copyRange,
      nlbufsiz,
      qthresh,
      timeoutCs,
      rcvbufBytes,
      linktype,
      wireChecksums: checksums === 'wire' ? 1 : 0,
      flowKey,
      merge: groups.length > 1 ? 1 : 0,
      holdMs,
      debugRaw: options.onRawDatagrams ? 1 : 0,
      accountMaxSeries,
    },
    warnings,
  };
}

/**
 * NFLOG groups read from one raw NETLINK_NETFILTER socket. The socket is
 * watched on the event loop; each readable event drains it (bounded work)
 * and calls `onBatch` once with one Buffer of pcap records and their index.
 * Records come in kernel order (NFULA_SEQ_GLOBAL) across the groups.
 */
export class NflogSocket {
  /**
   * Requested values the kernel would clamp or ignore, one sentence each. The socket is the one
   * place that knows the kernel's limits: callers pass what was asked for (the sender passes its
   * flags unclamped) and log these, rather than clamping again.
   */
  readonly warnings: readonly string[];
  /** Groups bound, in bind order. */
  readonly groups: readonly number[];
  /** Linktype of the records: 101 (raw IP) or 239 (NFLOG). */
  readonly linktype: 101 | 239;
  /** Receive buffer the kernel granted (SO_RCVBUF read back, i.e. doubled), bytes. */
  readonly rcvbufBytes: number;
  /**
   * The flush timeout the kernel applies (NFULA_CFG_TIMEOUT after rounding up to 1/100 s), ms:
   * a packet logged now reaches the socket at the latest this long after (plus a timer tick).
   */
  readonly flushTimeoutMs: number;
  /**
   * The network namespace the socket reads ({@link readNamespaceId}: boot id + netns inode, 24
   * bytes): NFULA_SEQ_GLOBAL orders records of sockets with the same identity.
   */
  readonly namespaceId: Buffer;
  /** The kernel-order hold in ms, or 0 with one group (no merge). */
  readonly orderHoldMs: number;
  /** The kernel's flush timeout in force (NFULA_CFG_TIMEOUT), ms: timeoutMs rounded up to 10. */
  readonly timeoutMs: number;
  #handle: NativeHandle | null;
  #failed: NflogError | null = null;

  private constructor(
    handle: NativeHandle,
    groups: number[],
    config: NativeConfig,
    warnings: string[],
    namespaceId: Buffer,
  ) {
    this.#handle = handle;
    this.flushTimeoutMs = config.timeoutCs * NFLOG_TIMEOUT_UNIT_MS;
    this.groups = Object.freeze(groups);
    this.linktype = config.linktype;
    this.orderHoldMs = config.merge ? config.holdMs : 0;
    this.timeoutMs = config.timeoutCs * NFLOG_TIMEOUT_UNIT_MS;
    this.rcvbufBytes = handle.info().rcvbufBytes;
    this.warnings = Object.freeze(warnings);
    this.namespaceId = namespaceId;
  }

  /**
   * Open a netlink socket, bind `options.groups` in copy-packet mode and
   * start reading. Needs CAP_NET_ADMIN (only for this call).
   * @throws NflogError `ERR_NFLOG_INVALID_OPTION` for bad options; errno codes
   *   from the kernel: `EPERM` (no CAP_NET_ADMIN, or the group is bound by
   *   another socket - see `syscall`), `EPROTONOSUPPORT`/`ENOENT` (no NFLOG
   *   support), ...; `ERR_NFLOG_NATIVE_LOAD` if the addon is not built.
   */
  static open(options: NflogSocketOptions, onBatch: NflogBatchHandler): NflogSocket {
    if (typeof onBatch !== 'function') fail('onBatch must be a function');
    const { groups, config, warnings } = resolveConfig(options);
    const { onError, onRawDatagrams } = options;
    // Read before the socket exists: it is this process's namespace, where the socket is made.
    const namespaceId = readNamespaceId();
    // Filled in right after open; the callback never runs before that (it is
    // only called from the event loop or from drain()).
    let self: NflogSocket | undefined;
    const result = native().open(groups, config, (buffer, count, recordsBytes, errno, raw) => {
      if (raw !== undefined && onRawDatagrams) onRawDatagrams(raw);
      // Two views of the one Buffer of this read: the records, then their index entries.
      if (count > 0)
        onBatch(buffer.subarray(0, recordsBytes), count, buffer.subarray(recordsBytes));
      if (errno !== 0 && self !== undefined)
        self.#fail(NflogError.fromErrno(errno, 'recv'), onError);
    });
    if (isNativeFailure(result))
      throw NflogError.fromErrno(result.errno, result.syscall, result.group);
    const rcvbufAsked = config.rcvbufBytes;
    const info = result.info();
    if (rcvbufAsked > 0 && info.rcvbufBytes < rcvbufAsked * 2) {
      warnings.push(
        `rcvbufBytes ${rcvbufAsked} capped at ${info.rcvbufBytes / 2}` +
          (info.rcvbufForced
            ? ''
            : ' (no CAP_NET_ADMIN for SO_RCVBUFFORCE; net.core.rmem_max applies)'),
      );
    }
    self = new NflogSocket(result, groups, config, warnings, namespaceId);
    self.#scheduleDrain();
    return self;
  }

  // Datagrams that arrived while open() waited for config acks were stashed
  // by the C side; deliver them without waiting for the next readable event.
  #scheduleDrain(): void {
    setImmediate(() => this.#handle?.drain());
  }

  #fail(err: NflogError, onError: ((err: NflogError) => void) | undefined): void {
    this.#failed = err;
    if (onError) onError(err);
    else throw err;
  }

  #live(): NativeHandle {
    if (this.#handle === null) throw new NflogError('ERR_NFLOG_CLOSED', 'NflogSocket is closed');
    return this.#handle;
  }

  /** True after close(). */
  get closed(): boolean {
    return this.#handle === null;
  }

  /** The fatal read error, if reading stopped on one. */
  get error(): NflogError | null {
    return this.#failed;
  }

  /** Counters since open. @throws NflogError ERR_NFLOG_CLOSED after close(). */
  stats(): NflogStats {
    const s = this.#live().stats();
    return {
      packets: s.packets,
      bytes: s.bytes,
      batches: s.batches,
      enobufs: s.enobufs,
      kernelDropped: s.kernelDropped,
      truncated: s.truncated,
      malformed: s.malformed,
      datagrams: s.datagrams,
      checksumsFixed: s.checksumsFixed,
      checksumsIncomplete: s.checksumsIncomplete,
      orderLate: s.orderLate,
      orderForced: s.orderForced,
      held: s.held,
    };
  }

  /**
   * The accounting by rule (accountMaxSeries) and the per-group kernel drops, cumulative since
   * open: one native call that builds the snapshot, meant for each export (a scrape, a statsd
   * flush), never per batch. @throws NflogError ERR_NFLOG_CLOSED after close().
   */
  account(): NflogAccount {
    return this.#live().account();
  }

  /**
   * Reads what the socket holds now (bounded: at most 16 drains) and hands every record the
   * kernel-order merge still holds to `onBatch`, synchronously, before returning. For a stop:
   * the last records then need not wait for their hold. @throws ERR_NFLOG_CLOSED
   */
  flush(): this {
    this.#live().flush();
    return this;
  }

  /** Keep the event loop alive while open (the default). @throws ERR_NFLOG_CLOSED */
  ref(): this {
    this.#live().ref();
    return this;
  }

  /** Let the process exit even though the socket is open. @throws ERR_NFLOG_CLOSED */
  unref(): this {
    this.#live().unref();
    return this;
  }

  /**
   * Stop reading. The kernel keeps queueing into the receive buffer; once it
   * is full, whole batches are dropped (later counted as enobufs and
   * kernelDropped). A paused socket does not keep the event loop alive.
   * @throws ERR_NFLOG_CLOSED
   */
  pause(): this {
    this.#live().pause();
    return this;
  }

  /** Start reading again after pause(). @throws NflogError ERR_NFLOG_CLOSED, or an errno code from uv_poll_start. */
  resume(): this {
    const errno = this.#live().resume();
    if (errno !== 0) throw NflogError.fromErrno(errno, 'uv_poll_start');
    this.#scheduleDrain();
    return this;
  }

  /**
   * Delivers everything queued now, synchronously through onBatch (datagrams stashed while
   * waiting for an ack first, then the socket until it is empty, in capped rounds); returns the
   * number of datagrams handed over. Reads even while paused. @throws ERR_NFLOG_CLOSED
   */
  drain(): number {
    const handle = this.#live();
    let total = 0;
    for (let round = 0; round < NFLOG_DRAIN_MAX_ROUNDS; round++) {
      const n = handle.drain(true);
      if (n === 0) break;
      total += n;
    }
    return total;
  }

  /**
   * Stop without losing what the kernel holds: NFULNL_CFG_CMD_UNBIND for every group, which
   * makes the kernel send the batch each group was still collecting (nfnetlink_log flushes an
   * instance as it destroys it, before the ack), then {@link drain}: every packet the kernel
   * logged for these groups is delivered through onBatch before this returns (with several
   * groups, what the kernel-order merge held too), and nothing is logged for them afterwards. close() alone loses those batches: the kernel flushes them to
   * a socket that is already gone. Needs CAP_NET_ADMIN now, not only at open.
   * @throws NflogError with the kernel's errno (`EPERM` once CAP_NET_ADMIN was dropped, e.g.
   *   after a switch to another user; the groups then stay bound and read as before), or
   *   ERR_NFLOG_CLOSED
   */
  unbind(): void {
    const handle = this.#live();
    // Empty the socket first, so the flushed batches find room in the receive buffer.
    this.drain();
    const failure = handle.unbind();
    this.drain();
    if (failure !== undefined)
      throw NflogError.fromErrno(failure.errno, failure.syscall, failure.group);
    // Nothing of these groups can come any more: what the kernel-order merge holds goes too.
    handle.flush();
  }

  /** Stop reading, close the socket (the kernel unbinds the groups). Safe to call twice. */
  close(): void {
    const handle = this.#handle;
    this.#handle = null;
    handle?.close();
  }
}

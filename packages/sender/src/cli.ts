// nflog-zmq-send: the option table, units converted at the edge, and main(), which starts the
// Sender engine, logs its counters and stops it cleanly on SIGTERM/SIGINT.

import { InvalidArgumentError, Option, type OptionValues } from 'commander';
import { addRateControlOptions, rateControlUsage, shaperOptionsFrom } from '@nflog-pipe/compress';
import {
  NFLOG_ACCOUNT_MAX_SERIES,
  NFLOG_DEFAULTS,
  NFLOG_FLOW_KEYS,
  NFLOG_MAX_GROUPS,
  NFLOG_MAX_SHARDS,
  NFLOG_NLBUFSIZ_MAX_BYTES,
  type NflogFlowKey,
} from '@nflog-pipe/nflog-native';
import {
  EXIT_OK,
  MIB,
  NO_PEER_WARN_MS,
  UsageError,
  addCurveClientOptions,
  addMetricsListenOption,
  addStatsdOptions,
  createProgram,
  curveClientFrom,
  parseGroups,
  parseMiB,
  parsePositiveInt,
  parseSeconds,
  runProgram,
  senderIdHex,
  startStatsLine,
  statsIntervalOption,
  validateEndpoint,
  withCliRuntime,
} from '@nflog-pipe/shared';
import { SenderError } from './errors.js';
import { lookupUser, type UserIds } from './privileges.js';
import { SEND_HEARTBEAT_INTERVAL_MS, type WireFormat } from './send-pipeline.js';
import { ACCOUNTING_DEFAULT_MAX_SERIES } from './rule-accounting.js';
import { SENDER_SHARD_FAILOVER_MS, Sender, type SenderStats } from './sender.js';
import type { ShardMode } from './shard-router.js';

/** Defaults of the CLI options, in the units the options take. */
export const SEND_DEFAULTS = {
  /** --libnflog-nlbufsiz, MiB: 128 KiB, the kernel's cap (the Python tool's 10 MiB was never honoured). */
  nlbufsizMiB: NFLOG_NLBUFSIZ_MAX_BYTES / MIB,
  /** --libnflog-qthresh, packets. */
  qthresh: 1024,
  /** --libnflog-timeout, seconds (kernel unit 1/100 s). */
  timeoutS: 0.01,
  /** --libnflog-copy-range, bytes: NflogSocket's default (the kernel caps it at 65531). */
  copyRangeBytes: NFLOG_DEFAULTS.copyRangeBytes,
  /** --libnflog-rcvbuf, MiB (SO_RCVBUFFORCE). */
  rcvbufMiB: 64,
  /**
   * --zmq-buffer with --wire v1, frames (ZMQ_SNDHWM): at most 64 MiB of 256 KiB frames; below
   * the size limit a frame is one --flush-interval of traffic, so ~2.5 s of it, the time a
   * receiver takes to restart.
   */
  zmqBufferFrames: 256,
  /**
   * --zmq-buffer with --wire legacy, in kernel batches per group: the queue is then counted in
   * packets, this many times --libnflog-qthresh (the most packets of one kernel batch) per group,
   * so a read of several batches at once (a burst, a short stall) fits many times over.
   */
  legacyZmqBufferBatches: 16,
  /** --zmq-sndbuf, MiB (ZMQ_SNDBUF): one default frame (--batch-bytes). */
  zmqSndbufMiB: 0.25,
  /** --zmq-linger, seconds. */
  zmqLingerS: 1,
  /** --batch-bytes, bytes. */
  batchBytes: 256 * 1024,
  /** --batch-packets, packets. */
  batchPackets: 4096,
  /**
   * --flush-interval, ms: as short as the kernel's own flush timeout, so below the size limits a
   * frame holds ~10 ms of traffic; a receiver that dies loses about what is in flight, a frame or
   * two (docs/operations.md, "What a receiver restart loses").
   */
  flushIntervalMs: 10,
  /** --stats-interval, seconds. */
  statsIntervalS: 60,
  /** --meta-interval, seconds. */
  metaIntervalS: 60,
  /** --heartbeat-interval, seconds. */
  heartbeatIntervalS: SEND_HEARTBEAT_INTERVAL_MS / 1000,
  /** --max-series, (group, prefix) pairs. */
  maxSeries: ACCOUNTING_DEFAULT_MAX_SERIES,
  /** --warn-no-receiver, seconds. */
  warnNoReceiverS: NO_PEER_WARN_MS / 1000,
  /** --shard-failover, seconds. */
  shardFailoverS: SENDER_SHARD_FAILOVER_MS / 1000,
} as const;

/** Most endpoints of one sender: each is a stream with its own queue, socket and sender id. */
export const SEND_MAX_ENDPOINTS = 64;

function nonNegativeInt(what: string): (v: string) => number {
  return (v) => {
    const s = v.trim();
    const n = Number(s);
    if (!/^\d+$/.test(s) || !Number.isSafeInteger(n))
      throw new InvalidArgumentError(`not a non-negative integer of ${what}: '${v}'`);
    return n;
  };
}

function nonNegativeIntMax(what: string, max: number): (v: string) => number {
  const parse = nonNegativeInt(what);
  return (v) => {
    const n = parse(v);
    if (n > max) throw new InvalidArgumentError(`at most ${max} ${what}: '${v}'`);
    return n;
  };
}

function positiveIntOf(what: string): (v: string) => number {
  return (v) => {
    try {
      return parsePositiveInt(v);
    } catch {
      throw new InvalidArgumentError(`not a positive integer of ${what}: '${v}'`);
    }
  };
}

/** Builds the commander program (exported for the option-table tests). */
export function buildProgram(): ReturnType<typeof createProgram> {
  const d = SEND_DEFAULTS;
  const program = createProgram(
    'nflog-zmq-send',
    'Read packets from NFLOG groups and push them to a ZeroMQ endpoint (never blocking: a full queue drops and counts).',
  )
    .argument(
      '<groups>',
      'comma-separated NFLOG groups to read, 0..65535 (e.g. 0,1)',
      (v: string) => parseGroups(v),
    )
    .argument(
      '<endpoints...>',
      'ZeroMQ endpoint(s) to connect a PUSH socket each to (e.g. tcp://10.0.0.1:5555, ipc:///run/x.sock); with several, see --shard',
    )
    .option(
      '-u, --user <name>',
      'user to switch to once the netlink socket is open, with no-new-privs and an empty capability bounding set (needs root)',
    )
    .addOption(
      new Option(
        '--libnflog-nlbufsiz <MiB>',
        `kernel batch size per group (NFULA_CFG_NLBUFSIZ), MiB; the kernel caps it at 0.125 (128 KiB) and larger values are clamped with a warning`,
      )
        .argParser(parseMiB)
        .default(Math.round(d.nlbufsizMiB * MIB), String(d.nlbufsizMiB)),
    )
    .addOption(
      new Option(
        '--libnflog-qthresh <packets>',
        'packets per kernel batch before it is sent (NFULA_CFG_QTHRESH)',
      )
        .argParser(positiveIntOf('packets'))
        .default(d.qthresh),
    )
    .addOption(
      new Option(
        '--libnflog-timeout <seconds>',
        'longest a partial kernel batch waits (NFULA_CFG_TIMEOUT, 1/100 s resolution), seconds',
      )
        .argParser(parseSeconds)
        .default(Math.round(d.timeoutS * 1000), String(d.timeoutS)),
    )
    .addOption(
      // No value default: left out, NflogSocket uses its own (the same 65535) and clamps it to
      // the kernel's 65531 quietly; a value given is clamped with a warning.
      new Option(
        '--libnflog-copy-range <bytes>',
        `bytes of each packet to copy (the kernel caps it at 65531; an nft "snaplen" overrides it) (default: ${d.copyRangeBytes})`,
      ).argParser(positiveIntOf('bytes')),
    )
    .addOption(
      new Option(
        '--libnflog-rcvbuf <MiB>',
        'netlink socket receive buffer (SO_RCVBUFFORCE), MiB; what the kernel can hold while we are busy; 0 = system default',
      )
        .argParser(parseMiB)
        .default(d.rcvbufMiB * MIB, String(d.rcvbufMiB)),
    )
    .addOption(
      new Option(
        '--linktype <n>',
        'pcap linktype of the records: 101 raw IP, 239 NFLOG (all NFLOG TLVs; v1 wire only)',
      )
        .choices(['101', '239'])
        .default('101'),
    )
    .addOption(
      new Option(
        '--checksums <mode>',
        'wire: complete the IPv4, TCP, UDP and ICMPv6 checksums of locally generated packets (checksum offload leaves them partial) as they go on the wire; as-logged: every packet as the kernel logged it. Received and forwarded packets are never changed',
      )
        .choices(['wire', 'as-logged'])
        .default('wire'),
    )
    .addOption(
      // No value default: it depends on --wire (and, for legacy, on the groups and qthresh).
      new Option(
        '--zmq-buffer <messages>',
        `ZMQ_SNDHWM: messages queued before new ones are dropped; v1: frames; legacy: packets (default: ${d.zmqBufferFrames} frames with --wire v1; ${d.legacyZmqBufferBatches} × --libnflog-qthresh × groups packets with --wire legacy)`,
      ).argParser(positiveIntOf('messages')),
    )
    .addOption(
      new Option(
        '--zmq-sndbuf <MiB>',
        'ZMQ_SNDBUF: kernel send buffer of the connection, MiB; what it holds when a receiver dies is lost uncounted (the ZeroMQ queue is kept); raise it for links with a large rate × round-trip time; 0 = OS default (TCP autotunes it to several MiB)',
      )
        .argParser(parseMiB)
        .default(d.zmqSndbufMiB * MIB, String(d.zmqSndbufMiB)),
    )
    .addOption(
      new Option(
        '--zmq-linger <seconds>',
        'at exit, how long queued messages may still be delivered (ZMQ_LINGER), seconds',
      )
        .argParser(parseSeconds)
        .default(d.zmqLingerS * 1000, String(d.zmqLingerS)),
    )
    .addOption(
      new Option(
        '--wire <format>',
        "wire format: v1 (frames) or legacy (one XDR message per packet, the Python tool's)",
      )
        .choices(['v1', 'legacy'])
        .default('v1'),
    )
    .option(
      '--no-wire-order',
      'v1: frames without the kernel-order section (namespace identity and NFULA_SEQ_GLOBAL per packet), for receivers and relays that predate it and count such frames as bad',
    )
    .addOption(
      new Option(
        '--batch-bytes <bytes>',
        'largest records section of one v1 frame, bytes (one larger packet still gets a frame)',
      )
        .argParser(positiveIntOf('bytes'))
        .default(d.batchBytes),
    )
    .addOption(
      new Option('--batch-packets <packets>', 'most packets in one v1 frame')
        .argParser(positiveIntOf('packets'))
        .default(d.batchPackets),
    )
    .addOption(
      new Option(
        '--flush-interval <ms>',
        'a partial v1 batch is sent this long after its first packet, ms (0: after every kernel read)',
      )
        .argParser(nonNegativeInt('ms'))
        .default(d.flushIntervalMs),
    )
    .addOption(statsIntervalOption(d.statsIntervalS))
    .addOption(
      new Option(
        '--meta-interval <seconds>',
        'v1: sender metadata (host, pid, groups, drop counts) rides in the first frame and then once per this period, seconds (0: first frame only)',
      )
        .argParser(parseSeconds)
        .default(d.metaIntervalS * 1000, String(d.metaIntervalS)),
    )
    .addOption(
      new Option(
        '--heartbeat-interval <seconds>',
        'v1: after packets were dropped here, an empty frame at most once per this period tells the receiver the sequence number reached, so it counts the drops (one is also sent at exit), seconds (0: only at exit)',
      )
        .argParser(parseSeconds)
        .default(d.heartbeatIntervalS * 1000, String(d.heartbeatIntervalS)),
    )
    .addOption(
      // No value default: it depends on the number of endpoints (one: no sharding at all).
      new Option(
        '--shard <mode>',
        'with several endpoints: flow = each flow (both directions) to one of them, chosen by a hash of its addresses and ports and the endpoint strings, so every sender with the same list agrees; duplicate = every packet to every one (default: flow)',
      ).choices(['flow', 'duplicate']),
    )
    .addOption(
      new Option(
        '--shard-key <key>',
        '--shard flow: what a flow is: 5tuple = addresses, protocol and ports (fragments by addresses and protocol); 2tuple = the two addresses (every packet between two hosts together, fragments included)',
      )
        .choices([...NFLOG_FLOW_KEYS])
        .default('5tuple'),
    )
    .addOption(
      new Option(
        '--shard-failover <seconds>',
        '--shard flow: a shard with no receiver connected (or its queue full) this long is taken out and only its flows move to the others; connected again this long, its flows return, seconds (0: never)',
      )
        .argParser(parseSeconds)
        .default(d.shardFailoverS * 1000, String(d.shardFailoverS)),
    )
    .addOption(
      new Option(
        '--warn-no-receiver <seconds>',
        'warn when no receiver has been connected for this long (once per spell), seconds (0: never)',
      )
        .argParser(parseSeconds)
        .default(d.warnNoReceiverS * 1000, String(d.warnNoReceiverS)),
    );
  addRateControlOptions(program);
  addCurveClientOptions(program);
  addStatsdOptions(program);
  addMetricsListenOption(program);
  program
    .addOption(
      new Option(
        '--max-series <n>',
        `with --metrics-listen: distinct (group, log prefix) pairs counted in nflog_pipe_logged_*_total; packets of further ones count as group="other"; 0 = no accounting`,
      )
        .argParser(nonNegativeIntMax('series', NFLOG_ACCOUNT_MAX_SERIES))
        .default(d.maxSeries),
    )
    .option(
      '--prefix-labels',
      'with --metrics-listen: a log prefix written as key=value;key=value becomes those labels instead of prefix="..."',
      false,
    );
  return program;
}

/** Parsed option values, after the argParsers ran. */
interface SendOptions extends OptionValues {
  user?: string;
  libnflogNlbufsiz: number;
  libnflogQthresh: number;
  libnflogTimeout: number;
  libnflogCopyRange?: number;
  libnflogRcvbuf: number;
  linktype: '101' | '239';
  zmqBuffer?: number;
  zmqSndbuf: number;
  checksums: 'wire' | 'as-logged';
  wireOrder: boolean;
  warnNoReceiver: number;
  zmqLinger: number;
  wire: WireFormat;
  batchBytes: number;
  batchPackets: number;
  flushInterval: number;
  statsInterval: number;
  metaInterval: number;
  heartbeatInterval: number;
  maxSeries: number;
  prefixLabels: boolean;
  shard?: ShardMode;
  shardKey: NflogFlowKey;
  shardFailover: number;
}

/**
 * The counters of the periodic `stats` line and the final `stopped` line. `queued`: accepted
 * into the ZeroMQ queue, which is not delivered (a receiver that is away takes nothing).
 */
function countsLine(s: SenderStats): Record<string, number> {
  return {
    captured: s.read,
    queued: s.sent,
    dropped_queue: s.droppedQueue,
    dropped_kernel: s.kernelDropped,
    dropped_shaper: s.droppedShaper,
    enobufs: s.enobufs,
    messages: s.sentMessages,
    heartbeats: s.heartbeats,
    bytes_queued: s.sentBytes,
    truncated: s.truncated,
    checksums_fixed: s.checksumsFixed,
    order_late: s.orderLate,
    connected: s.shards.filter((x) => x.connected).length,
  };
}

/**
 * With several endpoints, the stats and stopped lines add each shard's counters,
 * `per_shard=N:routed/queued/dropped_queue/dropped_shaper/in|out,...`, and `shard_moves` (its
 * failovers out and back, all shards).
 */
function shardsLine(s: SenderStats): Record<string, number | string> {
  if (s.shards.length < 2) return {};
  return {
    per_shard: s.shards
      .map(
        (x) =>
          `${x.shard}:${x.routed}/${x.sent}/${x.droppedQueue}/${x.droppedShaper}/${x.live ? 'in' : 'out'}`,
      )
      .join(','),
    shard_moves: s.shards.reduce((n, x) => n + x.movedOut + x.movedIn, 0),
  };
}

/** The stats and stopped lines' fields. */
function summaryLine(s: SenderStats): Record<string, number | string> {
  return { ...countsLine(s), ...shardsLine(s) };
}

/**
 * --zmq-buffer when not given: v1 counts frames; legacy counts packets, enough for
 * SEND_DEFAULTS.legacyZmqBufferBatches kernel batches of every group (a kernel batch holds at
 * most --libnflog-qthresh packets).
 */
function defaultZmqBuffer(wire: WireFormat, qthresh: number, groups: readonly number[]): number {
  if (wire === 'v1') return SEND_DEFAULTS.zmqBufferFrames;
  return SEND_DEFAULTS.legacyZmqBufferBatches * qthresh * groups.length;
}

function lookupUserOrUsage(name: string): UserIds {
  try {
    return lookupUser(name);
  } catch (err) {
    if (err instanceof SenderError && err.code === 'ERR_SENDER_UNKNOWN_USER')
      throw new UsageError(`-u: ${err.message}`);
    throw err;
  }
}

/** What Sender.start rejects with that is the command line's fault: exit 2, not 1. */
function startUsage(err: unknown): unknown {
  if (err instanceof SenderError && err.code === 'ERR_SENDER_CONNECT')
    return new UsageError(err.message, { cause: err });
  return rateControlUsage(err);
}

/**
 * Runs `nflog-zmq-send` with the user arguments `argv` (as process.argv.slice(2)); resolves to
 * the exit code: 0 after a clean SIGTERM/SIGINT (or --help/--version), 1 on a runtime failure
 * (netlink open, privilege drop, fatal read error), 2 on bad usage. Never calls process.exit().
 */
export function main(argv: string[]): Promise<number> {
  return runProgram<SendOptions>(buildProgram(), argv, async ({ opts, logger, program }) => {
    const groups = program.processedArgs[0] as number[];
    const endpoints = (program.processedArgs[1] as string[]).map((e) => validateEndpoint(e));
    if (endpoints.length > Math.min(SEND_MAX_ENDPOINTS, NFLOG_MAX_SHARDS))
      throw new UsageError(`at most ${SEND_MAX_ENDPOINTS} endpoints, got ${endpoints.length}`);
    const repeated = endpoints.find((e, i) => endpoints.indexOf(e) !== i);
    if (repeated !== undefined) throw new UsageError(`endpoint ${repeated} is given twice`);
    const several = endpoints.length > 1;
    const shardMode: ShardMode = opts.shard ?? 'flow';
    if (groups.length > NFLOG_MAX_GROUPS)
      throw new UsageError(`at most ${NFLOG_MAX_GROUPS} NFLOG groups, got ${groups.length}`);
    const linktype = opts.linktype === '239' ? 239 : 101;
    if (opts.wire === 'legacy' && linktype !== 101)
      throw new UsageError('--wire legacy carries raw IP only (--linktype 101)');
    if (linktype === 101 && opts.libnflogCopyRange !== undefined && opts.libnflogCopyRange < 20)
      throw new UsageError(
        `--libnflog-copy-range ${opts.libnflogCopyRange} is shorter than an IPv4 header: every raw IP record would be a bad frame at the receiver (at least 20 bytes)`,
      );
    const rateControl = shaperOptionsFrom(opts) ?? undefined;
    const curve = curveClientFrom(opts) ?? undefined;
    const user = opts.user === undefined ? undefined : lookupUserOrUsage(opts.user);
    const log = logger.child({ component: 'sender' });
    const sendHighWaterMark =
      opts.zmqBuffer ?? defaultZmqBuffer(opts.wire, opts.libnflogQthresh, groups);
    const summary = await withCliRuntime(opts, logger, async ({ signals, metrics }) => {
      const sender = await Sender.start({
        groups,
        endpoints,
        shard: { mode: shardMode, failoverMs: opts.shardFailover },
        wire: opts.wire,
        linktype,
        wireOrder: opts.wireOrder,
        nflog: {
          ...(opts.libnflogCopyRange !== undefined
            ? { copyRangeBytes: opts.libnflogCopyRange }
            : {}),
          nlbufsizBytes: opts.libnflogNlbufsiz,
          qthresh: opts.libnflogQthresh,
          timeoutMs: opts.libnflogTimeout,
          rcvbufBytes: opts.libnflogRcvbuf,
          checksums: opts.checksums,
          flowKey: opts.shardKey,
        },
        noReceiverWarnMs: opts.warnNoReceiver,
        sendHighWaterMark,
        sendBufferBytes: opts.zmqSndbuf,
        lingerMs: opts.zmqLinger,
        batchBytes: opts.batchBytes,
        batchPackets: opts.batchPackets,
        flushIntervalMs: opts.flushInterval,
        metaIntervalMs: opts.metaInterval,
        heartbeatIntervalMs: opts.heartbeatInterval,
        rateControl,
        user,
        accountMaxSeries: opts.maxSeries,
        prefixLabels: opts.prefixLabels,
        curve,
        metrics,
        logger,
      }).catch((err: unknown) => {
        throw startUsage(err);
      });
      log.info('started', {
        groups: groups.join(','),
        ...(several
          ? {
              endpoints: endpoints.join(','),
              shard: shardMode,
              ...(shardMode === 'flow'
                ? { shard_key: opts.shardKey, shard_failover_s: opts.shardFailover / 1000 }
                : {}),
            }
          : { endpoint: endpoints[0] }),
        wire: opts.wire,
        zmq_buffer: sendHighWaterMark,
        wire_order: opts.wire === 'v1' && opts.wireOrder,
        checksums: opts.checksums,
        ...(several ? {} : { sender: senderIdHex(sender.senderId) }),
        rate_control: rateControl !== undefined,
        curve: curve !== undefined,
      });
      // Each shard is its own stream: the receiver knows it by this id.
      if (several)
        sender.senderIds.forEach((id, i) =>
          log.info('shard', { shard: i, endpoint: endpoints[i], sender: senderIdHex(id) }),
        );
      const stopStats = startStatsLine(log, opts.statsInterval, () => summaryLine(sender.stats()));
      const stopped = new Promise<null>((resolve) => {
        if (signals.stopped.aborted) resolve(null);
        signals.stopped.addEventListener('abort', () => resolve(null), { once: true });
      });
      const fatal = await Promise.race([stopped, sender.ended]);
      stopStats();
      await sender.stop();
      if (fatal !== null) throw fatal;
      return summaryLine(sender.stats());
    });
    log.info('stopped', summary);
    return EXIT_OK;
  });
}

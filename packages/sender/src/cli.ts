// nflog-zmq-send: parse, convert units at the edge, wire NflogSocket → SendPipeline →
// NonBlockingPusher together, drop privileges, report, stop cleanly on SIGTERM/SIGINT.

import { hostname } from 'node:os';
import { InvalidArgumentError, Option, type Command, type OptionValues } from 'commander';
import {
  RateShaper,
  addRateControlOptions,
  shaperOptionsFrom,
  type RateControlOptions,
} from '@nflog-pipe/compress';
import {
  NFLOG_MAX_GROUPS,
  NFLOG_NLBUFSIZ_MAX_BYTES,
  NflogSocket,
  type NflogStats,
} from '@nflog-pipe/nflog-native';
import {
  EXIT_OK,
  METRIC,
  MIB,
  NflogPipeError,
  NonBlockingPusher,
  UsageError,
  VERSION,
  addStatsdOptions,
  createProgram,
  parseGroups,
  parseMiB,
  parsePositiveInt,
  parseSeconds,
  runProgram,
  startStatsLine,
  statsIntervalOption,
  validateEndpoint,
  withCliRuntime,
  type CliRuntime,
  type Logger,
  type Metrics,
  type PusherCallbacks,
} from '@nflog-pipe/shared';
import { dropPrivileges, lookupUser, type UserIds } from './privileges.js';
import { SEND_HEARTBEAT_INTERVAL_MS, SendPipeline, type WireFormat } from './send-pipeline.js';

/** Defaults of the CLI options, in the units the options take. */
export const SEND_DEFAULTS = {
  /** --libnflog-nlbufsiz, MiB: 128 KiB, the kernel's cap (the Python tool's 10 MiB was never honoured). */
  nlbufsizMiB: NFLOG_NLBUFSIZ_MAX_BYTES / (1024 * 1024),
  /** --libnflog-qthresh, packets. */
  qthresh: 1024,
  /** --libnflog-timeout, seconds (kernel unit 1/100 s). */
  timeoutS: 0.01,
  /** --libnflog-copy-range, bytes (the kernel caps it at 65531). */
  copyRangeBytes: 65535,
  /** --libnflog-rcvbuf, MiB (SO_RCVBUFFORCE). */
  rcvbufMiB: 64,
  /** --zmq-buffer, frames (ZMQ_SNDHWM). */
  zmqBufferFrames: 64,
  /** --zmq-linger, seconds. */
  zmqLingerS: 1,
  /** --batch-bytes, bytes. */
  batchBytes: 256 * 1024,
  /** --batch-packets, packets. */
  batchPackets: 4096,
  /** --flush-interval, ms. */
  flushIntervalMs: 50,
  /** --stats-interval, seconds. */
  statsIntervalS: 60,
  /** --meta-interval, seconds. */
  metaIntervalS: 60,
  /** --heartbeat-interval, seconds. */
  heartbeatIntervalS: SEND_HEARTBEAT_INTERVAL_MS / 1000,
} as const;

/** How often kernel counters are folded into the metrics (and ENOBUFS warned about), ms. */
const KERNEL_STATS_POLL_MS = 1000;

function nonNegativeInt(what: string): (v: string) => number {
  return (v) => {
    const s = v.trim();
    const n = Number(s);
    if (!/^\d+$/.test(s) || !Number.isSafeInteger(n))
      throw new InvalidArgumentError(`not a non-negative integer of ${what}: '${v}'`);
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
      '<endpoint>',
      'ZeroMQ endpoint to connect a PUSH socket to (e.g. tcp://10.0.0.1:5555, ipc:///run/x.sock)',
    )
    .option(
      '-u, --user <name>',
      'user to switch to once the netlink socket is open (needs root or CAP_SETUID/CAP_SETGID)',
    )
    .addOption(
      new Option(
        '--libnflog-nlbufsiz <MiB>',
        `kernel batch size per group (NFULA_CFG_NLBUFSIZ), MiB; the kernel caps it at 0.125 (128 KiB) and larger values are clamped with a warning`,
      )
        .argParser(parseMiB)
        .default(Math.round(d.nlbufsizMiB * 1024 * 1024), String(d.nlbufsizMiB)),
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
      new Option(
        '--libnflog-copy-range <bytes>',
        'bytes of each packet to copy (the kernel caps it at 65531; an nft "snaplen" overrides it)',
      )
        .argParser(positiveIntOf('bytes'))
        .default(d.copyRangeBytes),
    )
    .addOption(
      new Option(
        '--libnflog-rcvbuf <MiB>',
        'netlink socket receive buffer (SO_RCVBUFFORCE), MiB; what the kernel can hold while we are busy; 0 = system default',
      )
        .argParser(parseMiB)
        .default(d.rcvbufMiB * 1024 * 1024, String(d.rcvbufMiB)),
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
        '--zmq-buffer <frames>',
        'ZMQ_SNDHWM: messages queued before new ones are dropped (v1: frames, not packets; legacy: packets)',
      )
        .argParser(positiveIntOf('messages'))
        .default(d.zmqBufferFrames),
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
    );
  addRateControlOptions(program);
  addStatsdOptions(program);
  return program;
}

/** Parsed option values, after the argParsers ran. */
interface SendOptions extends OptionValues {
  user?: string;
  libnflogNlbufsiz: number;
  libnflogQthresh: number;
  libnflogTimeout: number;
  libnflogCopyRange: number;
  libnflogRcvbuf: number;
  linktype: '101' | '239';
  zmqBuffer: number;
  zmqLinger: number;
  wire: WireFormat;
  batchBytes: number;
  batchPackets: number;
  flushInterval: number;
  statsInterval: number;
  metaInterval: number;
  heartbeatInterval: number;
}

/** The counters of the periodic line and the final summary. */
function countsLine(
  pipeline: SendPipeline,
  kernel: NflogStats | undefined,
): Record<string, number> {
  const s = pipeline.stats();
  return {
    captured: s.read,
    sent: s.sent,
    dropped_queue: s.droppedQueue,
    dropped_kernel: kernel?.kernelDropped ?? 0,
    dropped_shaper: s.droppedShaper,
    enobufs: kernel?.enobufs ?? 0,
    messages: s.sentMessages,
    heartbeats: s.heartbeats,
    bytes_sent: s.sentBytes,
  };
}

/**
 * Runs `nflog-zmq-send` with the user arguments `argv` (as process.argv.slice(2)); resolves to
 * the exit code: 0 after a clean SIGTERM/SIGINT (or --help/--version), 1 on a runtime failure
 * (netlink open, privilege drop, fatal read error), 2 on bad usage. Never calls process.exit().
 */
export function main(argv: string[]): Promise<number> {
  return runProgram<SendOptions>(buildProgram(), argv, async ({ opts, args, logger, program }) => {
    const groups = program.processedArgs[0] as number[];
    const endpoint = validateEndpoint(String(args[1]));
    if (groups.length > NFLOG_MAX_GROUPS)
      throw new UsageError(`at most ${NFLOG_MAX_GROUPS} NFLOG groups, got ${groups.length}`);
    const linktype = opts.linktype === '239' ? 239 : 101;
    if (opts.wire === 'legacy' && linktype !== 101)
      throw new UsageError('--wire legacy carries raw IP only (--linktype 101)');
    const rateControl = shaperOptionsFrom(opts);
    const shaper = rateControl === null ? undefined : createShaper(rateControl, logger);
    const user: UserIds | undefined =
      opts.user === undefined ? undefined : lookupUserOrUsage(opts.user);
    if (opts.libnflogNlbufsiz > NFLOG_NLBUFSIZ_MAX_BYTES) {
      logger.warn('--libnflog-nlbufsiz above the kernel cap; using 128 KiB', {
        requested_bytes: opts.libnflogNlbufsiz,
        used_bytes: NFLOG_NLBUFSIZ_MAX_BYTES,
      });
    }
    return run({
      opts,
      logger,
      program,
      groups,
      endpoint,
      linktype,
      shaper,
      legacyFlushMs: rateControl?.flushMs,
      user,
    });
  });
}

function createShaper(rc: RateControlOptions, logger: Logger): RateShaper {
  const log = logger.child({ component: 'shaper' });
  return new RateShaper({
    lwmBps: rc.lwmBps,
    hwmBps: rc.hwmBps,
    windowBytes: rc.windowBytes,
    onRegimeChange: (regime, rateBps, previous) =>
      log.info('rate regime changed', {
        regime,
        previous,
        rate_mib_s: Math.round((rateBps / MIB) * 100) / 100,
      }),
  });
}

function lookupUserOrUsage(name: string): UserIds {
  try {
    return lookupUser(name);
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_SENDER_UNKNOWN_USER')
      throw new UsageError(`-u: ${(err as Error).message}`);
    throw err;
  }
}

interface RunContext {
  opts: SendOptions;
  program: Command;
  logger: Logger;
  groups: number[];
  endpoint: string;
  linktype: 101 | 239;
  shaper: RateShaper | undefined;
  legacyFlushMs: number | undefined;
  user: UserIds | undefined;
}

async function run(ctx: RunContext): Promise<number> {
  const log = ctx.logger.child({ component: 'sender' });
  const summary = await withCliRuntime(ctx.opts, ctx.logger, (runtime) =>
    capture(ctx, log, runtime),
  );
  log.info('stopped', summary);
  return EXIT_OK;
}

/**
 * Captures until SIGTERM/SIGINT or a fatal error; resolves to the counters of the final summary
 * once everything is flushed.
 */
async function capture(
  ctx: RunContext,
  log: Logger,
  { signals, metrics }: CliRuntime,
): Promise<Record<string, number>> {
  const { opts, program, groups, endpoint, linktype, shaper, legacyFlushMs, user } = ctx;
  let pusher: NonBlockingPusher;
  try {
    pusher = NonBlockingPusher.connect(
      endpoint,
      { sendHighWaterMark: opts.zmqBuffer, lingerMs: opts.zmqLinger },
      pusherCallbacks(metrics, log),
    );
  } catch (err) {
    throw new UsageError(`cannot connect to ${endpoint}: ${(err as Error).message}`, {
      cause: err,
    });
  }

  let nflog: NflogSocket | undefined;
  let last: NflogStats | undefined;
  const pipeline: SendPipeline = new SendPipeline({
    pusher,
    wire: opts.wire,
    linktype,
    batchBytes: opts.batchBytes,
    batchPackets: opts.batchPackets,
    flushIntervalMs: opts.flushInterval,
    shaper,
    legacyFlushMs,
    metrics,
    meta: (): Record<string, unknown> => {
      const s = pipeline.stats();
      return {
        host: hostname(),
        pid: process.pid,
        version: VERSION,
        groups,
        // At exit (the stop heartbeat) the socket is closed: its last counters are kept.
        kernelDropped: nflog?.closed === false ? nflog.stats().kernelDropped : last?.kernelDropped,
        queueDropped: s.droppedQueue,
        shaperDropped: s.droppedShaper,
      };
    },
    metaIntervalMs: opts.metaInterval,
    heartbeatIntervalMs: opts.heartbeatInterval,
    // The stop heartbeat may wait for room in the queue as long as queued frames may linger.
    stopHeartbeatMs: opts.zmqLinger,
  });

  // From here on every exit path goes through shutdown(), which flushes and reports.
  let fatal: Error | undefined;
  let stopRun!: () => void;
  const stoppedOrFailed = new Promise<void>((resolve) => (stopRun = resolve));
  signals.stopped.addEventListener('abort', () => stopRun(), { once: true });

  const kernel = new KernelCounters(metrics, log);
  let poll: NodeJS.Timeout | undefined;
  let stopStats = (): void => {};
  try {
    nflog = NflogSocket.open(
      {
        groups,
        // The default 65535 (the Python tool's) is above the kernel's 65531: let nflog-native
        // clamp it quietly, and warn only when the user asked for it explicitly.
        ...(program.getOptionValueSource('libnflogCopyRange') === 'default'
          ? {}
          : { copyRangeBytes: opts.libnflogCopyRange }),
        nlbufsizBytes: Math.min(opts.libnflogNlbufsiz, NFLOG_NLBUFSIZ_MAX_BYTES),
        qthresh: opts.libnflogQthresh,
        timeoutMs: opts.libnflogTimeout,
        rcvbufBytes: opts.libnflogRcvbuf,
        linktype,
        onError: (err) => {
          fatal ??= new NflogPipeError('ERR_SENDER_NFLOG_READ', 'reading NFLOG failed', {
            cause: err,
          });
          stopRun();
        },
      },
      (records, count) => pipeline.pushRecords(records, count),
    );
    for (const w of nflog.warnings) log.warn(w);
    if (user !== undefined) {
      dropPrivileges(user);
      log.info('dropped privileges', { user: user.name, uid: user.uid, gid: user.gid });
    }
  } catch (err) {
    const what =
      nflog === undefined
        ? `cannot read NFLOG group${groups.length > 1 ? 's' : ''} ${groups.join(',')}`
        : 'cannot drop privileges';
    fatal = new NflogPipeError(
      nflog === undefined ? 'ERR_SENDER_NFLOG_OPEN' : 'ERR_SENDER_PRIVDROP',
      what,
      { cause: err },
    );
  }

  if (fatal === undefined && nflog !== undefined) {
    const sock = nflog;
    log.info('started', {
      groups: groups.join(','),
      endpoint,
      wire: opts.wire,
      sender: pipeline.senderId.toString(16).padStart(16, '0'),
      rate_control: shaper !== undefined,
    });
    poll = setInterval(() => kernel.sync(sock.stats()), KERNEL_STATS_POLL_MS);
    poll.unref();
    stopStats = startStatsLine(log, opts.statsInterval, () =>
      countsLine(pipeline, kernel.sync(sock.stats())),
    );
    await stoppedOrFailed;
  }

  // Shutdown: stop reading first, so nothing new arrives; then flush and let ZeroMQ linger.
  clearInterval(poll);
  stopStats();
  if (nflog !== undefined && !nflog.closed) {
    last = kernel.sync(nflog.stats());
    nflog.close();
  }
  await pipeline.close();
  const fin = pipeline.stats();
  if (pipeline.finalHeartbeatQueued === false && fin.droppedQueue + fin.droppedShaper > 0) {
    log.warn(
      'the final heartbeat found the ZeroMQ queue full until --zmq-linger: the receiver may not count the last drops',
      {
        next_seq: fin.nextSeq,
      },
    );
  }
  if (fatal !== undefined) throw fatal;
  return countsLine(pipeline, last);
}

function pusherCallbacks(metrics: Metrics, log: Logger): PusherCallbacks {
  return {
    // Heartbeats carry 0 packets: their bytes count, their (re)tries add no packet counter.
    onSent: (packets, bytes) => {
      if (packets > 0) metrics.increment(METRIC.RAW_OUT_PKT, packets);
      metrics.increment(METRIC.RAW_OUT_BYTES, bytes);
    },
    onDropped: (packets) => {
      if (packets > 0) metrics.increment(METRIC.LOSS_QUEUE_PKT, packets);
    },
    onError: (err) =>
      log.warn(
        'ZeroMQ send failed; counting as queue drops (further errors of this kind are not logged)',
        { err },
      ),
  };
}

/** Turns the netlink socket's cumulative counters into metric increments; warns once on ENOBUFS. */
class KernelCounters {
  #metrics: Metrics;
  #log: Logger;
  #dropped = 0;
  #enobufs = 0;
  constructor(metrics: Metrics, log: Logger) {
    this.#metrics = metrics;
    this.#log = log;
  }
  sync(s: NflogStats): NflogStats {
    if (s.kernelDropped > this.#dropped)
      this.#metrics.increment(METRIC.LOSS_KERNEL_PKT, s.kernelDropped - this.#dropped);
    if (s.enobufs > this.#enobufs) {
      if (this.#enobufs === 0) {
        this.#log.warn(
          'the kernel dropped packets (ENOBUFS: we read too slowly); counted as loss.kernel.pkt from now on',
          {
            enobufs: s.enobufs,
            dropped_kernel: s.kernelDropped,
          },
        );
      }
      this.#metrics.increment(METRIC.LOSS_KERNEL_ENOBUFS, s.enobufs - this.#enobufs);
    }
    this.#dropped = s.kernelDropped;
    this.#enobufs = s.enobufs;
    return s;
  }
}

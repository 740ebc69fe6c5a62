// nflog-pcap-recv: parse, convert units at the edge, start the Receiver, log periodically,
// reopen on SIGHUP, flush and exit 0 on SIGTERM/SIGINT.

import { InvalidArgumentError, Option, type OptionValues } from 'commander';
import {
  EXIT_OK,
  MIB,
  UsageError,
  addCurveServerOptions,
  addMetricsListenOption,
  addStatsdOptions,
  createProgram,
  curveServerFrom,
  parseMiB,
  parsePositiveInt,
  parseSeconds,
  runProgram,
  startStatsLine,
  statsIntervalOption,
  withCliRuntime,
  type CliRuntime,
  type CurveServerConfig,
  type Logger,
  validateEndpoint,
} from '@nflog-pipe/shared';
import { LINKTYPE_RAW, PIPE_MAX_REQUEST_BYTES } from '@nflog-pipe/pcap-writer';
import { Receiver, type ReceiverStats, type WireMode } from './receiver.js';
import { REORDER_DEFAULT_WINDOW_MS } from './reorder-window.js';

/** Defaults of the CLI options, in the units the options take. */
export const RECV_DEFAULTS = {
  /** --fifo-buffer, MiB. */
  fifoBufferMiB: 16,
  /**
   * --fifo-pipe-size, MiB: the FIFO's pipe capacity. 1 MiB is the kernel's default
   * pipe-max-size, so an unprivileged receiver gets it without a warning; measured in
   * docs/operations.md ("FIFO pipe size").
   */
  fifoPipeMiB: 1,
  /** --buffer-window, MiB, when --buffer-interface is given. */
  bufferWindowMiB: 64,
  /** --buffer-timeout, seconds. */
  bufferTimeoutS: 1,
  /**
   * --max-frame, MiB of uncompressed records per frame (or inflated legacy window): 8 times the
   * sender's default frame (--batch-bytes 256 KiB), twice the legacy shaper's window (1 MiB),
   * and small enough that the receive queue's budget holds a sender's whole default backlog.
   */
  maxFrameMiB: 2,
  /**
   * --receive-queue, MiB per connected peer (ZMQ_RCVHWM = this / ZMQ_MAXMSGSIZE): with the
   * default --max-frame, 124 messages, more than a sender queues by default (--zmq-buffer 64).
   */
  receiveQueueMiB: 256,
  /** --zmq-buffer, messages: the upper limit of ZMQ_RCVHWM. */
  zmqBufferMessages: 1000,
  /** --reorder-window, ms (why this much: REORDER_DEFAULT_WINDOW_MS). */
  reorderWindowMs: REORDER_DEFAULT_WINDOW_MS,
  /**
   * --reorder-buffer, MiB: at 1 Gbit/s about 0.5 s of traffic, 2.5 times the default window, and
   * 32 frames of the largest size accepted (--max-frame).
   */
  reorderBufferMiB: 64,
  /** --stats-interval, seconds. */
  statsIntervalS: 60,
  /** --flush-timeout, seconds. */
  flushTimeoutS: 5,
} as const;

/** An argParser for a MiB option that must be above 0 (0 would accept nothing). */
function positiveMiB(flag: string): (v: string) => number {
  return (v: string): number => {
    const bytes = parseMiB(v);
    if (bytes < 1) throw new InvalidArgumentError(`${flag} must be above 0: '${v}'`);
    return bytes;
  };
}

/** --fifo-pipe-size: MiB to bytes, at most what F_SETPIPE_SZ takes (an int). */
function pipeSizeArg(v: string): number {
  const bytes = parseMiB(v);
  if (bytes > PIPE_MAX_REQUEST_BYTES)
    throw new InvalidArgumentError(`--fifo-pipe-size must be below 2048 MiB: '${v}'`);
  return bytes;
}

/** Longest --reorder-window accepted, ms: beyond a minute it is a typo, not a window. */
const MAX_REORDER_WINDOW_MS = 60_000;

function reorderWindowArg(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n > MAX_REORDER_WINDOW_MS)
    throw new InvalidArgumentError(`not a window of 0..${MAX_REORDER_WINDOW_MS} ms: '${v}'`);
  return n;
}

function linktypeArg(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isInteger(n) || n > 0xffff)
    throw new InvalidArgumentError(`not a linktype (0..65535): '${v}'`);
  return n;
}

/** Builds the commander program (exported for option tests). */
export function buildProgram(): ReturnType<typeof createProgram> {
  const d = RECV_DEFAULTS;
  const program = createProgram(
    'nflog-pcap-recv',
    'Receive packets from nflog-zmq-send (ZeroMQ PULL, many senders) and write one live pcap stream to a FIFO, a file or stdout.',
  )
    .argument(
      '<endpoint...>',
      'ZeroMQ endpoint(s) to bind (e.g. tcp://0.0.0.0:5555 ipc:///run/nflog.sock), then DST: FIFO path, file path, or - for stdout',
    )
    .addOption(
      new Option(
        '--wire <format>',
        "wire format accepted: v1, legacy (the Python tool's), or auto (v1 by its magic, else legacy)",
      )
        .choices(['v1', 'legacy', 'auto'])
        .default('auto'),
    )
    .option(
      '--rate-control',
      'legacy messages carry the rate-control prefix (0x00 plain / 0x01 zlib), as from the Python tool with --rate-control',
      false,
    )
    .addOption(
      new Option(
        '--linktype <n>',
        'pcap linktype of the output (101 raw IP, 239 NFLOG); frames of another linktype are dropped and counted as bad',
      )
        .argParser(linktypeArg)
        .default(LINKTYPE_RAW),
    )
    .option('--pcap-nsec', 'write nanosecond-resolution pcap (magic a1b23c4d)', false)
    .addOption(
      new Option(
        '--fifo-buffer <MiB>',
        'output queue while the reader is absent or slow, MiB; beyond it whole batches are dropped and counted (loss.fifo.pkt)',
      )
        .argParser(parseMiB)
        .default(d.fifoBufferMiB * MIB, String(d.fifoBufferMiB)),
    )
    .addOption(
      new Option(
        '--fifo-pipe-size <MiB>',
        "capacity of the FIFO's pipe, raised after each reader attaches (F_SETPIPE_SZ; at most /proc/sys/fs/pipe-max-size without CAP_SYS_RESOURCE, warned once), MiB; 0 keeps the kernel's 64 KiB",
      )
        .argParser(pipeSizeArg)
        .default(d.fifoPipeMiB * MIB, String(d.fifoPipeMiB)),
    )
    .option(
      '--buffer-interface <endpoint>',
      'ZeroMQ REP endpoint serving dumps of the recent traffic (nflog-pcap-query)',
    )
    .addOption(
      new Option(
        '--buffer-window <MiB>',
        `recent traffic kept for dumps, MiB (default ${d.bufferWindowMiB} with --buffer-interface)`,
      ).argParser(parseMiB),
    )
    .addOption(
      new Option(
        '--buffer-timeout <seconds>',
        'a dump reply not taken within this time is dropped and the socket recreated (ZMQ_SNDTIMEO), seconds',
      )
        .argParser(parseSeconds)
        .default(d.bufferTimeoutS * 1000, String(d.bufferTimeoutS)),
    )
    .addOption(
      new Option(
        '--max-frame <MiB>',
        'largest uncompressed records section (or inflated legacy window) accepted in one frame, MiB; larger ones are bad frames, and a message too large to hold one is refused unread (ZMQ_MAXMSGSIZE)',
      )
        .argParser(positiveMiB('--max-frame'))
        .default(d.maxFrameMiB * MIB, String(d.maxFrameMiB)),
    )
    .addOption(
      new Option(
        '--receive-queue <MiB>',
        'bytes ZeroMQ may queue for us per connected sender, MiB: ZMQ_RCVHWM = this / the largest message accepted (at least 4, at most --zmq-buffer)',
      )
        .argParser(positiveMiB('--receive-queue'))
        .default(d.receiveQueueMiB * MIB, String(d.receiveQueueMiB)),
    )
    .addOption(
      new Option(
        '--zmq-buffer <messages>',
        'upper limit of ZMQ_RCVHWM, messages (the queue per connected sender; --receive-queue usually sets a lower one)',
      )
        .argParser((v: string) => parsePositiveInt(v))
        .default(d.zmqBufferMessages),
    )
    .addOption(
      new Option(
        '--reorder-window <ms>',
        'hold records up to this long to write them in time order (and in kernel order within a network namespace), ms; 0 = as they arrive',
      )
        .argParser(reorderWindowArg)
        .default(d.reorderWindowMs),
    )
    .addOption(
      new Option(
        '--reorder-buffer <MiB>',
        'most the reorder window holds, MiB; beyond it the first records in order are written early (counted: reorder_overflow_pkt)',
      )
        .argParser(positiveMiB('--reorder-buffer'))
        .default(d.reorderBufferMiB * MIB, String(d.reorderBufferMiB)),
    )
    .addOption(statsIntervalOption(d.statsIntervalS))
    .addOption(
      new Option(
        '--flush-timeout <seconds>',
        'at exit, how long the output may take to accept what is queued, seconds',
      )
        .argParser(parseSeconds)
        .default(d.flushTimeoutS * 1000, String(d.flushTimeoutS)),
    );
  addCurveServerOptions(program, { bufferAllow: true });
  addStatsdOptions(program);
  addMetricsListenOption(program);
  return program;
}

interface RecvOptions extends OptionValues {
  wire: WireMode;
  rateControl: boolean;
  linktype: number;
  pcapNsec: boolean;
  fifoBuffer: number;
  fifoPipeSize: number;
  bufferInterface?: string;
  bufferWindow?: number;
  bufferTimeout: number;
  maxFrame: number;
  receiveQueue: number;
  zmqBuffer: number;
  reorderWindow: number;
  reorderBuffer: number;
  statsInterval: number;
  flushTimeout: number;
}

/** The key=value counters of the periodic "stats" line and the final "stopped" line. */
export function countsLine(s: ReceiverStats): Record<string, number | string> {
  const line: Record<string, number | string> = {
    in_pkt: s.inPackets,
    in_bytes: s.inBytes,
    out_pkt: s.sink.outPackets,
    out_bytes: s.sink.outBytes,
    loss_network_pkt: s.lossNetwork,
    loss_fifo_pkt: s.sink.lostPackets,
    queued_pkt: s.sink.queuedPackets,
    reorder_held_pkt: s.reorder.heldPackets,
    reorder_late_pkt: s.reorder.latePackets,
    reorder_restamped_pkt: s.reorder.restampedPackets,
    reorder_overflow_pkt: s.reorder.overflowPackets,
    bad_frames: s.badFrames,
    behind_frames: s.behindFrames,
    disconnects: s.disconnects,
    readers: s.sink.opens,
    queries: s.queries,
    ring_pkt: s.ringPackets,
    senders: s.senders.length,
    peers: s.peers,
    auth_rejected: s.authRejected,
  };
  // Per sender: id:packets/lost, most recently seen last (bounded: the last 16).
  const recent = s.senders.slice(-16);
  if (recent.length > 0)
    line['per_sender'] = recent.map((x) => `${x.id}:${x.packets}/${x.lost}`).join(',');
  return line;
}

/**
 * Runs `nflog-pcap-recv` with the user arguments `argv`; resolves to the exit code: 0 after a
 * clean SIGTERM/SIGINT (or --help/--version, or a stdout reader that went away), 1 on a runtime
 * failure (bind error, output error), 2 on bad usage. Never calls process.exit().
 */
export function main(argv: string[]): Promise<number> {
  return runProgram<RecvOptions>(buildProgram(), argv, async ({ opts, args, logger }) => {
    if (args.length < 2)
      throw new UsageError('need at least one ENDPOINT and a DST (FIFO path, file path, or -)');
    const endpoints = args.slice(0, -1);
    const dest = args[args.length - 1]!;
    for (const ep of endpoints) validateEndpoint(ep, 'bind');
    if (opts.bufferInterface !== undefined) validateEndpoint(opts.bufferInterface, 'bind');
    if (opts.bufferWindow !== undefined && opts.bufferInterface === undefined) {
      throw new UsageError('--buffer-window needs --buffer-interface');
    }
    if (opts.bufferWindow === 0) {
      throw new UsageError('--buffer-window must be above 0 (the ring the query interface serves)');
    }
    if (opts.wire === 'v1' && opts.rateControl)
      throw new UsageError('--rate-control applies to legacy input (--wire legacy or auto)');
    const curve = curveServerFrom(opts);
    if (curve?.bufferAllow !== undefined && opts.bufferInterface === undefined)
      throw new UsageError('--buffer-curve-allow needs --buffer-interface');
    const log = logger.child({ component: 'receiver' });
    const { stats, endErr } = await withCliRuntime(opts, logger, (runtime) =>
      run(opts, endpoints, dest, curve, logger, log, runtime),
    );
    log.info('stopped', countsLine(stats));
    if (endErr !== null) throw endErr; // one line `nflog-pcap-recv: ...`, exit 1
    return EXIT_OK;
  });
}

/** Receives until SIGTERM/SIGINT or the output ends; resolves once the receiver has stopped. */
async function run(
  opts: RecvOptions,
  endpoints: string[],
  dest: string,
  curve: CurveServerConfig | null,
  logger: Logger,
  log: Logger,
  { signals, metrics }: CliRuntime,
): Promise<{ stats: ReceiverStats; endErr: Error | null }> {
  const receiver = await Receiver.start({
    endpoints,
    dest,
    wire: opts.wire,
    rateControl: opts.rateControl,
    linktype: opts.linktype,
    nanosecond: opts.pcapNsec,
    fifoBufferBytes: opts.fifoBuffer,
    fifoPipeBytes: opts.fifoPipeSize,
    bufferWindowBytes:
      opts.bufferInterface === undefined
        ? 0
        : (opts.bufferWindow ?? RECV_DEFAULTS.bufferWindowMiB * MIB),
    ...(opts.bufferInterface !== undefined ? { bufferInterface: opts.bufferInterface } : {}),
    bufferTimeoutMs: opts.bufferTimeout,
    reorderWindowMs: opts.reorderWindow,
    reorderBufferBytes: opts.reorderBuffer,
    maxRawBytes: opts.maxFrame,
    receiveQueueBytes: opts.receiveQueue,
    receiveHwm: opts.zmqBuffer,
    curve: curve ?? undefined,
    metrics,
    logger,
  });
  const unHup = signals.onHup(() => {
    log.info(
      curve === null
        ? 'SIGHUP: reopening the output'
        : 'SIGHUP: reopening the output, reloading the allowlists',
    );
    receiver.reopen();
    void receiver.reloadAllowlists();
  });
  log.info('started', {
    endpoints: receiver.boundEndpoints.join(','),
    dst: dest,
    wire: opts.wire,
    curve: curve !== null,
    linktype: opts.linktype,
    reorder_window_ms: opts.reorderWindow,
    max_msg_bytes: receiver.receiveBounds.maxMessageSize,
    rcvhwm: receiver.receiveBounds.receiveHighWaterMark,
    ...(receiver.queryEndpoint !== null ? { buffer_interface: receiver.queryEndpoint } : {}),
  });
  const stopStats = startStatsLine(log, opts.statsInterval, () => countsLine(receiver.stats()));
  const stopped = new Promise<null>((resolve) =>
    signals.stopped.addEventListener('abort', () => resolve(null), { once: true }),
  );
  const endErr = await Promise.race([stopped, receiver.ended]);
  stopStats();
  unHup();
  await receiver.stop(opts.flushTimeout);
  return { stats: receiver.stats(), endErr };
}

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
  parseListen,
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
import { LINKTYPE_RAW, PIPE_MAX_REQUEST_BYTES, mapLargeBlocks } from '@nflog-pipe/pcap-writer';
import { isReceiverLinktype } from './linktype-convert.js';
import {
  PCAP_OVER_IP_DEFAULT_MAX_CLIENTS,
  PCAP_OVER_IP_DEFAULT_PORT,
  PCAP_OVER_IP_DEFAULT_QUEUE_BYTES,
} from './pcap-over-ip-server.js';
import {
  Receiver,
  type PcapOverIpConfig,
  type ReceiverStats,
  type RotateConfig,
  type WireMode,
} from './receiver.js';
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
  /** --pcap-over-ip-queue, MiB per client. */
  pcapOverIpQueueMiB: PCAP_OVER_IP_DEFAULT_QUEUE_BYTES / MIB,
  /** --pcap-over-ip-clients. */
  pcapOverIpClients: PCAP_OVER_IP_DEFAULT_MAX_CLIENTS,
} as const;

/** The usage line: the endpoints to bind, then DST (the one output that is always there). */
export const RECV_USAGE = '[options] ENDPOINT... DST';

/** A ZeroMQ endpoint's shape (`tcp://`, `ipc://`, ...): what DST must never look like. */
const ENDPOINT_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

/** An argParser for a seconds option that must be above 0, returning ms. */
function positiveSeconds(flag: string): (v: string) => number {
  return (v: string): number => {
    const ms = parseSeconds(v);
    if (ms < 1) throw new InvalidArgumentError(`${flag} must be above 0: '${v}'`);
    return ms;
  };
}

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

/** A linktype an output can write: 101 (raw IP) or 239 (NFLOG). */
function linktypeArg(v: string): number {
  const n = Number(v.trim());
  if (!/^\d+$/.test(v.trim()) || !isReceiverLinktype(n))
    throw new InvalidArgumentError(
      `not a linktype the receiver writes (101 raw IP, 239 NFLOG): '${v}'`,
    );
  return n;
}

/** `--pcap-over-ip [HOST:]PORT`: host 127.0.0.1 unless given; port 0 picks a free one. */
function pcapOverIpArg(v: string): { host: string; port: number } {
  return parseListen(v, '127.0.0.1');
}

/** An argParser for a count above 0. */
function positiveCount(v: string): number {
  return parsePositiveInt(v);
}

/** Builds the commander program (exported for option tests). */
export function buildProgram(): ReturnType<typeof createProgram> {
  const d = RECV_DEFAULTS;
  const program = createProgram(
    'nflog-pcap-recv',
    'Receive packets from nflog-zmq-send (ZeroMQ PULL, many senders) and write one live pcap stream to DST (a FIFO, a file or stdout), and optionally to PCAP-over-IP clients and rotated files.',
  )
    .usage(RECV_USAGE)
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
        '--fifo-linktype <n>',
        `pcap linktype of DST: 101 raw IP (every IDS reads it) or 239 NFLOG (prefix, hook, interfaces; Wireshark, tcpdump, Zeek; not Suricata or Snort). Frames of 101 and 239 are both taken and converted (default ${LINKTYPE_RAW})`,
      ).argParser(linktypeArg),
    )
    .addOption(
      new Option('--linktype <n>', 'the same as --fifo-linktype (the older name)').argParser(
        linktypeArg,
      ),
    )
    .addOption(
      new Option(
        '--pcap-over-ip <[host:]port>',
        `also serve the stream as PCAP-over-IP (a pcap byte stream over TCP, e.g. for tshark, Wireshark, Arkime, Zeek) on this address (host default 127.0.0.1; conventional port ${PCAP_OVER_IP_DEFAULT_PORT}; port 0 = any free one, logged); no authentication`,
      ).argParser(pcapOverIpArg),
    )
    .addOption(
      new Option(
        '--pcap-over-ip-linktype <n>',
        `pcap linktype of the PCAP-over-IP stream: 101 or 239 (default ${LINKTYPE_RAW})`,
      ).argParser(linktypeArg),
    )
    .addOption(
      new Option(
        '--pcap-over-ip-queue <MiB>',
        `most bytes queued for one PCAP-over-IP client, MiB; beyond it whole batches are dropped for that client and counted (default ${d.pcapOverIpQueueMiB})`,
      ).argParser(positiveMiB('--pcap-over-ip-queue')),
    )
    .addOption(
      new Option(
        '--pcap-over-ip-clients <n>',
        `PCAP-over-IP clients served at once; more are refused (default ${d.pcapOverIpClients})`,
      ).argParser(positiveCount),
    )
    .option(
      '--rotate-dir <dir>',
      'also write a rotated set of pcap files into DIR (each complete, with its own header), cut by --rotate-size and/or --rotate-seconds',
    )
    .addOption(
      new Option(
        '--rotate-size <MiB>',
        'start a new rotated file before one would exceed this size, MiB (tcpdump -C)',
      ).argParser(positiveMiB('--rotate-size')),
    )
    .addOption(
      new Option(
        '--rotate-seconds <seconds>',
        'close a rotated file this many seconds after it was opened, seconds (tcpdump -G)',
      ).argParser(positiveSeconds('--rotate-seconds')),
    )
    .addOption(
      new Option(
        '--rotate-linktype <n>',
        `pcap linktype of the rotated files: 101 or 239 (default ${LINKTYPE_RAW})`,
      ).argParser(linktypeArg),
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
  linktype?: number;
  fifoLinktype?: number;
  pcapOverIp?: { host: string; port: number };
  pcapOverIpLinktype?: number;
  pcapOverIpQueue?: number;
  pcapOverIpClients?: number;
  rotateDir?: string;
  rotateSize?: number;
  rotateSeconds?: number;
  rotateLinktype?: number;
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
  // The other outputs, each with its own counters: NAME_out_pkt NAME_loss_pkt NAME_queued_pkt.
  for (const o of s.outputs.slice(1)) {
    line[`${o.name}_out_pkt`] = o.stats.outPackets;
    line[`${o.name}_loss_pkt`] = o.stats.lostPackets;
    line[`${o.name}_queued_pkt`] = o.stats.queuedPackets;
    if (o.name === 'pcap_over_ip') line['pcap_over_ip_clients'] = s.pcapOverIpClients.length;
    if (o.name === 'rotate') line['rotate_files'] = o.stats.opens;
  }
  // Per sender: id:packets/lost, most recently seen last (bounded: the last 16).
  const recent = s.senders.slice(-16);
  if (recent.length > 0)
    line['per_sender'] = recent.map((x) => `${x.id}:${x.packets}/${x.lost}`).join(',');
  return line;
}

/**
 * The endpoints and DST from the arguments. DST is always the last argument; one that looks
 * like an endpoint is what forgetting DST looks like (the last endpoint would become a file
 * named `tcp:/...`), so it is a usage error that says so.
 * @throws UsageError
 */
export function endpointsAndDst(args: readonly string[]): { endpoints: string[]; dest: string } {
  const usage = `usage: nflog-pcap-recv ${RECV_USAGE}`;
  const last = args[args.length - 1];
  if (last !== undefined && ENDPOINT_LIKE.test(last)) {
    throw new UsageError(
      `DST is missing: the last argument ${last} is an endpoint, but the last argument is where the pcap stream goes (a FIFO path, a file path, or - for stdout); ${usage}`,
    );
  }
  if (args.length < 2)
    throw new UsageError(
      `need at least one ENDPOINT and a DST (FIFO path, file path, or -); ${usage}`,
    );
  return { endpoints: args.slice(0, -1), dest: last! };
}

/** The rotated-file and PCAP-over-IP outputs the options ask for. @throws UsageError */
function extraOutputs(opts: RecvOptions): {
  pcapOverIp: PcapOverIpConfig | undefined;
  rotate: RotateConfig | undefined;
} {
  const d = RECV_DEFAULTS;
  const poipOnly = (['pcapOverIpLinktype', 'pcapOverIpQueue', 'pcapOverIpClients'] as const).filter(
    (k) => opts[k] !== undefined,
  );
  if (opts.pcapOverIp === undefined && poipOnly.length > 0)
    throw new UsageError(`--${kebab(poipOnly[0]!)} needs --pcap-over-ip`);
  const rotateOnly = (['rotateSize', 'rotateSeconds', 'rotateLinktype'] as const).filter(
    (k) => opts[k] !== undefined,
  );
  if (opts.rotateDir === undefined && rotateOnly.length > 0)
    throw new UsageError(`--${kebab(rotateOnly[0]!)} needs --rotate-dir`);
  if (
    opts.rotateDir !== undefined &&
    opts.rotateSize === undefined &&
    opts.rotateSeconds === undefined
  )
    throw new UsageError(
      '--rotate-dir needs --rotate-size and/or --rotate-seconds (when to start the next file)',
    );
  return {
    pcapOverIp:
      opts.pcapOverIp === undefined
        ? undefined
        : {
            ...opts.pcapOverIp,
            linktype: opts.pcapOverIpLinktype ?? LINKTYPE_RAW,
            clientQueueBytes: opts.pcapOverIpQueue ?? d.pcapOverIpQueueMiB * MIB,
            maxClients: opts.pcapOverIpClients ?? d.pcapOverIpClients,
          },
    rotate:
      opts.rotateDir === undefined
        ? undefined
        : {
            dir: opts.rotateDir,
            maxFileBytes: opts.rotateSize ?? 0,
            intervalMs: opts.rotateSeconds ?? 0,
            linktype: opts.rotateLinktype ?? LINKTYPE_RAW,
          },
  };
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** DST's linktype from --fifo-linktype or its older name --linktype. @throws UsageError */
function dstLinktype(opts: RecvOptions): number {
  if (
    opts.linktype !== undefined &&
    opts.fifoLinktype !== undefined &&
    opts.linktype !== opts.fifoLinktype
  )
    throw new UsageError('--linktype and --fifo-linktype disagree (they are the same option)');
  return opts.fifoLinktype ?? opts.linktype ?? LINKTYPE_RAW;
}

/**
 * Runs `nflog-pcap-recv` with the user arguments `argv`; resolves to the exit code: 0 after a
 * clean SIGTERM/SIGINT (or --help/--version, or a stdout reader that went away), 1 on a runtime
 * failure (bind error, output error), 2 on bad usage. Never calls process.exit().
 */
export function main(argv: string[]): Promise<number> {
  return runProgram<RecvOptions>(buildProgram(), argv, async ({ opts, args, logger }) => {
    const { endpoints, dest } = endpointsAndDst(args);
    for (const ep of endpoints) validateEndpoint(ep, 'bind');
    const linktype = dstLinktype(opts);
    const outputs = extraOutputs(opts);
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
      run(opts, { endpoints, dest, linktype, ...outputs }, curve, logger, log, runtime),
    );
    log.info('stopped', countsLine(stats));
    if (endErr !== null) throw endErr; // one line `nflog-pcap-recv: ...`, exit 1
    return EXIT_OK;
  });
}

/** Receives until SIGTERM/SIGINT or the output ends; resolves once the receiver has stopped. */
async function run(
  opts: RecvOptions,
  io: {
    endpoints: string[];
    dest: string;
    linktype: number;
    pcapOverIp: PcapOverIpConfig | undefined;
    rotate: RotateConfig | undefined;
  },
  curve: CurveServerConfig | null,
  logger: Logger,
  log: Logger,
  { signals, metrics }: CliRuntime,
): Promise<{ stats: ReceiverStats; endErr: Error | null }> {
  const { endpoints, dest } = io;
  // The ring's segments are let go and replaced after every dump: mapped blocks go back to the
  // kernel when freed instead of fragmenting the heap (README, "Memory"). Process-wide, so the
  // CLI does it, not the library.
  if (!mapLargeBlocks()) log.debug('malloc left to GLIBC_TUNABLES');
  const receiver = await Receiver.start({
    endpoints,
    dest,
    wire: opts.wire,
    rateControl: opts.rateControl,
    linktype: io.linktype,
    pcapOverIp: io.pcapOverIp,
    rotate: io.rotate,
    rotateCloseFlushMs: opts.flushTimeout,
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
    linktype: io.linktype,
    reorder_window_ms: opts.reorderWindow,
    max_msg_bytes: receiver.receiveBounds.maxMessageSize,
    rcvhwm: receiver.receiveBounds.receiveHighWaterMark,
    ...(receiver.queryEndpoint !== null ? { buffer_interface: receiver.queryEndpoint } : {}),
    ...(receiver.pcapOverIpAddress !== null
      ? { pcap_over_ip: hostPort(receiver.pcapOverIpAddress) }
      : {}),
    ...(io.rotate !== undefined ? { rotate_dir: io.rotate.dir } : {}),
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

function hostPort(a: { host: string; port: number }): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

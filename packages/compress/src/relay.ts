// What both relays share: bind PULL on SRC, connect a never-blocking PUSH to DST, run each
// received message through a transform, log a periodic summary, and stop cleanly on
// SIGTERM/SIGINT (flush what is pending, close with a bounded linger). runRelayProgram is the
// part of both CLIs' actions that is the same: metrics, signals, settings, the loop.

import type { Pull } from 'zeromq';
import {
  CurveServer,
  METRIC,
  MIB,
  PeerWatch,
  UsageError,
  maxMessageBytes,
  boundedReceiveOptions,
  WireError,
  loadCurveClient,
  startStatsLine,
  validateEndpoint,
  warnIfPlainExposed,
  withCliRuntime,
  type CurveClientConfig,
  type CurveServerConfig,
  type Logger,
  statsdName,
  type MetricSeries,
  type Metrics,
  type ProgramContext,
  lazyRequire,
} from '@nflog-pipe/shared';
import { QueuedPusher } from './queued-pusher.js';
import { RELAY_DEFAULT_QUEUE_BYTES, relaySettingsFrom, type RelayWire } from './relay-options.js';

// Loaded when a relay starts, not at import (shared's lazyRequire): the sender imports this
// package for its rate control and must not pay for ZeroMQ before it has bound its groups.
const zmq = lazyRequire<typeof import('zeromq')>(import.meta.url, 'zeromq');

/** ZMQ_LINGER of the PUSH socket at shutdown, ms: queued messages get this long, no longer. */
export const RELAY_LINGER_MS = 1000;

/** ZAP domain of a relay's PULL socket. */
const RELAY_DOMAIN = 'relay';
/**
 * Budget of the PULL socket's receive queue, bytes: ZMQ_RCVHWM is as many of the largest
 * accepted messages as fit, at least RECEIVE_QUEUE_MIN_MESSAGES (shared's boundedReceiveOptions).
 */
export const RELAY_RECEIVE_QUEUE_BYTES = 128 * MIB;

/**
 * The largest message a relay takes, bytes: a v1 frame (header, the largest metadata) whose
 * `maxRawBytes` of records are deflated at deflate's worst expansion (zlib's deflateBound, with
 * the zlib wrapper), which also covers a legacy 0x01 window inflating to `maxRawBytes`. Larger
 * ones are refused by ZeroMQ (ZMQ_MAXMSGSIZE) before they take memory.
 */
export function relayMaxMessageBytes(maxRawBytes: number): number {
  // A relay takes v1 frames and legacy messages, with or without the rate-control prefix.
  return maxMessageBytes({ v1: true, legacy: true, rateControl: true, maxRawBytes });
}

/** One relay's message handling; built once the PUSH end exists. */
export interface RelayTransform {
  /** Handle one received message (multipart messages arrive concatenated, as in Python). */
  onMessage(msg: Buffer): void;
  /** Send whatever is pending (a legacy compressed window); called once at shutdown. */
  close(): void;
}

/** Options of {@link runRelay}. */
export interface RelayOptions {
  src: string;
  dst: string;
  /** ZMQ_SNDHWM of the PUSH socket, messages. */
  sendHighWaterMark: number;
  /** Bytes of messages waiting for room in ZeroMQ's queue before new ones are dropped. */
  queueBytes: number;
  /** The largest input message taken (ZMQ_MAXMSGSIZE of the PULL socket), bytes. */
  maxMessageBytes: number;
  /** Interval of the info summary line, ms; 0 = only the final `stopped` line. */
  statsIntervalMs: number;
  logger: Logger;
  metrics: Metrics;
  /** Counters for what the PUSH socket accepted. */
  outPkt: MetricSeries;
  outBytes: MetricSeries;
  /** Aborted on SIGTERM/SIGINT. */
  stopped: AbortSignal;
  /** Registers a SIGHUP callback (reload the allowlist); returns its unregister function. */
  onHup?: (cb: () => void) => () => void;
  /** CURVE on SRC, the binding side (`--curve-server`, `--curve-allow`); undefined = plain. */
  curveServer?: CurveServerConfig | undefined;
  /** CURVE on DST, the connecting side (`--curve-client`, `--curve-server-key`); undefined = plain. */
  curveClient?: CurveClientConfig | undefined;
  /**
   * Builds the transform; `send(msg, packets)` hands a message to the PUSH end (never blocks:
   * queued, or dropped and counted).
   */
  makeTransform(
    send: (msg: Buffer, packets: number) => void,
    bad: (err: WireError) => void,
  ): RelayTransform;
}

/**
 * Summary fields for the log line: every counter, in METRIC order (0 when never incremented),
 * then `queued_pkt`, the packets waiting in the PUSH end's queue (0 once stopped).
 */
function summary(
  metrics: Metrics,
  names: readonly MetricSeries[],
  push: QueuedPusher | undefined,
): Record<string, number> {
  const snap = metrics.snapshot();
  const out: Record<string, number> = {};
  for (const n of names) out[statsdName(n)] = snap[statsdName(n)] ?? 0;
  out['queued_pkt'] = push?.stats().queuedPackets ?? 0;
  return out;
}

function isUsageZmqError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'EINVAL' || code === 'EPROTONOSUPPORT' || code === 'ENOCOMPATPROTO';
}

/**
 * Runs a relay until `stopped` aborts. Resolves after the pending output is flushed and both
 * sockets are closed.
 * @throws UsageError for an endpoint that is malformed or that ZeroMQ rejects as invalid;
 *   the zeromq.js error (EADDRINUSE, ...) when binding fails otherwise; CurveError for a
 *   certificate or allowlist that cannot be used (nothing is left open then).
 */
export async function runRelay(
  options: RelayOptions,
  summaryNames: readonly MetricSeries[],
): Promise<void> {
  const { logger, metrics } = options;
  // Every counter of the summary is exported from the start, at 0 until something happens.
  // (A labelled one, auth.rejected{socket}, is created where it is counted, with its label.)
  for (const n of summaryNames) if (n.dynamic.length === 0) metrics.counter(n);
  validateEndpoint(options.src, 'bind');
  validateEndpoint(options.dst, 'connect');
  const warnedBad = new Set<string>();
  const bad = (err: WireError): void => {
    metrics.increment(METRIC.BAD_FRAMES, 1);
    if (!warnedBad.has(err.code)) {
      warnedBad.add(err.code);
      logger.warn('bad message skipped (further ones of this kind are only counted)', { err });
    }
  };
  // Built before any socket opens, so a setting the transform rejects leaves nothing open. Its
  // output goes to the PUSH end, which exists before the first message can arrive.
  let pusher: QueuedPusher | undefined;
  const transform = options.makeTransform((msg, packets) => pusher!.push(msg, packets), bad);
  // Keys first too: an unreadable certificate is reported before anything is bound.
  const clientKeys =
    options.curveClient === undefined
      ? undefined
      : await loadCurveClient(options.curveClient, logger);
  const authRejected = metrics.counter(METRIC.AUTH_REJECTED, { socket: 'pull' });
  const rejected = (): void => authRejected.inc();
  const server =
    options.curveServer === undefined
      ? null
      : await CurveServer.start({
          secretCertPath: options.curveServer.secretCertPath,
          domains: { [RELAY_DOMAIN]: options.curveServer.allow },
          logger,
          onRejected: rejected,
        });
  // Bounded memory whatever is sent to SRC: no message above maxMessageBytes, and a receive
  // queue of RELAY_RECEIVE_QUEUE_BYTES of them.
  const pull: Pull = new (zmq().Pull)({
    linger: 0,
    ...boundedReceiveOptions(options.maxMessageBytes, RELAY_RECEIVE_QUEUE_BYTES),
    ...(server !== null ? server.socketOptions(RELAY_DOMAIN) : {}),
  });
  const watch = PeerWatch.watch(pull, {
    role: 'bind',
    endpoint: options.src,
    logger,
    curve: server !== null,
    metrics,
    gaugeSocket: 'pull',
    ...(server !== null ? { onRefused: rejected } : {}),
  });
  try {
    await pull.bind(options.src);
  } catch (err) {
    watch.close();
    pull.close();
    await server?.close();
    if (isUsageZmqError(err)) throw new UsageError(`cannot bind ${options.src}`, { cause: err });
    throw err;
  }
  if (server === null) warnIfPlainExposed(pull.lastEndpoint ?? options.src, 'inject', logger);
  const warnedSend = new Set<string>();
  const outPkt = metrics.counter(options.outPkt);
  const outBytes = metrics.counter(options.outBytes);
  try {
    pusher = QueuedPusher.connect(
      options.dst,
      {
        sendHighWaterMark: options.sendHighWaterMark,
        queueBytes: options.queueBytes,
        lingerMs: RELAY_LINGER_MS,
        curve: clientKeys,
        logger,
        metrics,
      },
      {
        onSent: (packets, bytes) => {
          outPkt.inc(packets);
          outBytes.inc(bytes);
        },
        onDropped: (packets, err) => {
          metrics.increment(METRIC.LOSS_QUEUE_PKT, packets);
          const code = err?.code ?? 'EAGAIN';
          // Repeating conditions warn once; the counter carries them afterwards.
          if (!warnedSend.has(code)) {
            warnedSend.add(code);
            logger.warn(
              'dropping: the PUSH queue (--zmq-buffer and --queue) is full or failing (further drops are only counted)',
              {
                dst: options.dst,
                code,
              },
            );
          }
        },
      },
    );
  } catch (err) {
    watch.close();
    pull.close();
    await server?.close();
    if (isUsageZmqError(err)) throw new UsageError(`cannot connect ${options.dst}`, { cause: err });
    throw err;
  }
  const push = pusher;
  const stopStats = startStatsLine(logger, options.statsIntervalMs, () =>
    summary(metrics, summaryNames, push),
  );
  const stop = (): void => pull.close();
  options.stopped.addEventListener('abort', stop, { once: true });
  const unHup = options.onHup?.(() => {
    if (server === null) return;
    logger.info('SIGHUP: reloading the allowlist');
    void server.reload();
  });
  logger.info('relaying', {
    src: pull.lastEndpoint ?? options.src,
    dst: options.dst,
    curve_bind: server !== null,
    curve_connect: clientKeys !== undefined,
  });
  try {
    if (!options.stopped.aborted) {
      for await (const parts of pull) {
        const msg = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
        // Its outputs join the PUSH end's queue (or are dropped and counted there): the next
        // input is read at once, whatever the peer's pace.
        transform.onMessage(msg);
      }
    }
  } finally {
    options.stopped.removeEventListener('abort', stop);
    unHup?.();
    stopStats();
    watch.close();
    if (!pull.closed) pull.close();
    transform.close();
    await push.close();
    await server?.close();
    logger.info('stopped', summary(metrics, summaryNames, push));
  }
}

/** What one relay CLI adds to {@link runRelayProgram}. */
export interface RelayProgramSpec {
  /** `component` of the relay's log lines. */
  component: string;
  /** Counters for what the PUSH socket accepted. */
  outPkt: MetricSeries;
  outBytes: MetricSeries;
  /** Counters of the periodic and the final summary line, in this order. */
  summary: readonly MetricSeries[];
  /** --queue when not given, bytes (default RELAY_DEFAULT_QUEUE_BYTES). */
  defaultQueueBytes?: number;
  /** The largest input message taken, bytes (see relayMaxMessageBytes). */
  maxMessageBytes: number;
  /** Builds the transform (see RelayOptions.makeTransform) once logger and metrics exist. */
  makeTransform(io: RelayIo): RelayTransform;
}

/** What a relay's transform works with. */
export interface RelayIo {
  /** Hands a message carrying `packets` packets to the PUSH end (never blocks). */
  send: (msg: Buffer, packets: number) => void;
  /** Counts a bad input message and warns once per error code. */
  bad: (err: WireError) => void;
  /** The relay's logger (`component` set). */
  logger: Logger;
  metrics: Metrics;
  /** --wire. */
  wire: RelayWire;
}

/**
 * The action of a relay CLI whose program has addRelayOptions and addStatsdOptions: runs
 * {@link runRelay} until SIGTERM/SIGINT with the metrics and signal watcher of withCliRuntime.
 * @returns 0 after a clean stop
 * @throws what runRelay throws (UsageError for a bad endpoint)
 */
export async function runRelayProgram(
  { opts, args, logger }: ProgramContext,
  spec: RelayProgramSpec,
): Promise<number> {
  const { wire, queueBytes, ...settings } = relaySettingsFrom(opts, args);
  const log = logger.child({ component: spec.component });
  await withCliRuntime(opts, logger, ({ signals, metrics }) =>
    runRelay(
      {
        ...settings,
        queueBytes: queueBytes ?? spec.defaultQueueBytes ?? RELAY_DEFAULT_QUEUE_BYTES,
        maxMessageBytes: spec.maxMessageBytes,
        logger: log,
        metrics,
        outPkt: spec.outPkt,
        outBytes: spec.outBytes,
        stopped: signals.stopped,
        onHup: (cb) => signals.onHup(cb),
        makeTransform: (send, bad) => spec.makeTransform({ send, bad, logger: log, metrics, wire }),
      },
      spec.summary,
    ),
  );
  return 0;
}

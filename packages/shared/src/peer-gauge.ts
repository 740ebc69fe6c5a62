// Connected ZeroMQ peers of one socket, as the gauge nflog_pipe_connected_peers{socket}: the
// socket's monitor events (ZMQ_EVENT_*) counted as they arrive, so a scrape shows how many
// senders (or relays, or query clients) are attached right now without asking ZeroMQ.

import type { Socket } from 'zeromq';
import { METRIC } from './metric-names.js';
import type { Metrics } from './metrics.js';

/**
 * With Prometheus export on, keeps `nflog_pipe_connected_peers{socket=<name>}` at the number of
 * peers connected to `socket`: +1 on `accept` (a bound socket took a connection) and on
 * `connect` (a connecting socket reached its peer), -1 on `disconnect`, never below 0. Without
 * it nothing is watched (no monitor socket). Call before bind/connect so no event is missed; the
 * monitor ends with the socket.
 */
export function watchPeers(metrics: Metrics, socket: Socket, name: string): void {
  if (metrics.prometheus === null) return;
  const gauge = metrics.gauge(METRIC.CONNECTED_PEERS, { socket: name });
  const events = socket.events;
  const up = (): void => gauge.add(1);
  events.on('accept', up);
  events.on('connect', up);
  events.on('disconnect', () => gauge.set(Math.max(0, gauge.value - 1)));
}

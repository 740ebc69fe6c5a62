// Checking ENDPOINT arguments up front, so a typo is a usage error (exit 2, one line) rather
// than a zeromq.js exception or a socket that silently connects nowhere.

import { UsageError } from './errors.js';

const TRANSPORTS = new Set(['tcp', 'ipc', 'ws', 'wss', 'pgm', 'epgm', 'tipc', 'vmci']);

/** Which side of a ZeroMQ connection an endpoint is for: only `bind` may use the `*` wildcard. */
export type EndpointRole = 'bind' | 'connect';

/**
 * Validates a ZeroMQ endpoint: `tcp://host:port` (port 1..65535, no path; `[v6addr]` allowed),
 * `ipc:///path` or `ipc://@abstract`, or another transport ZeroMQ knows (ws, wss with an
 * optional path; pgm, epgm, tipc, vmci) with a non-empty address without whitespace.
 * `inproc://` is refused: it cannot reach another process. For tcp/ws/wss, `*` as the host or
 * the port is allowed only when `role` is `'bind'`.
 * @param role 'connect' (default) or 'bind'
 * @returns the endpoint unchanged
 * @throws UsageError (`ERR_USAGE`) naming what is wrong
 */
export function validateEndpoint(endpoint: string, role: EndpointRole = 'connect'): string {
  const bad = (why: string): never => {
    throw new UsageError(`invalid endpoint ${JSON.stringify(endpoint)}: ${why}`);
  };
  const m = /^([a-z]+):\/\/(.+)$/.exec(endpoint);
  if (m === null) return bad('expected transport://address, e.g. tcp://10.0.0.1:5555');
  const transport = m[1]!;
  const address = m[2]!;
  if (transport === 'inproc') bad('inproc:// cannot reach another process');
  if (!TRANSPORTS.has(transport)) bad(`unknown transport ${transport}`);
  if (/\s/.test(address)) bad('whitespace in the address');
  if (transport === 'tcp' || transport === 'ws' || transport === 'wss') {
    const hp = /^(\[[0-9a-fA-F:.]+\]|[^:[\]/]+):(\d{1,5}|\*)(\/.*)?$/.exec(address);
    if (hp === null || (transport === 'tcp' && hp[3] !== undefined))
      return bad(`expected ${transport}://host:port`);
    if ((hp[1] === '*' || hp[2] === '*') && role === 'connect')
      bad("'*' is only for the side that binds");
    const port = Number(hp[2]);
    if (hp[2] !== '*' && !(port >= 1 && port <= 65535)) bad('port must be 1-65535');
  }
  return endpoint;
}

/**
 * True for an endpoint only this host can reach: `ipc://`, `inproc://`, and tcp/ws/wss on
 * 127.0.0.0/8, `[::1]` or `localhost`. A wildcard (`*`, `0.0.0.0`, `[::]`), an interface name,
 * another host name or another transport is not.
 */
export function isLocalEndpoint(endpoint: string): boolean {
  const m = /^([a-z]+):\/\/(.*)$/.exec(endpoint);
  if (m === null) return false;
  const [, transport, address] = m as unknown as [string, string, string];
  if (transport === 'ipc' || transport === 'inproc') return true;
  if (transport !== 'tcp' && transport !== 'ws' && transport !== 'wss') return false;
  // tcp://[source-address;]host:port: the part that binds or is reached is after the `;`.
  const hp = /^(?:[^;]*;)?(\[[^\]]*\]|[^:/]*):/.exec(address);
  const host = hp?.[1] ?? '';
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

// Checking SRC and DST up front, so a typo is a usage error (exit 2, one line) rather than a
// zeromq.js exception or a relay that silently connects nowhere.

import { UsageError } from '@nflog-pipe/shared';

const TRANSPORTS = new Set(['tcp', 'ipc', 'ws', 'wss', 'pgm', 'epgm', 'tipc', 'vmci']);

/**
 * Validates a ZeroMQ endpoint: `transport://address` with a transport ZeroMQ knows (inproc is
 * refused: it cannot reach another process) and, for tcp/ws/wss, `host:port` where the port is
 * 1..65535, or `*` when binding.
 * @param role 'bind' allows `*` as host or port; 'connect' does not
 * @returns the endpoint unchanged
 * @throws UsageError (ERR_USAGE) naming what is wrong
 */
export function checkEndpoint(endpoint: string, role: 'bind' | 'connect'): string {
  const bad = (why: string): never => {
    throw new UsageError(`invalid endpoint ${JSON.stringify(endpoint)}: ${why}`);
  };
  const m = /^([a-z]+):\/\/(\S+)$/.exec(endpoint);
  if (m === null) return bad('expected transport://address, e.g. tcp://127.0.0.1:5555');
  const transport = m[1]!;
  const address = m[2]!;
  if (!TRANSPORTS.has(transport)) bad(`unsupported transport ${transport}`);
  if (transport === 'tcp' || transport === 'ws' || transport === 'wss') {
    const hp = /^(\[[0-9a-fA-F:.]+\]|[^:[\]/]+):(\d{1,5}|\*)(\/.*)?$/.exec(address);
    if (hp === null) return bad(`expected ${transport}://host:port`);
    const wildcard = hp[1] === '*' || hp[2] === '*';
    if (wildcard && role === 'connect') bad("'*' is only for the bound side");
    const port = Number(hp[2]);
    if (hp[2] !== '*' && !(port >= 1 && port <= 65535)) bad('port must be 1-65535');
  }
  return endpoint;
}

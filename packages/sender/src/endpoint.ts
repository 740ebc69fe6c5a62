// Checking the ENDPOINT argument up front, so a typo is a usage error (exit 2) with a clear
// line instead of a zeromq.js exception or a sender that silently connects nowhere.

import { UsageError } from '@nflog-pipe/shared';

const TRANSPORTS = new Set(['tcp', 'ipc', 'ws', 'wss', 'pgm', 'epgm', 'tipc', 'vmci']);

/**
 * Validates a ZeroMQ endpoint to connect to: `tcp://host:port` (port 1..65535; `[v6addr]`
 * allowed), `ipc:///path` or `ipc://@abstract`, or another transport ZeroMQ knows
 * (ws, wss, pgm, epgm, tipc, vmci) with a non-empty address. `inproc://` is refused: it cannot
 * reach another process.
 * @returns the endpoint unchanged
 * @throws UsageError (`ERR_USAGE`) naming what is wrong
 */
export function validateEndpoint(endpoint: string): string {
  const m = /^([a-z]+):\/\/(.+)$/.exec(endpoint);
  if (m === null) throw new UsageError(`invalid endpoint ${JSON.stringify(endpoint)}: expected transport://address, e.g. tcp://10.0.0.1:5555`);
  const transport = m[1]!;
  const address = m[2]!;
  if (transport === 'inproc') throw new UsageError(`invalid endpoint ${JSON.stringify(endpoint)}: inproc:// cannot reach another process`);
  if (!TRANSPORTS.has(transport)) throw new UsageError(`invalid endpoint ${JSON.stringify(endpoint)}: unknown transport ${transport}`);
  if (/\s/.test(address)) throw new UsageError(`invalid endpoint ${JSON.stringify(endpoint)}: whitespace in the address`);
  if (transport === 'tcp' || transport === 'ws' || transport === 'wss') {
    const hp = /^(\[[0-9a-fA-F:.]+\]|[^:[\]/]+):(\d{1,5})(\/.*)?$/.exec(address);
    const port = hp === null ? NaN : Number(hp[2]);
    if (hp === null || !(port >= 1 && port <= 65535) || (transport === 'tcp' && hp[3] !== undefined)) {
      throw new UsageError(`invalid endpoint ${JSON.stringify(endpoint)}: expected ${transport}://host:port with port 1-65535`);
    }
    if (hp[1] === '*') throw new UsageError(`invalid endpoint ${JSON.stringify(endpoint)}: '*' is for bind, the sender connects`);
  }
  return endpoint;
}

/** One logging rule of {@link udpLogRuleset}: UDP to `port` is logged to NFLOG `group`. */
export interface UdpLogRule {
  port: number;
  group: number;
  /** The NFLOG prefix the kernel attaches (`log prefix "…"`; NFULA_PREFIX in a 239 record). */
  prefix?: string;
}

/**
 * An nft ruleset for a test namespace: on the output hook, each UDP destination port is
 * counted and logged to its NFLOG group (`udp dport P counter log group G`), so nftLogged()
 * reads what the kernel offered each group.
 */
export function udpLogRuleset(rules: readonly UdpLogRule[]): string {
  return [
    'table inet t {',
    '  chain out {',
    '    type filter hook output priority 0;',
    ...rules.map(
      (r) =>
        `    udp dport ${r.port} counter log ${r.prefix === undefined ? '' : `prefix "${r.prefix}" `}group ${r.group}`,
    ),
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * An nft ruleset for a test namespace: both directions of TCP with `port` on the output hook
 * (every packet is sent by this host, over lo), counted and logged to two groups: to the server
 * into group 1, which waits for its flush timeout, and from it into group 2, which flushes each
 * packet at once (`queue-threshold 1`), so that read apart, a SYN-ACK reaches its reader before
 * the SYN it answers. `extra`: more rule lines for the same chain (before the two).
 */
export function tcpDirectionsRuleset(port: number, extra: readonly string[] = []): string {
  return [
    'table inet t {',
    '  chain out {',
    '    type filter hook output priority 0;',
    ...extra.map((r) => `    ${r}`),
    `    tcp dport ${port} counter log group 1`,
    `    tcp sport ${port} counter log group 2 queue-threshold 1`,
    '  }',
    '}',
    '',
  ].join('\n');
}

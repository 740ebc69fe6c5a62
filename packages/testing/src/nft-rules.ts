/** One logging rule of {@link udpLogRuleset}: UDP to `port` is logged to NFLOG `group`. */
export interface UdpLogRule {
  port: number;
  group: number;
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
    ...rules.map((r) => `    udp dport ${r.port} counter log group ${r.group}`),
    '  }',
    '}',
    '',
  ].join('\n');
}

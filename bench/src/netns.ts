// The bench's namespace is @nflog-pipe/testing's Netns (also used by the tests).

/**
 * The bench's ruleset: every UDP datagram to `port` is logged to NFLOG group `group`, then
 * dropped. Both happen on the input hook: dropping on output would make sendmmsg() fail with
 * EPERM on every datagram and kill the generator's batching, and dropping on input before any
 * socket sees the datagram avoids ICMP port-unreachable replies and receive-path cost.
 */
export function benchRuleset(group: number, port: number): string {
  return [
    'table inet nfpbench {',
    '  chain in {',
    '    type filter hook input priority 0;',
    // A prefix, as a rule written for accounting has (the sender-acct-* rows count by it).
    `    udp dport ${port} log prefix "svc=bench;dir=in" group ${group} drop`,
    '  }',
    '}',
    '',
  ].join('\n');
}

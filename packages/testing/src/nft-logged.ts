import type { Netns } from './netns.js';

/**
 * Packets counted by the `counter`s of the nft rules in `ns` that log to NFLOG `group` (read
 * with `nft -j list ruleset`; summed when several rules log to it): what the kernel offered the
 * sender, for exact accounting.
 * @throws when no rule with a counter logs to that group, or nft fails (ERR_TEST_COMMAND)
 */
export async function nftLogged(ns: Netns, group: number): Promise<number> {
  return (await nftLoggedCounter(ns, group)).packets;
}

/**
 * Packets and bytes counted by the `counter`s of the nft rules in `ns` that log to NFLOG `group`
 * (what accounting by rule must equal), summed over those rules. @throws as nftLogged
 */
export async function nftLoggedCounter(
  ns: Netns,
  group: number,
): Promise<{ packets: number; bytes: number }> {
  const { stdout } = await ns.run('nft', ['-j', 'list', 'ruleset']);
  const rules = (
    JSON.parse(stdout) as { nftables: Array<{ rule?: { expr?: unknown[] } }> }
  ).nftables.flatMap((x) => (x.rule?.expr !== undefined ? [x.rule.expr] : []));
  let found: { packets: number; bytes: number } | undefined;
  for (const expr of rules) {
    const items = expr as Array<
      Record<string, { packets?: number; bytes?: number; group?: number }>
    >;
    const log = items.find((e) => e['log'] !== undefined)?.['log'];
    const counter = items.find((e) => e['counter'] !== undefined)?.['counter'];
    if (log?.group === group && counter?.packets !== undefined) {
      found ??= { packets: 0, bytes: 0 };
      found.packets += counter.packets;
      found.bytes += counter.bytes ?? 0;
    }
  }
  if (found !== undefined) return found;
  throw new Error(`no rule with a counter logging to group ${group}: ${stdout}`);
}

/**
 * What the walker's flow hash keys on (native/nl_flow.h; README "Flow hash"): the value each
 * record's index entry carries in FLOW_HASH, which a sender shards flows by.
 */
import { NflogError } from './errors.js';

/**
 * `'5tuple'`: addresses, protocol and ports (fragments by addresses and protocol, ICMP errors by
 * the packet they quote); `'2tuple'`: the two addresses only.
 */
export type NflogFlowKey = '5tuple' | '2tuple';

/** The flow keys, in the order of their native codes (NLF_KEY_5TUPLE = 0, NLF_KEY_2TUPLE = 1). */
export const NFLOG_FLOW_KEYS: readonly NflogFlowKey[] = ['5tuple', '2tuple'];

/**
 * The native code of `key` (default `'5tuple'`).
 * @throws NflogError ERR_NFLOG_INVALID_OPTION for anything else
 */
export function flowKeyCode(key: NflogFlowKey | undefined): 0 | 1 {
  if (key === undefined || key === '5tuple') return 0;
  if (key === '2tuple') return 1;
  throw new NflogError(
    'ERR_NFLOG_INVALID_OPTION',
    `flowKey must be '5tuple' or '2tuple', got ${String(key)}`,
  );
}

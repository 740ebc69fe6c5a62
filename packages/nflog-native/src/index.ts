/**
 * @nflog-pipe/nflog-native: NFLOG capture through a raw netlink socket,
 * delivered as Buffers of pcap records, in kernel order, with a per-record index.
 */
export {
  NFLOG_ERROR_CODES,
  NflogError,
  type NflogErrnoCode,
  type NflogErrorCode,
  type NflogErrorDetails,
} from './errors.js';
export {
  NflogSocket,
  NFLOG_COPY_RANGE_MAX_BYTES,
  NFLOG_DEFAULTS,
  NFLOG_MAX_GROUPS,
  NFLOG_NLBUFSIZ_MAX_BYTES,
  NFLOG_NLBUFSIZ_MIN_BYTES,
  NFLOG_ORDER_HOLD_SLACK_MS,
  NFLOG_RCVBUF_MAX_BYTES,
  NFLOG_TIMEOUT_UNIT_MS,
  type NflogBatchHandler,
  type NflogSocketOptions,
  type NflogStats,
} from './nflog-socket.js';
export {
  NFLOG_ACCOUNT_MAX_SERIES,
  type NflogAccount,
  type NflogAccountEntry,
} from './nflog-account.js';
export {
  parseNflogMessages,
  replayNflog,
  type NflogBatch,
  type NflogParseOptions,
  type NflogParseResult,
  type NflogReplayEvent,
  type NflogReplayOptions,
  type NflogWalkCounts,
  type NflogWalkOptions,
} from './parse-nflog-messages.js';
export { lockPrivileges } from './privileges.js';
export {
  NFLOG_INDEX,
  NFLOG_INDEX_ENTRY_BYTES,
  NFLOG_NO_HOOK,
  NFLOG_RECORD_FLAG,
  NF_HOOK,
  indexFlags,
  indexFlowHash,
  indexOffset,
  indexSeqGlobal,
} from './record-index.js';
export { NAMESPACE_ID_BYTES, readNamespaceId } from './namespace-id.js';
export { NFLOG_FLOW_KEYS, type NflogFlowKey } from './flow-key.js';
export { murmur3x86_32 } from './murmur3.js';
export { NFLOG_MAX_SHARDS, NFLOG_SHARD_BUCKETS, groupByShard, shardBucket } from './shard-group.js';

export { splitRecords, type RecordPiece } from './record-split.js';
export {
  FrameBatcher,
  type FrameBatcherOptions,
  type FrameBatcherLimits,
  type BatchPiecesSink,
} from './frame-batcher.js';
export { findUser, lookupUser, dropPrivileges, type UserIds } from './privileges.js';
export {
  SendPipeline,
  SEND_HEARTBEAT_INTERVAL_MS,
  SEND_STOP_HEARTBEAT_MS,
  randomSenderId,
  type SendOrderOptions,
  type SendPipelineOptions,
  type SendPipelineStats,
  type SendStreamOptions,
  type WireFormat,
} from './send-pipeline.js';
export {
  Sender,
  SENDER_KERNEL_STATS_POLL_MS,
  SENDER_SHARD_FAILOVER_MS,
  type SenderOptions,
  type SenderNflogOptions,
  type SenderShardOptions,
  type SenderStats,
} from './sender.js';
export { endpointSeed, rendezvousTable } from './rendezvous.js';
export {
  ShardRouter,
  type ShardLabels,
  type ShardMode,
  type ShardRouterOptions,
  type ShardSink,
} from './shard-router.js';
export {
  ShardFailover,
  type ShardFailoverEvent,
  type ShardFailoverOptions,
  type ShardHealth,
  type ShardTrouble,
} from './shard-failover.js';
export {
  ShardSet,
  type ShardSetOptions,
  type ShardStats,
  type ShardStreamOptions,
} from './shard-set.js';
export { KernelCounters } from './kernel-counters.js';
export { pusherMetrics } from './pusher-metrics.js';
export { SENDER_ERROR_CODES, SenderError, type SenderErrorCode } from './errors.js';
export { parsePrefixLabels } from './prefix-labels.js';
export {
  ACCOUNTING_DEFAULT_MAX_SERIES,
  ACCOUNTING_OTHER_LABELS,
  RuleAccounting,
} from './rule-accounting.js';

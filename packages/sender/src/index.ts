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
  type SendPipelineOptions,
  type SendPipelineStats,
  type SendStreamOptions,
  type WireFormat,
} from './send-pipeline.js';
export {
  Sender,
  SENDER_KERNEL_STATS_POLL_MS,
  type SenderOptions,
  type SenderNflogOptions,
  type SenderStats,
} from './sender.js';
export { KernelCounters } from './kernel-counters.js';
export { pusherMetrics } from './pusher-metrics.js';
export { SENDER_ERROR_CODES, SenderError, type SenderErrorCode } from './errors.js';
export { parsePrefixLabels } from './prefix-labels.js';
export {
  ACCOUNTING_DEFAULT_MAX_SERIES,
  ACCOUNTING_OTHER_LABELS,
  RuleAccounting,
} from './rule-accounting.js';

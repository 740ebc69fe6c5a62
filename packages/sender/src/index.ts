export { splitRecords, type RecordPiece } from './record-split.js';
export { FrameBatcher, type FrameBatcherOptions, type BatchSink } from './frame-batcher.js';
export { findUser, lookupUser, dropPrivileges, type UserIds } from './privileges.js';
export {
  SendPipeline,
  randomSenderId,
  type SendPipelineOptions,
  type SendPipelineStats,
  type WireFormat,
} from './send-pipeline.js';

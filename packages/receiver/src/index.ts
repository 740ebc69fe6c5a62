export { parseAddress, parsePrefix, prefixContains, type AddressPrefix } from './address.js';
export { FIFO_FINISH_RECORD_MS, FifoSink, type FifoSinkOptions } from './fifo-sink.js';
export { FILE_SINK_RETRY_MS, FileSink } from './file-sink.js';
export type { PcapSink, PcapSinkEvents, PcapSinkOptions, PcapSinkStats } from './pcap-sink.js';
export { nflogPayload, packetFields, parseIpPacket, type PacketFields } from './packet-fields.js';
export {
  filtersRecords,
  queryFilterFrom,
  selectRecords,
  type QueryFilter,
  type RecordFormat,
  type Selection,
} from './query-filter.js';
export {
  RING_SEGMENT_BYTES,
  RingBuffer,
  type RingBatch,
  type RingBufferOptions,
  type RingBufferStats,
} from './ring-buffer.js';
export {
  SEQUENCE_JUMP_SLACK,
  SEQUENCE_MAX_PPS,
  SEQUENCE_TRACKER_DEFAULT_MAX_SENDERS,
  SequenceTracker,
  type SenderStats,
  type SequenceVerdict,
} from './sequence-tracker.js';
export { QUERY_MAX_REQUEST_BYTES, QueryServer, type QueryServerOptions } from './query-server.js';
export { Receiver, type ReceiverOptions, type ReceiverStats, type WireMode } from './receiver.js';
export { RECEIVER_ERROR_CODES, ReceiverError, type ReceiverErrorCode } from './errors.js';
export { checkOutput, type OutputKind } from './output-check.js';
export {
  REORDER_DEFAULT_WINDOW_MS,
  REORDER_HELD_RECORD_BYTES,
  REORDER_IDLE_MS,
  REORDER_MAX_NAMESPACES,
  REORDER_MAX_NAMESPACE_SENDERS,
  ReorderWindow,
  type ReorderStats,
  type ReorderWindowOptions,
} from './reorder-window.js';

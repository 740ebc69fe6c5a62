export { parseAddress, parsePrefix, prefixContains, type AddressPrefix } from './address.js';
export { FIFO_FINISH_RECORD_MS, FifoSink, type FifoSinkOptions } from './fifo-sink.js';
export { FILE_SINK_RETRY_MS, FileSink } from './file-sink.js';
export {
  RECEIVER_LINKTYPES,
  convertRecords,
  isReceiverLinktype,
  type ConvertedBatch,
} from './linktype-convert.js';
export {
  OutputFanout,
  type FanoutOutput,
  type OutputName,
  type OutputStats,
} from './output-fanout.js';
export {
  OUTPUT_DROP_QUIET_MS,
  OutputDropWarning,
  type OutputDropWarningOptions,
} from './output-drop-warning.js';
export {
  PCAP_OVER_IP_DEFAULT_MAX_CLIENTS,
  PCAP_OVER_IP_DEFAULT_PORT,
  PCAP_OVER_IP_DEFAULT_QUEUE_BYTES,
  PcapOverIpServer,
  type PcapOverIpClientStats,
  type PcapOverIpOptions,
} from './pcap-over-ip-server.js';
export {
  ROTATE_RETRY_MS,
  RotatingFileSink,
  type RotatedFile,
  type RotatingFileSinkOptions,
} from './rotating-file-sink.js';
export { emptySinkStats, type SinkLossReason } from './sink-ledger.js';
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
export {
  Receiver,
  type PcapOverIpConfig,
  type ReceiverOptions,
  type ReceiverStats,
  type RotateConfig,
  type WireMode,
} from './receiver.js';
export { RECEIVER_ERROR_CODES, ReceiverError, type ReceiverErrorCode } from './errors.js';
export { checkOutput, type OutputCheck, type OutputKind } from './output-check.js';
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

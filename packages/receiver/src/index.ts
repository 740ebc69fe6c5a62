export { parseAddress, parsePrefix, prefixContains, type AddressPrefix } from './address.js';
export { FifoSink } from './fifo-sink.js';
export { FileSink } from './file-sink.js';
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
export { RingBuffer, type RingBatch, type RingBufferStats } from './ring-buffer.js';
export {
  SEQUENCE_TRACKER_DEFAULT_MAX_SENDERS,
  SequenceTracker,
  type SenderStats,
  type SequenceVerdict,
} from './sequence-tracker.js';
export { QueryServer, type QueryServerOptions } from './query-server.js';
export { Receiver, type ReceiverOptions, type ReceiverStats, type WireMode } from './receiver.js';

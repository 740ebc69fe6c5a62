export {
  LINKTYPE_NFLOG,
  LINKTYPE_RAW,
  PCAP_DEFAULT_SNAPLEN,
  PCAP_HEADER_BYTES,
  PCAP_MAGIC_NSEC,
  PCAP_MAGIC_USEC,
  PCAP_VERSION_MAJOR,
  PCAP_VERSION_MINOR,
} from './constants.js';
export {
  PcapFormatError,
  PcapPipeError,
  PcapWriteError,
  type PcapBatch,
  type PcapFormatErrorCode,
  type PcapLoss,
  type PcapWriteErrorCode,
} from './errors.js';
export { encodePcapHeader, type PcapHeaderOptions } from './header.js';
export {
  countRecords,
  encodeRecords,
  iterateRecords,
  recordsToNanosecond,
  writeRecordHeader,
  type PcapPacket,
  type PcapRecord,
} from './records.js';
export {
  PCAP_MAX_CONVERTIBLE_USEC,
  PCAP_RECORD_HEADER_BYTES,
  RECORD_END,
  RECORD_OK,
  RECORD_SHORT_DATA,
  RECORD_SHORT_HEADER,
  RecordCursor,
  recordEnd,
  recordFaultError,
  recordToNanosecond,
  type RecordFault,
  type RecordStep,
} from './record-walk.js';
export {
  readPcap,
  readPcapFile,
  readPcapHeader,
  type PcapFile,
  type PcapFileHeader,
} from './reader.js';
export { PIPE_BUF_BYTES } from './fifo-output.js';
export {
  PIPE_DEFAULT_BYTES,
  PIPE_MAX_REQUEST_BYTES,
  getPipeSize,
  pipeMaxSizeBytes,
  pipeUnread,
  raisePipeSize,
  setPipeSize,
  type PipeSizeOutcome,
} from './pipe-size.js';
export { MAP_LARGE_BLOCKS_DEFAULT_BYTES, mapLargeBlocks } from './malloc-tuning.js';
export {
  PCAP_WRITER_DEFAULT_HWM_BYTES,
  PCAP_WRITER_DEFAULT_PROBE_MS,
  PCAP_WRITER_DEFAULT_READER_GONE_MS,
  PCAP_WRITER_DEFAULT_RETRY_MS,
  PcapWriter,
  type PcapWaitReaderGoneOptions,
  type PcapWriterKind,
  type PcapWriterOptions,
} from './pcap-writer.js';

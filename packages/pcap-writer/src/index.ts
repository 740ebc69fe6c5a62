export {
  LINKTYPE_NFLOG,
  LINKTYPE_RAW,
  PCAP_DEFAULT_SNAPLEN,
  PCAP_HEADER_BYTES,
  PCAP_MAGIC_NSEC,
  PCAP_MAGIC_USEC,
  PCAP_RECORD_HEADER_BYTES,
  PCAP_VERSION_MAJOR,
  PCAP_VERSION_MINOR,
} from './constants.js';
export {
  PcapFormatError,
  PcapWriteError,
  type PcapFormatErrorCode,
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
export { readPcap, readPcapFile, type PcapFile, type PcapFileHeader } from './reader.js';
export {
  PCAP_WRITER_DEFAULT_HWM_BYTES,
  PCAP_WRITER_DEFAULT_RETRY_MS,
  PcapWriter,
  type PcapWriterKind,
  type PcapWriterOptions,
} from './pcap-writer.js';

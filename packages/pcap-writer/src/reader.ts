import { readFile } from 'node:fs/promises';
import { PCAP_HEADER_BYTES, PCAP_MAGIC_NSEC, PCAP_MAGIC_USEC } from './constants.js';
import { PcapFormatError } from './errors.js';
import { walkRecords, type PcapRecord } from './records.js';

/** The global header of a pcap file, as read by {@link readPcap}. */
export interface PcapFileHeader {
  /** Record timestamps are nanoseconds (magic 0xa1b23c4d) rather than microseconds. */
  nanosecond: boolean;
  /** LINKTYPE_ value (the header's "network" field, FCS bits masked off). */
  linktype: number;
  /** Snapshot length in bytes, as written by the producer. */
  snaplen: number;
  /** The file was written little-endian (true for everything we write). */
  littleEndian: boolean;
}

/** A whole pcap file: header and every record. */
export interface PcapFile {
  header: PcapFileHeader;
  /** Records in file order; each `data` is a view into the buffer given to {@link readPcap}. */
  records: PcapRecord[];
}

/**
 * Parse the 24-byte global header at the start of `buf` (any more bytes are ignored). Accepts
 * both magics (usec, nsec) in both byte orders, as pcap-savefile(5) requires of readers.
 *
 * @throws PcapFormatError `ERR_PCAP_TRUNCATED` (shorter than 24 bytes) or `ERR_PCAP_BAD_MAGIC`
 *   (the first four bytes are no pcap magic).
 */
export function readPcapHeader(buf: Buffer): PcapFileHeader {
  if (buf.length < PCAP_HEADER_BYTES) {
    throw new PcapFormatError(
      'ERR_PCAP_TRUNCATED',
      `pcap header needs ${PCAP_HEADER_BYTES} bytes, got ${buf.length}`,
      0,
    );
  }
  const magicLE = buf.readUInt32LE(0);
  const magicBE = buf.readUInt32BE(0);
  let littleEndian: boolean;
  let nanosecond: boolean;
  if (magicLE === PCAP_MAGIC_USEC || magicLE === PCAP_MAGIC_NSEC) {
    littleEndian = true;
    nanosecond = magicLE === PCAP_MAGIC_NSEC;
  } else if (magicBE === PCAP_MAGIC_USEC || magicBE === PCAP_MAGIC_NSEC) {
    littleEndian = false;
    nanosecond = magicBE === PCAP_MAGIC_NSEC;
  } else {
    throw new PcapFormatError(
      'ERR_PCAP_BAD_MAGIC',
      `not a pcap file: magic 0x${magicBE.toString(16).padStart(8, '0')}`,
      0,
    );
  }
  const u32 = (at: number): number => (littleEndian ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
  return {
    nanosecond,
    // Only the low 16 bits are the link type; the upper bits may carry FCS information
    // (pcap-savefile(5), "LinkType and additional information"; libpcap LT_LINKTYPE()).
    linktype: u32(20) & 0xffff,
    snaplen: u32(16),
    littleEndian,
  };
}

/**
 * Parse a complete pcap file held in memory: {@link readPcapHeader}, then every record. Meant
 * for tests and queries, not for the packet path.
 *
 * @throws PcapFormatError `ERR_PCAP_TRUNCATED` (shorter than the 24-byte header, or a record runs
 *   past the end) or `ERR_PCAP_BAD_MAGIC` (the first four bytes are no pcap magic).
 */
export function readPcap(buf: Buffer): PcapFile {
  const header = readPcapHeader(buf);
  const records = [...walkRecords(buf, PCAP_HEADER_BYTES, header.littleEndian)];
  return { header, records };
}

/**
 * Read and parse a pcap file from disk (see {@link readPcap}).
 *
 * @throws the fs error (`ENOENT`, ...) if the file cannot be read, or PcapFormatError.
 */
export async function readPcapFile(path: string): Promise<PcapFile> {
  return readPcap(await readFile(path));
}

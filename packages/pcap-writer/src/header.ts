import {
  LINKTYPE_RAW,
  PCAP_DEFAULT_SNAPLEN,
  PCAP_HEADER_BYTES,
  PCAP_MAGIC_NSEC,
  PCAP_MAGIC_USEC,
  PCAP_VERSION_MAJOR,
  PCAP_VERSION_MINOR,
} from './constants.js';

/** Options for {@link encodePcapHeader}. */
export interface PcapHeaderOptions {
  /** Link-layer header type of every record (the header's "network" field). Default 101 (raw IP). */
  linktype?: number;
  /** Largest number of bytes captured per packet. Default {@link PCAP_DEFAULT_SNAPLEN} (262144). */
  snaplen?: number;
  /** Record timestamps carry nanoseconds instead of microseconds. Default false. */
  nanosecond?: boolean;
}

/**
 * Encode the 24-byte pcap global header, little-endian.
 *
 * Layout per pcap-savefile(5) (and libpcap `sf_write_header()` in sf-pcap.c):
 *
 * | offset | size | field                                                  |
 * |-------:|-----:|--------------------------------------------------------|
 * |      0 |    4 | magic: 0xa1b2c3d4 (usec) or 0xa1b23c4d (nsec)          |
 * |      4 |    2 | version major (2)                                      |
 * |      6 |    2 | version minor (4)                                      |
 * |      8 |    4 | thiszone: always 0 (timestamps are UTC)                |
 * |     12 |    4 | sigfigs: always 0                                      |
 * |     16 |    4 | snaplen                                                |
 * |     20 |    4 | network: the LINKTYPE_ value (upper bits, FCS info, 0) |
 *
 * Readers detect the byte order from the magic, so writing our host order (LE) is valid; we
 * fix it to little-endian so the bytes are the same on every host.
 *
 * @throws RangeError if `linktype` or `snaplen` do not fit an unsigned 32-bit field.
 */
export function encodePcapHeader(options: PcapHeaderOptions = {}): Buffer {
  const { linktype = LINKTYPE_RAW, snaplen = PCAP_DEFAULT_SNAPLEN, nanosecond = false } = options;
  const buf = Buffer.alloc(PCAP_HEADER_BYTES);
  buf.writeUInt32LE(nanosecond ? PCAP_MAGIC_NSEC : PCAP_MAGIC_USEC, 0);
  buf.writeUInt16LE(PCAP_VERSION_MAJOR, 4);
  buf.writeUInt16LE(PCAP_VERSION_MINOR, 6);
  buf.writeInt32LE(0, 8);
  buf.writeUInt32LE(0, 12);
  buf.writeUInt32LE(snaplen, 16);
  buf.writeUInt32LE(linktype, 20);
  return buf;
}

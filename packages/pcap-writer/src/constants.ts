// Numbers from pcap-savefile(5) and the tcpdump.org link-layer header type registry.

/** Magic of a pcap file whose record timestamps are seconds + microseconds. */
export const PCAP_MAGIC_USEC = 0xa1b2c3d4;

/** Magic of a pcap file whose record timestamps are seconds + nanoseconds. */
export const PCAP_MAGIC_NSEC = 0xa1b23c4d;

/** pcap file format version written in the global header (2.4, the only one readers expect). */
export const PCAP_VERSION_MAJOR = 2;
/** Minor half of the pcap format version (see {@link PCAP_VERSION_MAJOR}). */
export const PCAP_VERSION_MINOR = 4;

/** LINKTYPE_RAW: each packet starts with an IPv4 or IPv6 header (DLT_RAW on Linux). */
export const LINKTYPE_RAW = 101;

/** LINKTYPE_NFLOG: each packet is an nflog_hdr followed by the kernel's NFLOG TLVs. */
export const LINKTYPE_NFLOG = 239;

/** Size of the pcap global (file) header, in bytes. */
export const PCAP_HEADER_BYTES = 24;

/** Snapshot length written by default: 262144 bytes, tcpdump's default. */
export const PCAP_DEFAULT_SNAPLEN = 262144;

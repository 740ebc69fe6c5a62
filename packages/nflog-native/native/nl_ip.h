/*
 * What an IP packet's own header says, for the record walker: the length the
 * packet really had (NFLOG has no original-length attribute), and the
 * checksums a locally generated packet will carry on the wire.
 *
 * No sockets, no N-API, no allocation; every length is checked against the
 * captured bytes before it is used.
 */
#ifndef NFLOG_NATIVE_NL_IP_H
#define NFLOG_NATIVE_NL_IP_H

#include <stddef.h>
#include <stdint.h>

/*
 * The stack writes a zero IP length only for a BIG TCP super-packet, which
 * is longer than 64 KiB: a record of one is cut, and this is the least the
 * packet can have been (IPv6 adds its 40-byte header).
 */
#define NLI_BIG_TCP_MIN_IP_BYTES 65536u

/*
 * The length of the packet `p[0..n)` (n = bytes captured) as its header
 * gives it: IPv4 total length; IPv6 40 + payload length, or 40 + the jumbo
 * payload option's length when the payload length is 0; for a zero length
 * without a jumbo option (BIG TCP) NLI_BIG_TCP_MIN_IP_BYTES (+40 for IPv6),
 * a lower bound. Never less than n; n for anything that is not IPv4/IPv6.
 */
size_t nli_orig_len(const uint8_t *p, size_t n);

/* Bits of nli_complete_checksums()'s result. */
#define NLI_CSUM_FIXED 0x1 /* a checksum field was rewritten */
/* A TCP, UDP or ICMPv6 checksum could not be completed and was left as
 * logged: the packet is cut (copy range, snaplen, BIG TCP), a non-first or
 * non-last fragment, or behind an IPv6 routing header still to be followed
 * (its pseudo-header would name another destination). */
#define NLI_CSUM_INCOMPLETE 0x2

/*
 * Rewrite, in place, the checksums of the locally generated packet
 * `p[0..n)` as the NIC would put them on the wire (checksum offload leaves
 * TCP/UDP with only the pseudo-header sum): the IPv4 header checksum, and
 * the TCP, UDP (IPv4 and IPv6) and ICMPv6 checksums over the whole segment.
 * A UDP checksum of 0 (none, allowed for IPv4 and for IPv6 tunnels) stays 0.
 * Other protocols (ICMPv4, SCTP, ...) are left alone. Returns NLI_CSUM_* bits.
 */
int nli_complete_checksums(uint8_t *p, size_t n);

#endif

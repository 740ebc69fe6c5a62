/*
 * The flow hash of a packet, for sharding a capture across several IDS hosts
 * (the sender's --shard flow): one 32-bit value that both directions of a
 * flow share, computed by the record walker from the bytes it copies anyway.
 *
 * Deterministic everywhere: murmur3_x86_32 with seed 0 over a canonical key
 * built from the packet's own bytes in network order, so every sender on any
 * host, after any restart, gives a flow the same hash (README "Flow hash"
 * documents the key so another implementation can match it).
 *
 * No sockets, no N-API, no allocation; every length is checked against the
 * captured bytes before it is used.
 */
#ifndef NFLOG_NATIVE_NL_FLOW_H
#define NFLOG_NATIVE_NL_FLOW_H

#include <stddef.h>
#include <stdint.h>

/* What the key holds (nlr_config.flow_key). */
#define NLF_KEY_5TUPLE 0 /* addresses, protocol, ports (default) */
#define NLF_KEY_2TUPLE 1 /* addresses only: every packet of a host pair */

/*
 * The flow hash of the IP packet `p[0..n)` (n = bytes captured):
 * - 5-tuple: both addresses, the transport protocol and, for TCP, UDP,
 *   UDP-Lite, SCTP and DCCP, both ports (ICMP and ICMPv6 echo: the
 *   identifier as both ports); ordered so that both directions give the
 *   same key. IPv6 extension headers are stepped over. A fragment (IPv4
 *   MF or offset, IPv6 fragment header that is not atomic) is keyed by its
 *   addresses and protocol, so all fragments of a datagram go together.
 *   An ICMP/ICMPv6 error is keyed by the packet it quotes, so it goes with
 *   the flow it is about.
 * - 2-tuple: the two addresses only (the ICMP error rule still applies).
 * A packet cut before its ports is keyed without them; one cut before its
 * addresses, or not IPv4/IPv6, hashes to 0.
 */
uint32_t nlf_flow_hash(const uint8_t *p, size_t n, int key);

/* murmur3_x86_32 (Austin Appleby's MurmurHash3, public domain) of
 * key[0..len) with `seed`, blocks read little-endian whatever the host. */
uint32_t nlf_murmur3(const uint8_t *key, size_t len, uint32_t seed);

#endif

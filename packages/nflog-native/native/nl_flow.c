/*
 * The flow hash. See nl_flow.h; the key layout is in the package README
 * ("Flow hash"), which the tests check against an independent murmur3.
 */
#include "nl_flow.h"

#include <string.h>

#define NLF_PROTO_ICMP 1
#define NLF_PROTO_TCP 6
#define NLF_PROTO_UDP 17
#define NLF_PROTO_DCCP 33
#define NLF_PROTO_ICMPV6 58
#define NLF_PROTO_SCTP 132
#define NLF_PROTO_UDPLITE 136
#define NLF_IPV4_MIN_HDR_BYTES 20u
#define NLF_IPV6_HDR_BYTES 40u
/* More extension headers than this before the transport header: stop there
 * (the same bound as the checksum pass, nl_ip.c). */
#define NLF_IPV6_MAX_EXT_HEADERS 8
#define NLF_IPV6_EXT_HOP_BY_HOP 0
#define NLF_IPV6_EXT_ROUTING 43
#define NLF_IPV6_EXT_FRAGMENT 44
#define NLF_IPV6_EXT_AH 51
#define NLF_IPV6_EXT_DEST 60
#define NLF_IPV6_EXT_HIP 139
#define NLF_IPV6_EXT_SHIM6 140
/* The ICMP error header before the quoted packet: type, code, checksum and
 * 4 bytes (unused, MTU, pointer). */
#define NLF_ICMP_ERROR_HDR_BYTES 8u
/* Key: two IPv6 addresses, the protocol, two ports. */
#define NLF_KEY_MAX_BYTES (16u + 16u + 1u + 2u + 2u)

/* What a packet's key is made of; a and b point into the packet. */
struct nlf_tuple {
  const uint8_t *a;
  const uint8_t *b;
  size_t alen; /* 4 or 16 */
  unsigned proto;
  unsigned pa; /* port (or echo identifier) beside a, 0 when none */
  unsigned pb;
};

static unsigned nlf_be16(const uint8_t *p) {
  return (unsigned)p[0] << 8 | p[1];
}

static uint32_t nlf_rotl(uint32_t x, int r) {
  return (x << r) | (x >> (32 - r));
}

uint32_t nlf_murmur3(const uint8_t *key, size_t len, uint32_t seed) {
  const uint32_t c1 = 0xcc9e2d51u, c2 = 0x1b873593u;
  const uint8_t *tail = key + (len & ~(size_t)3);
  uint32_t h = seed, k;
  size_t i;

  for (i = 0; i + 4 <= len; i += 4) {
    k = (uint32_t)key[i] | (uint32_t)key[i + 1] << 8 |
        (uint32_t)key[i + 2] << 16 | (uint32_t)key[i + 3] << 24;
    k *= c1;
    k = nlf_rotl(k, 15);
    k *= c2;
    h ^= k;
    h = nlf_rotl(h, 13);
    h = h * 5 + 0xe6546b64u;
  }
  k = 0;
  if ((len & 3) == 3)
    k ^= (uint32_t)tail[2] << 16;
  if ((len & 3) >= 2)
    k ^= (uint32_t)tail[1] << 8;
  if ((len & 3) >= 1) {
    k ^= tail[0];
    k *= c1;
    k = nlf_rotl(k, 15);
    k *= c2;
    h ^= k;
  }
  h ^= (uint32_t)len;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

static int nlf_has_ports(unsigned proto) {
  return proto == NLF_PROTO_TCP || proto == NLF_PROTO_UDP ||
         proto == NLF_PROTO_SCTP || proto == NLF_PROTO_DCCP ||
         proto == NLF_PROTO_UDPLITE;
}

/* ICMP echo request/reply: the identifier is the same both ways. */
static int nlf_is_echo(unsigned type, int v6) {
  return v6 ? type == 128 || type == 129 : type == 8 || type == 0;
}

/* Errors that quote the packet that caused them: destination unreachable,
 * source quench, redirect, time exceeded, parameter problem (ICMPv4);
 * destination unreachable, packet too big, time exceeded, parameter problem
 * (ICMPv6). */
static int nlf_is_error(unsigned type, int v6) {
  if (v6)
    return type >= 1 && type <= 4;
  return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

static int nlf_parse(const uint8_t *p, size_t n, int depth,
                     struct nlf_tuple *t);

/* Ports, echo identifier or quoted packet of the transport bytes l4[0..n). */
static void nlf_transport(const uint8_t *l4, size_t n, int v6, int depth,
                          struct nlf_tuple *t) {
  unsigned icmp = v6 ? NLF_PROTO_ICMPV6 : NLF_PROTO_ICMP;
  struct nlf_tuple inner;

  if (nlf_has_ports(t->proto)) {
    if (n >= 4) {
      t->pa = nlf_be16(l4);
      t->pb = nlf_be16(l4 + 2);
    }
    return;
  }
  if (t->proto != icmp || n < 1)
    return;
  if (nlf_is_echo(l4[0], v6)) {
    if (n >= 6)
      t->pa = t->pb = nlf_be16(l4 + 4);
    return;
  }
  /* One level only: an error about an error is keyed by its own addresses.
   * A quote of the other IP version, or too short for its addresses, keeps
   * the error's own addresses too. */
  if (depth == 0 && nlf_is_error(l4[0], v6) && n > NLF_ICMP_ERROR_HDR_BYTES &&
      nlf_parse(l4 + NLF_ICMP_ERROR_HDR_BYTES, n - NLF_ICMP_ERROR_HDR_BYTES, 1,
                &inner) &&
      inner.alen == t->alen)
    *t = inner;
}

static int nlf_v4(const uint8_t *p, size_t n, int depth, struct nlf_tuple *t) {
  size_t ihl;

  if (n < NLF_IPV4_MIN_HDR_BYTES)
    return 0;
  t->a = p + 12;
  t->b = p + 16;
  t->alen = 4;
  t->proto = p[9];
  ihl = (size_t)(p[0] & 0x0f) * 4u;
  /* A fragment (more fragments, or an offset) has ports only in the first
   * one: key every fragment by addresses and protocol. The total length is
   * not trusted: a quoted packet claims more bytes than the quote holds. */
  if ((nlf_be16(p + 6) & 0x3fff) != 0 || ihl < NLF_IPV4_MIN_HDR_BYTES ||
      ihl > n)
    return 1;
  nlf_transport(p + ihl, n - ihl, 0, depth, t);
  return 1;
}

static int nlf_v6(const uint8_t *p, size_t n, int depth, struct nlf_tuple *t) {
  size_t off = NLF_IPV6_HDR_BYTES, hlen;
  unsigned nh;
  int i;

  if (n < NLF_IPV6_HDR_BYTES)
    return 0;
  t->a = p + 8;
  t->b = p + 24;
  t->alen = 16;
  nh = p[6];
  for (i = 0; i < NLF_IPV6_MAX_EXT_HEADERS; i++) {
    if (nh == NLF_IPV6_EXT_FRAGMENT) {
      if (n - off < 8)
        break;
      /* Not atomic (an offset, or more fragments): the upper protocol the
       * fragment header names, which every fragment of the datagram
       * carries, and no ports. */
      if ((nlf_be16(p + off + 2) & 0xfff9) != 0) {
        t->proto = p[off];
        return 1;
      }
      hlen = 8;
    } else if (nh == NLF_IPV6_EXT_AH) {
      if (n - off < 2)
        break;
      hlen = ((size_t)p[off + 1] + 2) * 4;
    } else if (nh == NLF_IPV6_EXT_HOP_BY_HOP || nh == NLF_IPV6_EXT_ROUTING ||
               nh == NLF_IPV6_EXT_DEST || nh == NLF_IPV6_EXT_HIP ||
               nh == NLF_IPV6_EXT_SHIM6) {
      if (n - off < 2)
        break;
      hlen = ((size_t)p[off + 1] + 1) * 8;
    } else {
      t->proto = nh;
      nlf_transport(p + off, n - off, 1, depth, t);
      return 1;
    }
    if (hlen > n - off)
      break;
    nh = p[off];
    off += hlen;
  }
  /* Cut inside the extension headers, or too many of them: keyed by the
   * header we stopped at, without ports. */
  t->proto = nh;
  return 1;
}

static int nlf_parse(const uint8_t *p, size_t n, int depth,
                     struct nlf_tuple *t) {
  memset(t, 0, sizeof(*t));
  if (n < 1)
    return 0;
  if (p[0] >> 4 == 4)
    return nlf_v4(p, n, depth, t);
  if (p[0] >> 4 == 6)
    return nlf_v6(p, n, depth, t);
  return 0;
}

uint32_t nlf_flow_hash(const uint8_t *p, size_t n, int key) {
  struct nlf_tuple t;
  uint8_t k[NLF_KEY_MAX_BYTES];
  const uint8_t *lo, *hi;
  unsigned plo, phi;
  int cmp;
  size_t len;

  if (!nlf_parse(p, n, 0, &t))
    return 0;
  if (key == NLF_KEY_2TUPLE) {
    t.proto = 0;
    t.pa = t.pb = 0;
  }
  /* Both directions give one key: the smaller (address, port) first. */
  cmp = memcmp(t.a, t.b, t.alen);
  if (cmp < 0 || (cmp == 0 && t.pa <= t.pb)) {
    lo = t.a;
    hi = t.b;
    plo = t.pa;
    phi = t.pb;
  } else {
    lo = t.b;
    hi = t.a;
    plo = t.pb;
    phi = t.pa;
  }
  memcpy(k, lo, t.alen);
  memcpy(k + t.alen, hi, t.alen);
  len = 2 * t.alen;
  k[len++] = (uint8_t)t.proto;
  k[len++] = (uint8_t)(plo >> 8);
  k[len++] = (uint8_t)plo;
  k[len++] = (uint8_t)(phi >> 8);
  k[len++] = (uint8_t)phi;
  return nlf_murmur3(k, len, 0);
}

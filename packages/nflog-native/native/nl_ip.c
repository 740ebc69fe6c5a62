/*
 * IP header facts for the record walker. See nl_ip.h.
 *
 * Checksums are summed in host byte order (RFC 1071, 2(B)): the folded sum of
 * host-order 16-bit words, stored back in host order, gives the same bytes as
 * the big-endian arithmetic, and lets the loop add 32 bits at a time.
 */
#include "nl_ip.h"

#include <string.h>

#define NLI_PROTO_TCP 6
#define NLI_PROTO_UDP 17
#define NLI_PROTO_ICMPV6 58
#define NLI_IPV4_MIN_HDR_BYTES 20u
#define NLI_IPV6_HDR_BYTES 40u
/* More extension headers than this before the transport header: give up. */
#define NLI_IPV6_MAX_EXT_HEADERS 8
#define NLI_IPV6_EXT_HOP_BY_HOP 0
#define NLI_IPV6_EXT_ROUTING 43
#define NLI_IPV6_EXT_FRAGMENT 44
#define NLI_IPV6_EXT_AH 51
#define NLI_IPV6_EXT_DEST 60
#define NLI_IPV6_OPT_PAD1 0
#define NLI_IPV6_OPT_JUMBO 0xc2

static size_t nli_be16(const uint8_t *p) {
  return (size_t)p[0] << 8 | p[1];
}

static size_t nli_be32(const uint8_t *p) {
  return (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
}

static uint64_t nli_sum(uint64_t acc, const uint8_t *p, size_t n) {
  uint32_t w32, w[4];
  uint16_t w16 = 0;
  uint64_t a1 = 0, a2 = 0, a3 = 0;
  /* Four independent sums, so the additions do not wait on each other (the
   * whole segment of every local TCP/UDP packet goes through here). */
  while (n >= 16) {
    memcpy(w, p, 16);
    acc += w[0];
    a1 += w[1];
    a2 += w[2];
    a3 += w[3];
    p += 16;
    n -= 16;
  }
  acc += a1 + a2 + a3;
  while (n >= 4) {
    memcpy(&w32, p, 4);
    acc += w32;
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    memcpy(&w16, p, 2);
    acc += w16;
    p += 2;
    n -= 2;
  }
  if (n == 1) {
    /* The odd byte is the high half of a zero-padded big-endian word: the
     * byte at the lower address, whatever the host order. */
    w16 = 0;
    memcpy(&w16, p, 1);
    acc += w16;
  }
  return acc;
}

static uint16_t nli_fold(uint64_t acc) {
  while (acc >> 16)
    acc = (acc & 0xffff) + (acc >> 16);
  return (uint16_t)acc;
}

/*
 * Store the checksum of `acc` (the pseudo-header, already summed) plus
 * data[0..len) into the 2-byte `field` inside data, which counts as 0 while
 * summing. udp: a computed 0 goes out as 0xffff (0 means "no checksum").
 * Returns NLI_CSUM_FIXED when the bytes changed.
 */
static int nli_put(uint8_t *field, uint64_t acc, const uint8_t *data,
                   size_t len, int udp) {
  uint8_t old[2];
  uint16_t c;
  memcpy(old, field, 2);
  field[0] = field[1] = 0;
  c = (uint16_t)~nli_fold(nli_sum(acc, data, len));
  if (udp && c == 0)
    c = 0xffff;
  memcpy(field, &c, 2);
  return memcmp(old, field, 2) != 0 ? NLI_CSUM_FIXED : 0;
}

/* Where the transport checksum sits, and the least a header can be; 0 when
 * the protocol is not one whose checksum offload leaves unfinished. */
static size_t nli_l4_field(unsigned proto, size_t *min_bytes) {
  switch (proto) {
  case NLI_PROTO_TCP:
    *min_bytes = 20;
    return 16;
  case NLI_PROTO_UDP:
    *min_bytes = 8;
    return 6;
  default:
    return 0;
  }
}

/* Complete the transport checksum of l4[0..len) over pseudo-header sum
 * `acc`. Returns NLI_CSUM_* bits. */
static int nli_l4(unsigned proto, uint8_t *l4, size_t len, uint64_t acc) {
  size_t min_bytes = 0, field;
  if (proto == NLI_PROTO_ICMPV6) {
    min_bytes = 4;
    field = 2;
  } else if ((field = nli_l4_field(proto, &min_bytes)) == 0) {
    return 0;
  }
  if (len < min_bytes)
    return 0; /* no room for the header its length claims: not ours */
  if (proto == NLI_PROTO_UDP && l4[field] == 0 && l4[field + 1] == 0)
    return 0; /* sent without a checksum on purpose */
  return nli_put(l4 + field, acc, l4, len, proto == NLI_PROTO_UDP);
}

static int nli_v4(uint8_t *p, size_t n) {
  size_t ihl, tot;
  unsigned proto;
  int r;
  uint8_t pseudo[4];
  uint64_t acc;

  if (n < NLI_IPV4_MIN_HDR_BYTES)
    return 0;
  ihl = (size_t)(p[0] & 0x0f) * 4u;
  if (ihl < NLI_IPV4_MIN_HDR_BYTES || ihl > n)
    return 0;
  r = nli_put(p + 10, 0, p, ihl, 0);
  proto = p[9];
  if (proto != NLI_PROTO_TCP && proto != NLI_PROTO_UDP)
    return r;
  tot = nli_be16(p + 2);
  /* A fragment's transport checksum covers bytes this record lacks; a zero
   * length is BIG TCP, which is longer than any record. */
  if ((nli_be16(p + 6) & 0x3fff) != 0 || tot == 0 || tot > n)
    return r | NLI_CSUM_INCOMPLETE;
  if (tot < ihl)
    return r;
  pseudo[0] = 0;
  pseudo[1] = (uint8_t)proto;
  pseudo[2] = (uint8_t)((tot - ihl) >> 8);
  pseudo[3] = (uint8_t)(tot - ihl);
  acc = nli_sum(nli_sum(0, p + 12, 8), pseudo, 4);
  return r | nli_l4(proto, p + ihl, tot - ihl, acc);
}

static int nli_v6(uint8_t *p, size_t n) {
  size_t plen, total, off = NLI_IPV6_HDR_BYTES, l4len;
  unsigned nh;
  int i, cut = 0, routed = 0, fragment = 0;
  uint8_t pseudo[8];
  uint64_t acc;

  if (n < NLI_IPV6_HDR_BYTES)
    return 0;
  plen = nli_be16(p + 4);
  total = NLI_IPV6_HDR_BYTES + plen;
  nh = p[6];
  for (i = 0; i < NLI_IPV6_MAX_EXT_HEADERS; i++) {
    size_t hlen;
    if (nh != NLI_IPV6_EXT_HOP_BY_HOP && nh != NLI_IPV6_EXT_ROUTING &&
        nh != NLI_IPV6_EXT_DEST && nh != NLI_IPV6_EXT_FRAGMENT &&
        nh != NLI_IPV6_EXT_AH)
      break;
    if (n - off < 8) {
      cut = 1; /* the transport header is not in the record */
      break;
    }
    if (nh == NLI_IPV6_EXT_FRAGMENT) {
      /* Only an atomic fragment (offset 0, no more fragments) is whole. */
      if (nli_be16(p + off + 2) != 0)
        fragment = 1;
      hlen = 8;
    } else if (nh == NLI_IPV6_EXT_AH) {
      hlen = ((size_t)p[off + 1] + 2) * 4;
    } else {
      if (nh == NLI_IPV6_EXT_ROUTING && p[off + 3] != 0)
        routed = 1; /* segments left: the pseudo-header's address differs */
      hlen = ((size_t)p[off + 1] + 1) * 8;
    }
    nh = p[off];
    if (hlen > n - off) {
      cut = 1;
      break;
    }
    off += hlen;
  }
  if (nh != NLI_PROTO_TCP && nh != NLI_PROTO_UDP && nh != NLI_PROTO_ICMPV6)
    return cut ? NLI_CSUM_INCOMPLETE : 0;
  if (cut || plen == 0 || total > n || fragment || routed)
    return NLI_CSUM_INCOMPLETE;
  if (off > total)
    return 0;
  l4len = total - off;
  pseudo[0] = (uint8_t)(l4len >> 24);
  pseudo[1] = (uint8_t)(l4len >> 16);
  pseudo[2] = (uint8_t)(l4len >> 8);
  pseudo[3] = (uint8_t)l4len;
  pseudo[4] = pseudo[5] = pseudo[6] = 0;
  pseudo[7] = (uint8_t)nh;
  acc = nli_sum(nli_sum(0, p + 8, 32), pseudo, 8);
  return nli_l4(nh, p + off, l4len, acc);
}

int nli_complete_checksums(uint8_t *p, size_t n) {
  if (n < 1)
    return 0;
  if (p[0] >> 4 == 4)
    return nli_v4(p, n);
  if (p[0] >> 4 == 6)
    return nli_v6(p, n);
  return 0;
}

/* 40 + the Jumbo Payload option's length (RFC 2675) from a hop-by-hop
 * header right after the IPv6 header, or the BIG TCP lower bound. */
static size_t nli_jumbo_len(const uint8_t *p, size_t n) {
  size_t end, off;
  if (p[6] == NLI_IPV6_EXT_HOP_BY_HOP && n >= NLI_IPV6_HDR_BYTES + 8) {
    end = NLI_IPV6_HDR_BYTES + ((size_t)p[NLI_IPV6_HDR_BYTES + 1] + 1) * 8;
    if (end > n)
      end = n;
    for (off = NLI_IPV6_HDR_BYTES + 2; off < end;) {
      if (p[off] == NLI_IPV6_OPT_PAD1) {
        off++;
        continue;
      }
      if (end - off < 2 || end - off - 2 < p[off + 1])
        break;
      if (p[off] == NLI_IPV6_OPT_JUMBO && p[off + 1] == 4)
        return NLI_IPV6_HDR_BYTES + nli_be32(p + off + 2);
      off += 2 + (size_t)p[off + 1];
    }
  }
  return NLI_IPV6_HDR_BYTES + NLI_BIG_TCP_MIN_IP_BYTES;
}

size_t nli_orig_len(const uint8_t *p, size_t n) {
  size_t len = n;
  if (n >= 4 && p[0] >> 4 == 4) {
    len = nli_be16(p + 2);
    if (len == 0)
      len = NLI_BIG_TCP_MIN_IP_BYTES;
  } else if (n >= 6 && p[0] >> 4 == 6) {
    len = nli_be16(p + 4);
    /* Payload length 0 with nothing after the header is an empty packet. */
    len = len != 0                 ? NLI_IPV6_HDR_BYTES + len
          : n > NLI_IPV6_HDR_BYTES ? nli_jumbo_len(p, n)
                                   : n;
  }
  return len > n ? len : n;
}

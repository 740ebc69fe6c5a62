/*
 * NFLOG netlink messages -> pcap records and index entries. See nl_records.h.
 *
 * Every multi-byte read goes through memcpy-based helpers: a Buffer handed in
 * from JS need not be aligned, and every length is checked against the end of
 * the buffer before the bytes it covers are touched.
 */
#include "nl_records.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <string.h>

#include "nl_flow.h"
#include "nl_ip.h"

#define NLR_NFGENMSG_BYTES 4u
#define NLR_ATTR_HDR_BYTES 4u
#define NLR_ALIGN4(n) (((n) + 3u) & ~(size_t)3u)
#define NLR_AF_INET 2
#define NLR_AF_INET6 10

/* One parsed NFULNL_MSG_PACKET message. */
struct nlr_pkt {
  const uint8_t *nfgen; /* nfgenmsg: family, version, res_id (BE group) */
  const uint8_t *attrs; /* first attribute */
  size_t attrs_len;     /* bytes of attributes walked (padded) */
  size_t attrs_out_len; /* bytes those attributes take in a 239 record */
  const uint8_t *payload;
  size_t payload_len;
  int has_ts;
  uint32_t ts_sec;
  uint32_t ts_usec;
  int has_seq;
  uint32_t seq;
  uint32_t seq_global;
  const uint8_t *prefix; /* NFULA_PREFIX, NUL included; NULL if absent */
  size_t prefix_len;
  unsigned hook; /* NLR_IX_NO_HOOK without NFULA_PACKET_HDR */
  uint8_t flags; /* NLR_IX_F_SEQ_GLOBAL, _INDEV, _OUTDEV, _KERNEL_TS so far */
};

static uint16_t nlr_get_u16(const uint8_t *p) {
  uint16_t v;
  memcpy(&v, p, sizeof(v));
  return v;
}

static uint32_t nlr_get_u32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, sizeof(v));
  return v;
}

static uint16_t nlr_get_be16(const uint8_t *p) {
  return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static uint32_t nlr_get_be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

static uint64_t nlr_get_be64(const uint8_t *p) {
  return (uint64_t)nlr_get_be32(p) << 32 | nlr_get_be32(p + 4);
}

static void nlr_put_le16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

void nlr_put_le32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

uint32_t nlr_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

/* Parse the attributes of one packet message. Returns 0, or -1 if malformed. */
static int nlr_parse_pkt(const uint8_t *msg, size_t len, struct nlr_pkt *pkt) {
  size_t off = NLR_NFGENMSG_BYTES;

  memset(pkt, 0, sizeof(*pkt));
  pkt->hook = NLR_IX_NO_HOOK;
  if (len < NLR_NFGENMSG_BYTES)
    return -1;
  pkt->nfgen = msg;
  pkt->attrs = msg + off;
  while (len - off >= NLR_ATTR_HDR_BYTES) {
    const uint8_t *a = msg + off;
    size_t alen = nlr_get_u16(a);
    unsigned type = nlr_get_u16(a + 2) & NLA_TYPE_MASK;
    size_t vlen;

    /* A zero or short length would loop forever; past the end is a lie. */
    if (alen < NLR_ATTR_HDR_BYTES || alen > len - off)
      return -1;
    vlen = alen - NLR_ATTR_HDR_BYTES;
    switch (type) {
    case NFULA_PAYLOAD:
      pkt->payload = a + NLR_ATTR_HDR_BYTES;
      pkt->payload_len = vlen;
      break;
    case NFULA_PACKET_HDR:
      /* struct nfulnl_msg_packet_hdr: be16 hw_protocol, u8 hook, u8 pad */
      if (vlen < 4)
        return -1;
      pkt->hook = a[NLR_ATTR_HDR_BYTES + 2];
      break;
    case NFULA_TIMESTAMP:
      if (vlen < 16)
        return -1;
      pkt->has_ts = 1;
      pkt->flags |= NLR_IX_F_KERNEL_TS;
      pkt->ts_sec = (uint32_t)nlr_get_be64(a + 4);
      pkt->ts_usec = (uint32_t)nlr_get_be64(a + 12);
      break;
    case NFULA_PREFIX:
      pkt->prefix = a + NLR_ATTR_HDR_BYTES;
      pkt->prefix_len = vlen;
      break;
    case NFULA_IFINDEX_INDEV:
      if (vlen < 4)
        return -1;
      pkt->flags |= NLR_IX_F_INDEV;
      break;
    case NFULA_IFINDEX_OUTDEV:
      if (vlen < 4)
        return -1;
      pkt->flags |= NLR_IX_F_OUTDEV;
      break;
    case NFULA_SEQ:
      if (vlen < 4)
        return -1;
      pkt->has_seq = 1;
      pkt->seq = nlr_get_be32(a + 4);
      break;
    case NFULA_SEQ_GLOBAL:
      if (vlen < 4)
        return -1;
      pkt->flags |= NLR_IX_F_SEQ_GLOBAL;
      pkt->seq_global = nlr_get_be32(a + 4);
      break;
    default:
      break;
    }
    /* The last attribute may lack its padding; never step past len. */
    off += NLR_ALIGN4(alen) < len - off ? NLR_ALIGN4(alen) : len - off;
    pkt->attrs_out_len += NLR_ALIGN4(alen);
  }
  pkt->attrs_len = off - NLR_NFGENMSG_BYTES;
  return 0;
}

/* Count the packets missing before `pkt` in its group's NFULA_SEQ stream. */
static void nlr_track_seq(struct nlr_seq_tracker *seq, uint16_t group,
                          uint32_t s, struct nlr_counts *counts) {
  size_t i;
  struct nlr_seq *g = NULL;

  for (i = 0; i < seq->count; i++)
    if (seq->groups[i].group == group) {
      g = &seq->groups[i];
      break;
    }
  if (g == NULL) {
    if (seq->count >= NLR_MAX_GROUPS)
      return;
    g = &seq->groups[seq->count++];
    g->group = group;
    g->seen = 0;
    g->dropped = 0;
  }
  if (g->seen) {
    uint32_t gap = s - g->next; /* mod 2^32: the counter wraps */
    /* A "gap" of more than 2^31 is a step backwards (instance re-created),
     * not loss; re-base without counting. */
    if (gap != 0 && gap < 0x80000000u) {
      counts->kernel_dropped += gap;
      g->dropped += gap;
    }
  }
  g->seen = 1;
  g->next = s + 1;
}

/* Bytes the record of `pkt` takes (header included). */
static size_t nlr_record_bytes(const struct nlr_pkt *pkt, int linktype) {
  if (linktype == NLR_LINKTYPE_NFLOG)
    return NLR_PCAP_RECORD_HEADER_BYTES + NLR_NFGENMSG_BYTES +
           pkt->attrs_out_len;
  return NLR_PCAP_RECORD_HEADER_BYTES + pkt->payload_len;
}

/*
 * Copy the TLVs of a 239 record to out (the pseudo-header first); returns
 * where the payload's value landed, or NULL without one.
 *
 * The pcap NFLOG linktype stores TLV length/type in the file's byte order;
 * our pcap output is always little-endian, so write them LE (the same bytes
 * as the kernel's host order on x86/arm64). Values stay as the kernel sent
 * them (network order).
 */
static uint8_t *nlr_copy_tlvs(const struct nlr_pkt *pkt, uint8_t *out) {
  size_t off = 0;
  uint8_t *payload = NULL;
  memcpy(out, pkt->nfgen, NLR_NFGENMSG_BYTES);
  out += NLR_NFGENMSG_BYTES;
  while (off < pkt->attrs_len) {
    const uint8_t *a = pkt->attrs + off;
    size_t alen = nlr_get_u16(a);
    size_t padded = NLR_ALIGN4(alen);
    size_t have = pkt->attrs_len - off < padded ? pkt->attrs_len - off : padded;
    nlr_put_le16(out, (uint16_t)alen);
    nlr_put_le16(out + 2, nlr_get_u16(a + 2));
    memcpy(out + NLR_ATTR_HDR_BYTES, a + NLR_ATTR_HDR_BYTES,
           have - NLR_ATTR_HDR_BYTES);
    memset(out + have, 0, padded - have);
    if (a + NLR_ATTR_HDR_BYTES == pkt->payload)
      payload = out + NLR_ATTR_HDR_BYTES;
    out += padded;
    off += have;
  }
  return payload;
}

/* A packet this host sent: no input interface, seen where packets leave. */
static int nlr_is_local(const struct nlr_pkt *pkt) {
  unsigned family = pkt->nfgen[0];
  return (pkt->flags & NLR_IX_F_INDEV) == 0 &&
         (pkt->hook == NLR_HOOK_LOCAL_OUT ||
          pkt->hook == NLR_HOOK_POST_ROUTING) &&
         (family == NLR_AF_INET || family == NLR_AF_INET6);
}

/* Write one record of `size` bytes at out and its index entry at ix
 * (`rec_off` is the record's offset in the records area). */
static void nlr_emit(const struct nlr_pkt *pkt, const struct nlr_config *cfg,
                     const struct nlr_time *now, uint8_t *out, size_t size,
                     uint8_t *ix, size_t rec_off, struct nlr_counts *counts) {
  size_t incl = size - NLR_PCAP_RECORD_HEADER_BYTES;
  size_t orig = nli_orig_len(pkt->payload, pkt->payload_len);
  uint8_t *payload;
  uint8_t flags = pkt->flags;

  /* 239: the whole NFLOG message is the record; the packet's missing bytes
   * are missing from it too. */
  orig = incl + (orig - pkt->payload_len);
  nlr_put_le32(out, pkt->has_ts ? pkt->ts_sec : now->sec);
  nlr_put_le32(out + 4, pkt->has_ts ? pkt->ts_usec : now->usec);
  nlr_put_le32(out + 8, (uint32_t)incl);
  nlr_put_le32(out + 12, (uint32_t)orig);
  out += NLR_PCAP_RECORD_HEADER_BYTES;
  if (cfg->linktype == NLR_LINKTYPE_NFLOG) {
    payload = nlr_copy_tlvs(pkt, out);
  } else {
    payload = out;
    if (incl > 0)
      memcpy(out, pkt->payload, incl);
  }
  if (incl < orig) {
    flags |= NLR_IX_F_TRUNCATED;
    counts->truncated++;
  }
  /* Only on the copy: the checksum pass reads bytes the memcpy just wrote,
   * still in cache for all but the largest packets. */
  if (cfg->wire_checksums && payload != NULL && nlr_is_local(pkt)) {
    int r = nli_complete_checksums(payload, pkt->payload_len);
    if (r & NLI_CSUM_FIXED) {
      flags |= NLR_IX_F_CSUM_FIXED;
      counts->csum_fixed++;
    }
    if (r & NLI_CSUM_INCOMPLETE) {
      flags |= NLR_IX_F_CSUM_INCOMPLETE;
      counts->csum_incomplete++;
    }
  }
  nlr_put_le32(ix + NLR_IX_OFFSET, (uint32_t)rec_off);
  nlr_put_le32(ix + NLR_IX_SEQ_GLOBAL, pkt->seq_global);
  /* From the kernel's bytes (the copy may have had its checksums rewritten,
   * which the key does not read anyway), while they are in cache. */
  nlr_put_le32(ix + NLR_IX_FLOW_HASH,
               nlf_flow_hash(pkt->payload, pkt->payload_len, cfg->flow_key));
  nlr_put_le16(ix + NLR_IX_GROUP, nlr_get_be16(pkt->nfgen + 2));
  ix[NLR_IX_HOOK] = (uint8_t)pkt->hook;
  ix[NLR_IX_FLAGS] = flags;
}

void nlr_walk(const uint8_t *buf, size_t len, const struct nlr_config *cfg,
              const struct nlr_time *now, uint8_t *out, size_t out_cap,
              size_t *out_off, uint8_t *index, size_t index_cap,
              size_t *records, struct nlr_counts *counts,
              struct nlr_seq_tracker *seq, struct nla_table *acct) {
  size_t off = 0;
  /* counts, not out, marks the write pass: out may be NULL for 0 bytes. */
  int write = counts != NULL;

  while (len - off >= NLMSG_HDRLEN) {
    const uint8_t *m = buf + off;
    size_t mlen = nlr_get_u32(m);
    uint16_t type = nlr_get_u16(m + 4);
    struct nlr_pkt pkt;

    if (mlen < NLMSG_HDRLEN || mlen > len - off) {
      /* The rest of the datagram cannot be framed any more. */
      if (write)
        counts->malformed++;
      break;
    }
    if (type == ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET)) {
      if (nlr_parse_pkt(m + NLMSG_HDRLEN, mlen - NLMSG_HDRLEN, &pkt) != 0) {
        if (write)
          counts->malformed++;
      } else {
        size_t size = nlr_record_bytes(&pkt, cfg->linktype);
        if (!write) {
          *out_off += size;
          (*records)++;
        } else {
          /* The caller measured wrong: never overflow. */
          if (size > out_cap - *out_off || *records >= index_cap)
            break;
          nlr_emit(&pkt, cfg, now, out + *out_off, size,
                   index + *records * NLR_INDEX_ENTRY_BYTES, *out_off, counts);
          *out_off += size;
          (*records)++;
          counts->packets++;
          counts->bytes += size - NLR_PCAP_RECORD_HEADER_BYTES;
          if (pkt.has_seq && seq != NULL)
            nlr_track_seq(seq, nlr_get_be16(pkt.nfgen + 2), pkt.seq, counts);
          if (acct != NULL)
            nla_count(acct, nlr_get_be16(pkt.nfgen + 2), pkt.prefix,
                      pkt.prefix_len,
                      nli_orig_len(pkt.payload, pkt.payload_len));
        }
      }
    }
    /* NLMSG_DONE closes a multi-message batch; errors/noop carry no packet. */
    off += NLMSG_ALIGN(mlen) < len - off ? NLMSG_ALIGN(mlen) : len - off;
  }
}

int nlr_seq_expect(struct nlr_seq_tracker *seq, uint16_t group, uint32_t next) {
  size_t i;
  for (i = 0; i < seq->count; i++)
    if (seq->groups[i].group == group)
      break;
  if (i == seq->count) {
    if (seq->count >= NLR_MAX_GROUPS)
      return -1;
    seq->count++;
    seq->groups[i].dropped = 0;
  }
  seq->groups[i].group = group;
  seq->groups[i].seen = 1;
  seq->groups[i].next = next;
  return 0;
}

/*
 * Walk NFLOG netlink messages in a recv() buffer and turn them into pcap
 * records (little-endian 16-byte record header, then the bytes), each with a
 * fixed-size index entry (below) that tells later stages what the kernel said
 * about the packet without parsing it again.
 *
 * No sockets and no N-API here: addon.c feeds it kernel datagrams, and tests
 * feed it recorded ones through parseNflogMessages().
 */
#ifndef NFLOG_NATIVE_NL_RECORDS_H
#define NFLOG_NATIVE_NL_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "nl_account.h"

#define NLR_LINKTYPE_RAW 101
#define NLR_LINKTYPE_NFLOG 239
#define NLR_PCAP_RECORD_HEADER_BYTES 16
/* Upper bound on groups tracked for NFULA_SEQ gaps (one socket). */
#define NLR_MAX_GROUPS 64

/*
 * Index entry, one per record, little-endian (README "Record index"):
 *   0  u32 offset of the record's pcap header in the records area
 *   4  u32 NFULA_SEQ_GLOBAL (valid with NLR_IX_F_SEQ_GLOBAL)
 *   8  u32 flow hash (nl_flow.h, with nlr_config.flow_key)
 *  12  u16 NFLOG group
 *  14  u8  hook (NF_INET_*; NLR_IX_NO_HOOK without NFULA_PACKET_HDR)
 *  15  u8  flags, NLR_IX_F_*
 */
#define NLR_INDEX_ENTRY_BYTES 16
#define NLR_IX_OFFSET 0
#define NLR_IX_SEQ_GLOBAL 4
#define NLR_IX_FLOW_HASH 8
#define NLR_IX_GROUP 12
#define NLR_IX_HOOK 14
#define NLR_IX_FLAGS 15
#define NLR_IX_NO_HOOK 0xff
#define NLR_IX_F_SEQ_GLOBAL 0x01 /* NFULA_SEQ_GLOBAL present */
#define NLR_IX_F_INDEV 0x02      /* NFULA_IFINDEX_INDEV present */
#define NLR_IX_F_OUTDEV 0x04     /* NFULA_IFINDEX_OUTDEV present */
#define NLR_IX_F_KERNEL_TS 0x08  /* ts from NFULA_TIMESTAMP, not receipt */
#define NLR_IX_F_TRUNCATED 0x10  /* incl_len < orig_len */
#define NLR_IX_F_CSUM_FIXED                                                    \
  0x20 /* a checksum was completed (NLI_CSUM_FIXED)                            \
        */
#define NLR_IX_F_CSUM_INCOMPLETE                                               \
  0x40 /* left as logged (NLI_CSUM_INCOMPLETE)                                 \
        */

/* NF_INET_LOCAL_OUT and NF_INET_POST_ROUTING (linux/netfilter.h). */
#define NLR_HOOK_LOCAL_OUT 3
#define NLR_HOOK_POST_ROUTING 4

/* Per-group NFULA_SEQ tracker: the next sequence number we expect. */
struct nlr_seq {
  uint16_t group;
  uint8_t seen; /* 0: baseline comes from the first packet seen */
  uint32_t next;
  uint64_t dropped; /* this group's share of nlr_counts.kernel_dropped */
};

struct nlr_seq_tracker {
  size_t count;
  struct nlr_seq groups[NLR_MAX_GROUPS];
};

/* Counters; nlr_walk() only adds to them in the write pass. */
struct nlr_counts {
  uint64_t packets;         /* records produced */
  uint64_t bytes;           /* sum of incl_len of the records produced */
  uint64_t truncated;       /* records with incl_len < orig_len */
  uint64_t malformed;       /* messages skipped for bad lengths */
  uint64_t kernel_dropped;  /* packets missing from NFULA_SEQ gaps */
  uint64_t csum_fixed;      /* records whose checksums were completed */
  uint64_t csum_incomplete; /* local records left as logged (cut, ...) */
};

/* How records are made. */
struct nlr_config {
  int linktype; /* NLR_LINKTYPE_RAW or NLR_LINKTYPE_NFLOG */
  /* 1: complete the checksums of locally generated packets (no input
   * interface, output or postrouting hook), as they will be on the wire. */
  int wire_checksums;
  /* NLF_KEY_5TUPLE or NLF_KEY_2TUPLE: what the flow hash keys on. */
  int flow_key;
};

/* Wall-clock time used when a message has no NFULA_TIMESTAMP. */
struct nlr_time {
  uint32_t sec;
  uint32_t usec;
};

/*
 * Walk one netlink datagram `buf[0..len)`.
 * Measure pass (counts == NULL): adds the bytes its records will take to
 * *out_off and their number to *records; out and index are not touched.
 * Write pass (counts != NULL): writes each record at out + *out_off (never
 * past out_cap) and its index entry at index + *records entries (never past
 * index_cap entries), advancing both; updates *counts and *seq (seq may be
 * NULL) and counts each record in *acct by group and NFULA_PREFIX (acct may
 * be NULL: no accounting). Never reads outside buf.
 */
void nlr_walk(const uint8_t *buf, size_t len, const struct nlr_config *cfg,
              const struct nlr_time *now, uint8_t *out, size_t out_cap,
              size_t *out_off, uint8_t *index, size_t index_cap,
              size_t *records, struct nlr_counts *counts,
              struct nlr_seq_tracker *seq, struct nla_table *acct);

/* Add a group to the tracker with a known first sequence number (0 for an
 * instance we just created). Returns 0, or -1 when the tracker is full. */
int nlr_seq_expect(struct nlr_seq_tracker *seq, uint16_t group, uint32_t next);

/* Little-endian field access for index entries and record headers. */
uint32_t nlr_le32(const uint8_t *p);
void nlr_put_le32(uint8_t *p, uint32_t v);

#endif

/*
 * Walk NFLOG netlink messages in a recv() buffer and turn them into pcap
 * records (little-endian 16-byte record header, then the bytes).
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
  uint64_t packets;        /* records produced */
  uint64_t bytes;          /* sum of incl_len of the records produced */
  uint64_t truncated;      /* records with incl_len < orig_len */
  uint64_t malformed;      /* messages skipped for bad lengths */
  uint64_t kernel_dropped; /* packets missing from NFULA_SEQ gaps */
};

/* Wall-clock time used when a message has no NFULA_TIMESTAMP. */
struct nlr_time {
  uint32_t sec;
  uint32_t usec;
};

/*
 * Walk one netlink datagram `buf[0..len)`.
 * Measure pass: counts == NULL; returns the number of output bytes the write
 * pass will produce and adds the record count to *records.
 * Write pass: counts != NULL, out_cap >= the measured size (out may be NULL
 * when that is 0); writes records, updates *counts and *seq (seq may be
 * NULL) and counts each record in *acct by group and NFULA_PREFIX (acct may
 * be NULL: no accounting), returns bytes written.
 * Never reads outside buf and never writes outside out[0..out_cap).
 */
size_t nlr_walk(const uint8_t *buf, size_t len, int linktype,
                const struct nlr_time *now, uint8_t *out, size_t out_cap,
                size_t *records, struct nlr_counts *counts,
                struct nlr_seq_tracker *seq, struct nla_table *acct);

/* Add a group to the tracker with a known first sequence number (0 for an
 * instance we just created). Returns 0, or -1 when the tracker is full. */
int nlr_seq_expect(struct nlr_seq_tracker *seq, uint16_t group, uint32_t next);

#endif

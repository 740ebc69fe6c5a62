/*
 * Kernel-order merge of the groups one socket reads.
 *
 * Each NFLOG group batches on its own (qthresh, flush timeout, nlbufsiz), so
 * a batch of group B can reach the socket before an older batch of group A.
 * NFULA_SEQ_GLOBAL numbers every packet of the network namespace in the
 * order it was logged, so records are held here, sorted by it, and released
 * as soon as nothing older can still come:
 *
 * - every group has delivered a record at least as new (a group's batches
 *   arrive in its own order, so it has nothing older left), or
 * - the record was read `hold_ms` ago and the socket has been drained empty
 *   since: a kernel batch is flushed at most its flush timeout after its
 *   first packet was logged, and every packet logged before this record was
 *   logged before it was read; hold_ms covers that timeout plus one jiffy
 *   of timer granularity and scheduling (nflog-socket.ts sets it).
 *
 * A record that arrives after a newer one has left (a hold too short for a
 * stalled kernel timer, a forced release) is released at once and counted
 * late; so are records without NFULA_SEQ_GLOBAL (no supported kernel omits
 * it once NFULNL_CFG_F_SEQ_GLOBAL is set). The store is bounded: above
 * NLM_MAX_HELD_BYTES the oldest records are released early and counted.
 *
 * Records without a kernel timestamp carry their receipt time, an upper
 * bound of when they were logged; in kernel order a later record's receipt
 * time bounds it too, so on release such a record gets the earliest receipt
 * time among itself and every later held record: timestamps of receipt-
 * stamped records never go backwards in the merged stream.
 *
 * No N-API, no sockets, no timers: addon.c drives it.
 */
#ifndef NFLOG_NATIVE_NL_MERGE_H
#define NFLOG_NATIVE_NL_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "nl_records.h"

/* Held record bytes above which the oldest are released early. */
#define NLM_MAX_HELD_BYTES (32u * 1024 * 1024)
#define NLM_MAX_GROUPS 32

struct nlm_item {
  uint64_t key;     /* unwrapped NFULA_SEQ_GLOBAL; 0: release at once */
  uint64_t recv_ms; /* monotonic ms when its datagram was read */
  uint32_t off;     /* record offset in the store's data */
  uint32_t len;     /* record bytes, header included */
  uint32_t arrival; /* ingest order, to keep key-0 records in order */
  uint8_t entry[NLR_INDEX_ENTRY_BYTES];
};

struct nlm_group {
  uint16_t group;
  uint8_t seen;
  uint64_t last; /* key of its newest record */
};

struct nlm_store {
  uint8_t *data; /* held records; released ones leave holes until compaction */
  size_t data_len, data_cap;
  size_t live_bytes;      /* bytes of the held records */
  struct nlm_item *items; /* sorted by (key, arrival) after each ingest */
  size_t count, cap;
  uint8_t *scratch_ix; /* index entries of one walk before ingest */
  size_t scratch_cap;  /* entries */
  struct nlm_group groups[NLM_MAX_GROUPS];
  size_t ngroups;
  uint64_t anchor;   /* key of the newest sequence number seen */
  uint64_t released; /* key of the newest record released, 0 = none */
  uint32_t arrival;
  uint32_t hold_ms;
  uint64_t late;   /* records released after a newer one */
  uint64_t forced; /* records released early: store full */
};

/* A store for `groups[0..n)`. Returns 0, or -1 for more than
 * NLM_MAX_GROUPS groups. Allocates nothing yet. */
int nlm_init(struct nlm_store *s, const uint16_t *groups, size_t n,
             uint32_t hold_ms);
void nlm_free(struct nlm_store *s);

/* Room for `bytes` more record bytes and `records` more records (data tail
 * and scratch_ix). Returns 0, or -1 when out of memory. */
int nlm_reserve(struct nlm_store *s, size_t bytes, size_t records);

/* Take the `n` records the walker just wrote into data (their index entries
 * in scratch_ix[0..n), offsets into data) as read at recv_ms. */
void nlm_ingest(struct nlm_store *s, size_t n, uint64_t recv_ms);

/* Sort the held records into kernel order. */
void nlm_sort(struct nlm_store *s);

/* How many records, a prefix in kernel order, may go now (see the file
 * comment); *bytes gets their record bytes. deadlines: the socket was drained
 * empty, so hold deadlines apply; force: release everything. */
size_t nlm_releasable(struct nlm_store *s, uint64_t now_ms, int deadlines,
                      int force, size_t *bytes);

/* Copy the first n records to out (records) and ix (index entries, offsets
 * rebased onto out), clamp receipt timestamps, and drop them from the store.
 * Leaves the rest unsorted: call nlm_sort before the next nlm_releasable. */
void nlm_release(struct nlm_store *s, size_t n, uint8_t *out, uint8_t *ix);

/* Earliest monotonic ms at which a held record's hold ends; 0 when none. */
uint64_t nlm_next_deadline(const struct nlm_store *s);

#endif

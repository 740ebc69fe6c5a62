/*
 * One read's records grouped by shard, for a sender that spreads flows over
 * several receivers: each record goes to the shard a table names for its
 * flow hash (index entry, nl_records.h), and every shard's records stay in
 * the order they were read (kernel order). One pass to measure, one to copy:
 * no allocation, and each record is copied once.
 *
 * No sockets, no N-API: addon.c exposes it on Buffers.
 */
#ifndef NFLOG_NATIVE_NL_SHARD_H
#define NFLOG_NATIVE_NL_SHARD_H

#include <stddef.h>
#include <stdint.h>

/* The table has one shard number per value of the flow hash's top 16 bits. */
#define NLS_BUCKETS 65536u
#define NLS_MAX_SHARDS 255u

/*
 * Measure: per_shard[2s] += the records of shard s, per_shard[2s + 1] +=
 * their bytes (pcap headers included), for the `count` records of
 * records[0..len) whose index entries are index[0..count * 16).
 * Returns 0, or -1 when an entry points outside the records, a record runs
 * past them, or the table names a shard >= shards.
 */
int nls_measure(const uint8_t *records, size_t len, const uint8_t *index,
                size_t count, const uint8_t *table, unsigned shards,
                uint32_t *per_shard);

/*
 * Copy, after a successful nls_measure with the same arguments (per_shard
 * as it filled it): every shard's records back to back into out (shard 0
 * first), then every shard's index entries in the same order, each OFFSET
 * rebased onto its shard's first record, so each shard's two parts stand
 * alone as a read. out holds the sum of the bytes plus count * 16.
 */
void nls_gather(const uint8_t *records, const uint8_t *index, size_t count,
                const uint8_t *table, unsigned shards,
                const uint32_t *per_shard, uint8_t *out);

#endif

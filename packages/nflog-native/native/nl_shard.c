/*
 * Records grouped by shard. See nl_shard.h.
 */
#include "nl_shard.h"

#include <string.h>

#include "nl_records.h"

/* The shard of index entry `e`: the table's entry for its hash's top bits. */
static unsigned nls_shard_of(const uint8_t *e, const uint8_t *table) {
  return table[nlr_le32(e + NLR_IX_FLOW_HASH) >> 16];
}

int nls_measure(const uint8_t *records, size_t len, const uint8_t *index,
                size_t count, const uint8_t *table, unsigned shards,
                uint32_t *per_shard) {
  size_t i;
  for (i = 0; i < count; i++) {
    const uint8_t *e = index + i * NLR_INDEX_ENTRY_BYTES;
    size_t off = nlr_le32(e + NLR_IX_OFFSET), size;
    unsigned s = nls_shard_of(e, table);
    if (s >= shards || off > len || len - off < NLR_PCAP_RECORD_HEADER_BYTES)
      return -1;
    size = NLR_PCAP_RECORD_HEADER_BYTES + (size_t)nlr_le32(records + off + 8);
    if (size > len - off)
      return -1;
    per_shard[2 * s]++;
    per_shard[2 * s + 1] += (uint32_t)size;
  }
  return 0;
}

void nls_gather(const uint8_t *records, const uint8_t *index, size_t count,
                const uint8_t *table, unsigned shards,
                const uint32_t *per_shard, uint8_t *out) {
  /* Where each shard's next record and entry go, and where its records
   * start (entries are rebased onto that). */
  size_t rec_at[NLS_MAX_SHARDS], rec_base[NLS_MAX_SHARDS];
  size_t ix_at[NLS_MAX_SHARDS];
  size_t s, i, bytes = 0, entries = 0, total;

  for (s = 0; s < shards; s++) {
    rec_base[s] = rec_at[s] = bytes;
    bytes += per_shard[2 * s + 1];
  }
  total = bytes;
  for (s = 0; s < shards; s++) {
    ix_at[s] = total + entries * NLR_INDEX_ENTRY_BYTES;
    entries += per_shard[2 * s];
  }
  for (i = 0; i < count; i++) {
    const uint8_t *e = index + i * NLR_INDEX_ENTRY_BYTES;
    const uint8_t *r = records + nlr_le32(e + NLR_IX_OFFSET);
    size_t size = NLR_PCAP_RECORD_HEADER_BYTES + (size_t)nlr_le32(r + 8);
    unsigned k = nls_shard_of(e, table);
    memcpy(out + rec_at[k], r, size);
    memcpy(out + ix_at[k], e, NLR_INDEX_ENTRY_BYTES);
    nlr_put_le32(out + ix_at[k] + NLR_IX_OFFSET,
                 (uint32_t)(rec_at[k] - rec_base[k]));
    rec_at[k] += size;
    ix_at[k] += NLR_INDEX_ENTRY_BYTES;
  }
}

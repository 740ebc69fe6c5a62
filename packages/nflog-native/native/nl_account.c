/*
 * Accounting by rule: see nl_account.h.
 *
 * Consecutive packets mostly come from the same rule (the kernel batches per
 * group, and a burst is usually one flow), so the last entry hit is tried
 * first; otherwise an FNV-1a hash of group and prefix picks a slot in an
 * open-addressing index twice the capacity (so probes stay short).
 */
#include "nl_account.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint32_t nla_hash(uint16_t group, const uint8_t *p, size_t len) {
  uint32_t h = 2166136261u;
  size_t i;
  h = (h ^ (group & 0xffu)) * 16777619u;
  h = (h ^ (group >> 8)) * 16777619u;
  for (i = 0; i < len; i++)
    h = (h ^ p[i]) * 16777619u;
  return h;
}

static int nla_matches(const struct nla_entry *e, uint16_t group,
                       const uint8_t *p, size_t len) {
  return e->group == group && e->prefix_len == len &&
         memcmp(e->prefix, p, len) == 0;
}

int nla_init(struct nla_table *t, size_t cap) {
  size_t slots = 1;
  memset(t, 0, sizeof(*t));
  if (cap == 0 || cap > NLA_MAX_ENTRIES)
    return -EINVAL;
  while (slots < cap * 2)
    slots <<= 1;
  t->entries = calloc(cap, sizeof(*t->entries));
  t->slots = calloc(slots, sizeof(*t->slots));
  if (t->entries == NULL || t->slots == NULL) {
    nla_free(t);
    return -ENOMEM;
  }
  t->cap = cap;
  t->slot_mask = slots - 1;
  return 0;
}

void nla_free(struct nla_table *t) {
  free(t->entries);
  free(t->slots);
  memset(t, 0, sizeof(*t));
}

void nla_count(struct nla_table *t, uint16_t group, const uint8_t *prefix,
               size_t len, uint64_t bytes) {
  struct nla_entry *e;
  size_t i;

  if (t->entries == NULL)
    return;
  /* NFULA_PREFIX carries the C string with its NUL; the key is the text. */
  while (len > 0 && prefix[len - 1] == 0)
    len--;
  if (len > NLA_PREFIX_MAX - 1)
    len = NLA_PREFIX_MAX - 1;
  if (t->last != 0 &&
      nla_matches(&t->entries[t->last - 1], group, prefix, len)) {
    e = &t->entries[t->last - 1];
    e->packets++;
    e->bytes += bytes;
    return;
  }
  /* The index is twice the capacity and never full, so this ends at a
   * match or at an empty slot. */
  for (i = nla_hash(group, prefix, len) & t->slot_mask;;
       i = (i + 1) & t->slot_mask) {
    uint32_t s = t->slots[i];
    if (s == 0)
      break;
    if (nla_matches(&t->entries[s - 1], group, prefix, len)) {
      e = &t->entries[s - 1];
      e->packets++;
      e->bytes += bytes;
      t->last = s;
      return;
    }
  }
  if (t->count == t->cap) {
    t->other_packets++;
    t->other_bytes += bytes;
    return;
  }
  e = &t->entries[t->count++];
  e->group = group;
  e->prefix_len = (uint8_t)len;
  if (len > 0)
    memcpy(e->prefix, prefix, len);
  e->packets = 1;
  e->bytes = bytes;
  t->slots[i] = (uint32_t)t->count;
  t->last = t->count;
}

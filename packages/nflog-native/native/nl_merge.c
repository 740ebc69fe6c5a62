/*
 * Kernel-order merge of a socket's groups. See nl_merge.h.
 */
#include "nl_merge.h"

#include <stdlib.h>
#include <string.h>

/* Keys start above 2^32, so no sequence number unwraps to 0 ("at once"). */
#define NLM_KEY_BASE ((uint64_t)1 << 32)
/* Dead bytes (released records' holes) tolerated before compacting. */
#define NLM_COMPACT_MIN_BYTES (256u * 1024)
#define NLM_USEC_PER_SEC 1000000u

int nlm_init(struct nlm_store *s, const uint16_t *groups, size_t n,
             uint32_t hold_ms) {
  size_t i;
  memset(s, 0, sizeof(*s));
  if (n > NLM_MAX_GROUPS)
    return -1;
  for (i = 0; i < n; i++)
    s->groups[i].group = groups[i];
  s->ngroups = n;
  s->hold_ms = hold_ms;
  return 0;
}

void nlm_free(struct nlm_store *s) {
  free(s->data);
  free(s->items);
  free(s->scratch_ix);
  s->data = NULL;
  s->items = NULL;
  s->scratch_ix = NULL;
  s->data_len = s->data_cap = s->live_bytes = 0;
  s->count = s->cap = s->scratch_cap = 0;
}

/* Grow *p to hold `need` elements of `elem` bytes (doubling); -1 on ENOMEM. */
static int nlm_grow(void **p, size_t *cap, size_t need, size_t elem) {
  size_t c = *cap == 0 ? 64 : *cap;
  void *q;
  if (need <= *cap)
    return 0;
  while (c < need)
    c *= 2;
  if ((q = realloc(*p, c * elem)) == NULL)
    return -1;
  *p = q;
  *cap = c;
  return 0;
}

static int nlm_cmp_key(const void *a, const void *b) {
  const struct nlm_item *x = a, *y = b;
  if (x->key != y->key)
    return x->key < y->key ? -1 : 1;
  return x->arrival < y->arrival ? -1 : x->arrival > y->arrival;
}

static int nlm_cmp_off(const void *a, const void *b) {
  const struct nlm_item *x = a, *y = b;
  return x->off < y->off ? -1 : x->off > y->off;
}

/* Close the holes released records left: move the held ones down, in the
 * order they sit in data (so each memmove only goes down). */
static void nlm_compact(struct nlm_store *s) {
  size_t i, o = 0;
  qsort(s->items, s->count, sizeof(*s->items), nlm_cmp_off);
  for (i = 0; i < s->count; i++) {
    struct nlm_item *it = &s->items[i];
    if (it->off != o)
      memmove(s->data + o, s->data + it->off, it->len);
    it->off = (uint32_t)o;
    o += it->len;
  }
  s->data_len = o;
}

int nlm_reserve(struct nlm_store *s, size_t bytes, size_t records) {
  void *data = s->data, *items = s->items, *ix = s->scratch_ix;
  int err = nlm_grow(&data, &s->data_cap, s->data_len + bytes, 1);
  s->data = data;
  if (err == 0)
    err = nlm_grow(&items, &s->cap, s->count + records, sizeof(*s->items));
  s->items = items;
  if (err == 0)
    err = nlm_grow(&ix, &s->scratch_cap, records, NLR_INDEX_ENTRY_BYTES);
  s->scratch_ix = ix;
  return err;
}

/* Sequence numbers wrap at 2^32; keys follow them on a 64-bit line, valid as
 * long as records held together are less than 2^31 numbers apart. */
static uint64_t nlm_unwrap(struct nlm_store *s, uint32_t seq) {
  uint64_t key;
  if (s->anchor == 0) {
    s->anchor = NLM_KEY_BASE + seq;
    return s->anchor;
  }
  key = (uint64_t)((int64_t)s->anchor + (int32_t)(seq - (uint32_t)s->anchor));
  if (key > s->anchor)
    s->anchor = key;
  return key;
}

static struct nlm_group *nlm_group_of(struct nlm_store *s, uint16_t group) {
  size_t i;
  for (i = 0; i < s->ngroups; i++)
    if (s->groups[i].group == group)
      return &s->groups[i];
  return NULL;
}

void nlm_ingest(struct nlm_store *s, size_t n, uint64_t recv_ms) {
  size_t i;
  for (i = 0; i < n; i++) {
    const uint8_t *e = s->scratch_ix + i * NLR_INDEX_ENTRY_BYTES;
    struct nlm_item *it = &s->items[s->count++];
    memcpy(it->entry, e, NLR_INDEX_ENTRY_BYTES);
    it->off = nlr_le32(e + NLR_IX_OFFSET);
    it->len = NLR_PCAP_RECORD_HEADER_BYTES + nlr_le32(s->data + it->off + 8);
    it->recv_ms = recv_ms;
    it->arrival = s->arrival++;
    it->key = 0;
    if (e[NLR_IX_FLAGS] & NLR_IX_F_SEQ_GLOBAL) {
      uint64_t key = nlm_unwrap(s, nlr_le32(e + NLR_IX_SEQ_GLOBAL));
      uint16_t group = (uint16_t)(e[NLR_IX_GROUP] | e[NLR_IX_GROUP + 1] << 8);
      struct nlm_group *g = nlm_group_of(s, group);
      if (s->released != 0 && key <= s->released) {
        s->late++; /* something newer already left: send it on at once */
      } else {
        it->key = key;
        if (g != NULL && (!g->seen || key > g->last)) {
          g->last = key;
          g->seen = 1;
        }
      }
    }
    s->live_bytes += it->len;
  }
}

void nlm_sort(struct nlm_store *s) {
  if (s->count > 1) /* items is NULL until the first record */
    qsort(s->items, s->count, sizeof(*s->items), nlm_cmp_key);
}

size_t nlm_releasable(struct nlm_store *s, uint64_t now_ms, int deadlines,
                      int force, size_t *bytes) {
  size_t i, n = 0, total = 0;
  uint64_t horizon = 0;

  if (force) {
    n = s->count;
  } else {
    /* Every group has delivered up to at least this key: nothing older is
     * still on its way from any of them. */
    int all_seen = s->ngroups > 0;
    uint64_t least = UINT64_MAX;
    for (i = 0; i < s->ngroups; i++) {
      if (!s->groups[i].seen)
        all_seen = 0;
      else if (s->groups[i].last < least)
        least = s->groups[i].last;
    }
    if (all_seen)
      horizon = least;
    /* A record held hold_ms: everything logged before it has arrived. */
    if (deadlines)
      for (i = 0; i < s->count; i++)
        if (s->items[i].recv_ms + s->hold_ms <= now_ms &&
            s->items[i].key > horizon)
          horizon = s->items[i].key;
    while (n < s->count && s->items[n].key <= horizon)
      n++;
  }
  for (i = 0; i < n; i++)
    total += s->items[i].len;
  /* Bounded memory: past the cap, let the oldest go early (counted). */
  if (!force && s->live_bytes > NLM_MAX_HELD_BYTES) {
    while (n < s->count && s->live_bytes - total > NLM_MAX_HELD_BYTES / 2) {
      total += s->items[n++].len;
      s->forced++;
    }
  }
  *bytes = total;
  return n;
}

static uint64_t nlm_ts(const uint8_t *rec) {
  return (uint64_t)nlr_le32(rec) * NLM_USEC_PER_SEC + nlr_le32(rec + 4);
}

void nlm_release(struct nlm_store *s, size_t n, uint8_t *out, uint8_t *ix) {
  size_t i, o = 0;
  uint64_t least = UINT64_MAX;

  for (i = 0; i < n; i++) {
    struct nlm_item *it = &s->items[i];
    uint8_t *e = ix + i * NLR_INDEX_ENTRY_BYTES;
    memcpy(out + o, s->data + it->off, it->len);
    memcpy(e, it->entry, NLR_INDEX_ENTRY_BYTES);
    nlr_put_le32(e + NLR_IX_OFFSET, (uint32_t)o);
    it->off = (uint32_t)o; /* now an offset into out, for the pass below */
    o += it->len;
    if (it->key > s->released)
      s->released = it->key;
  }
  /* Receipt-stamped records: the earliest receipt time at or after them in
   * kernel order (held ones included). Kernel timestamps stay as they are. */
  for (i = s->count; i-- > 0;) {
    struct nlm_item *it = &s->items[i];
    uint8_t *rec = i < n ? out + it->off : s->data + it->off;
    uint64_t ts;
    if (it->entry[NLR_IX_FLAGS] & NLR_IX_F_KERNEL_TS)
      continue;
    ts = nlm_ts(rec);
    if (ts <= least) {
      least = ts;
    } else if (i < n) {
      nlr_put_le32(rec, (uint32_t)(least / NLM_USEC_PER_SEC));
      nlr_put_le32(rec + 4, (uint32_t)(least % NLM_USEC_PER_SEC));
    }
  }
  s->live_bytes -= o;
  if (n > 0 && n < s->count)
    memmove(s->items, s->items + n, (s->count - n) * sizeof(*s->items));
  s->count -= n;
  if (s->count == 0) {
    s->data_len = 0;
  } else if (s->data_len - s->live_bytes > s->live_bytes &&
             s->data_len - s->live_bytes > NLM_COMPACT_MIN_BYTES) {
    nlm_compact(s);
  }
}

uint64_t nlm_next_deadline(const struct nlm_store *s) {
  size_t i;
  uint64_t first = 0;
  for (i = 0; i < s->count; i++)
    if (first == 0 || s->items[i].recv_ms < first)
      first = s->items[i].recv_ms;
  return s->count == 0 ? 0 : first + s->hold_ms;
}

/*
 * Accounting by rule: packets and bytes per (NFLOG group, log prefix), counted
 * by the walker as it converts each packet (nl_records.c), read by JS once per
 * export. A small fixed-capacity table, allocated once: no allocation and no
 * syscall per packet, and a hostile or sloppy ruleset cannot grow it; keys
 * beyond the capacity are counted in one "other" bucket.
 *
 * No sockets and no N-API here.
 */
#ifndef NFLOG_NATIVE_NL_ACCOUNT_H
#define NFLOG_NATIVE_NL_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

/* The kernel's NF_LOG_PREFIXLEN (NUL included): prefixes are shorter. */
#define NLA_PREFIX_MAX 128
/* Largest capacity accepted (TS validates --max-series against it). */
#define NLA_MAX_ENTRIES 65536

struct nla_entry {
  uint64_t packets;
  uint64_t bytes; /* IP bytes: the packets' original length */
  uint16_t group;
  uint8_t prefix_len; /* bytes of prefix, trailing NULs dropped */
  char prefix[NLA_PREFIX_MAX];
};

struct nla_table {
  struct nla_entry *entries; /* cap entries, the first count in use */
  size_t cap;
  size_t count;
  uint32_t *slots; /* open addressing: entry index + 1, 0 = empty */
  size_t slot_mask;
  size_t last; /* entry index + 1 of the last hit, 0 = none */
  uint64_t other_packets;
  uint64_t other_bytes;
};

/* Allocate a table for `cap` keys (1..NLA_MAX_ENTRIES). Returns 0, -EINVAL or
 * -ENOMEM (then nothing is held). */
int nla_init(struct nla_table *t, size_t cap);

/* Release what nla_init allocated; safe on a zeroed or freed table. */
void nla_free(struct nla_table *t);

/* Count one packet of `bytes` IP bytes logged to `group` with NFULA_PREFIX
 * `prefix[0..len)` (the kernel's NUL included or not; NULL/0 = no prefix). */
void nla_count(struct nla_table *t, uint16_t group, const uint8_t *prefix,
               size_t len, uint64_t bytes);

#endif

/*
 * N-API surface of nflog-native: the only file that calls napi_* and uv_*.
 *
 * Exports (typed in src/native.ts):
 *   open(groups, config, onBatch) -> handle | { errno, syscall, group }
 *   parseNflogMessages(buf, config) -> { buffer, recordsBytes, count, ... }
 *   replayNflog(events, config) -> { batches, ... } (tests: the drain logic,
 *     merge included, on recorded datagrams with given times)
 *   lockPrivileges() -> undefined | { errno, syscall, group }  (nl_privs.c)
 *   groupByShard(records, index, table, shards, perShard) -> Buffer
 *     (nl_shard.c: one read's records grouped by the shard of their flow)
 * Handle methods: close, ref, unref, pause, resume, drain, flush, unbind,
 * stats, info, account.
 *
 * A handle watches the netlink fd with a uv_poll_t on the main loop. Each
 * readable event drains the socket (until EAGAIN, or a cap on datagrams and
 * bytes so other I/O gets its turn), converts every NFLOG message to a pcap
 * record and an index entry, and calls onBatch once with one fresh Buffer:
 * the records, then their index entries (nl_records.h). With several groups
 * the records go through the kernel-order merge (nl_merge.h) first; a
 * uv_timer_t wakes the handle when a held record's hold ends, so nothing
 * waits for traffic to be released. Defaults, validation and error classes
 * live in TS.
 */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "nl_flow.h"
#include "nl_merge.h"
#include "nl_privs.h"
#include "nl_records.h"
#include "nl_shard.h"
#include "nl_socket.h"

/* Largest datagram we accept: the kernel caps a batch (nlbufsiz) at 128 KiB;
 * twice that leaves room for a batch allocated for one oversized packet. */
#define NFL_DGRAM_MAX (256 * 1024)
/* Work cap per readable event: at most this many datagrams ... */
#define NFL_DRAIN_MAX_DGRAMS 64
/* ... and about this many bytes (8 MiB + one datagram of slack). */
#define NFL_ARENA_BYTES (8 * 1024 * 1024 + NFL_DGRAM_MAX)
#define NFL_MAX_GROUPS 32
/* flush(): at most this many drains before everything held is released. */
#define NFL_FLUSH_MAX_DRAINS 16
/* glibc malloc tuning applied when a socket opens (see nfl_tune_malloc). */
#define NFL_MALLOC_MMAP_THRESHOLD (16 * 1024 * 1024)
#define NFL_MALLOC_TRIM_THRESHOLD (64 * 1024 * 1024)

#define NFL_CALL(env, call, ret)                                               \
  do {                                                                         \
    if ((call) != napi_ok) {                                                   \
      nfl_throw_last(env);                                                     \
      return ret;                                                              \
    }                                                                          \
  } while (0)

struct nfl_seg {
  uint8_t *data;
  size_t len;
  struct nlr_time now; /* wall clock, for records without NFULA_TIMESTAMP */
  uint64_t recv_ms;    /* monotonic, for the merge's hold */
};

/* What turns datagrams into records: shared by handles and replayNflog. */
struct nfl_core {
  struct nlr_config cfg;
  int merging; /* several groups: records go through `merge` */
  struct nlm_store merge;
  struct nlr_seq_tracker seq;
  struct nlr_counts counts;
  struct nla_table acct; /* accounting by rule; entries NULL when off */
};

/* The walker's accounting table, or NULL when accounting is off. */
static struct nla_table *nfl_acct(struct nfl_core *c) {
  return c->acct.entries != NULL ? &c->acct : NULL;
}

/* One batch for JS: [records][index entries], or none. */
struct nfl_out {
  napi_value buffer; /* NULL when nothing was made */
  size_t count;
  size_t records_bytes;
};

struct nfl_handle {
  napi_env env;
  int fd;
  uint32_t portid;
  int linktype;
  int closed;
  int paused;
  int failed;
  int in_drain;
  int drained_empty; /* the last drain read until EAGAIN */
  int debug_raw;
  int rcvbuf_bytes;
  int rcvbuf_forced;
  uv_poll_t *poll;
  uv_timer_t *timer; /* the merge's next hold deadline */
  napi_ref self_ref; /* strong while open: an open socket is never GC'd */
  napi_ref cb_ref;
  napi_async_context async_ctx;
  uint8_t *arena;
  /* Datagrams read while waiting for config acks during open. */
  struct nfl_seg *pending;
  size_t pending_count;
  size_t pending_cap;
  struct nfl_core core;
  uint64_t batches;
  uint64_t datagrams;
  uint64_t enobufs;
  /* Bound groups and the config sequence counter, for unbind(). */
  uint16_t groups[NFL_MAX_GROUPS];
  uint32_t ngroups;
  uint32_t cfg_seq;
  /* Datagrams the last nfl_drain handed over (stashed ones included). */
  size_t drained;
};

static void nfl_throw_last(napi_env env) {
  const napi_extended_error_info *info = NULL;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending)
    return;
  napi_get_last_error_info(env, &info);
  napi_throw_error(env, "ERR_NFLOG_NAPI",
                   info != NULL && info->error_message != NULL
                       ? info->error_message
                       : "N-API call failed");
}

static struct nlr_time nfl_now(void) {
  struct timespec ts;
  struct nlr_time t;
  clock_gettime(CLOCK_REALTIME, &ts);
  t.sec = (uint32_t)ts.tv_sec;
  t.usec = (uint32_t)(ts.tv_nsec / 1000);
  return t;
}

static uint64_t nfl_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * A capturing process allocates a fresh Buffer per read (this file) and per
 * v1 frame (the sender), typically 128 KiB to a few MiB each, at hundreds to
 * thousands per second, and V8 frees them in bursts when it collects. With
 * glibc's defaults every such block sits above the mmap threshold or is
 * trimmed off the heap top after a burst, so each one costs mmap, a page fault
 * per 4 KiB (zeroed by the kernel) and munmap, whose TLB shootdown interrupts
 * every thread of the process (costly on a VM). Measured at 1400 B x ~200k
 * packets/s: the sender's main thread spent 17-20% of a core in the kernel,
 * 6% with these settings, for ~12 MiB more peak RSS. Serving these blocks
 * from the heap and keeping up to 64 MiB of freed memory there stops that.
 * Process-wide by nature (mallopt), so applied once, at the first open (only
 * a process that captures), and not when the operator tunes malloc through
 * GLIBC_TUNABLES.
 */
static void nfl_tune_malloc(void) {
#ifdef __GLIBC__
  static int done = 0;
  const char *tunables = getenv("GLIBC_TUNABLES");
  if (done)
    return;
  done = 1;
  if (tunables != NULL && strstr(tunables, "glibc.malloc.") != NULL)
    return;
  mallopt(M_MMAP_THRESHOLD, NFL_MALLOC_MMAP_THRESHOLD);
  mallopt(M_TRIM_THRESHOLD, NFL_MALLOC_TRIM_THRESHOLD);
#endif
}

/* ---- small value helpers ------------------------------------------------ */

static int nfl_set_number(napi_env env, napi_value obj, const char *key,
                          double v) {
  napi_value n;
  if (napi_create_double(env, v, &n) != napi_ok ||
      napi_set_named_property(env, obj, key, n) != napi_ok)
    return -1;
  return 0;
}

static int nfl_get_u32(napi_env env, napi_value obj, const char *key,
                       uint32_t *out) {
  napi_value v;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok ||
      napi_get_value_uint32(env, v, out) != napi_ok)
    return -1;
  return 0;
}

/* An optional u32 property; `def` when absent. */
static int nfl_opt_u32(napi_env env, napi_value obj, const char *key,
                       uint32_t def, uint32_t *out) {
  bool has = false;
  *out = def;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok)
    return -1;
  return has ? nfl_get_u32(env, obj, key, out) : 0;
}

static napi_value nfl_failure(napi_env env, int err, const char *syscall,
                              int group) {
  napi_value obj, s;
  if (napi_create_object(env, &obj) != napi_ok ||
      nfl_set_number(env, obj, "errno", err) != 0 ||
      napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &s) != napi_ok ||
      napi_set_named_property(env, obj, "syscall", s) != napi_ok ||
      nfl_set_number(env, obj, "group", group) != 0) {
    nfl_throw_last(env);
    return NULL;
  }
  return obj;
}

static napi_value nfl_counts_object(napi_env env, const struct nfl_core *core) {
  const struct nlr_counts *c = &core->counts;
  napi_value obj;
  if (napi_create_object(env, &obj) != napi_ok ||
      nfl_set_number(env, obj, "packets", (double)c->packets) != 0 ||
      nfl_set_number(env, obj, "bytes", (double)c->bytes) != 0 ||
      nfl_set_number(env, obj, "truncated", (double)c->truncated) != 0 ||
      nfl_set_number(env, obj, "malformed", (double)c->malformed) != 0 ||
      nfl_set_number(env, obj, "kernelDropped", (double)c->kernel_dropped) !=
          0 ||
      nfl_set_number(env, obj, "checksumsFixed", (double)c->csum_fixed) != 0 ||
      nfl_set_number(env, obj, "checksumsIncomplete",
                     (double)c->csum_incomplete) != 0 ||
      nfl_set_number(env, obj, "orderLate", (double)core->merge.late) != 0 ||
      nfl_set_number(env, obj, "orderForced", (double)core->merge.forced) !=
          0 ||
      nfl_set_number(env, obj, "held", (double)core->merge.count) != 0) {
    nfl_throw_last(env);
    return NULL;
  }
  return obj;
}

/*
 * The accounting table and the per-group kernel drops as JS values, built
 * once per export (scrape or flush), never per batch:
 * { entries: [{ group, prefix, packets, bytes }], otherPackets, otherBytes,
 *   groups: [{ group, kernelDropped }] }. Entries keep their index between
 * calls (the table only appends).
 */
static napi_value nfl_account_object(napi_env env, const struct nla_table *t,
                                     const struct nlr_seq_tracker *seq) {
  napi_value obj, entries, groups, e, str;
  size_t i;
  if (napi_create_object(env, &obj) != napi_ok ||
      napi_create_array_with_length(env, t->count, &entries) != napi_ok ||
      napi_create_array_with_length(env, seq->count, &groups) != napi_ok)
    goto fail;
  for (i = 0; i < t->count; i++) {
    const struct nla_entry *x = &t->entries[i];
    if (napi_create_object(env, &e) != napi_ok ||
        nfl_set_number(env, e, "group", x->group) != 0 ||
        napi_create_string_utf8(env, x->prefix, x->prefix_len, &str) !=
            napi_ok ||
        napi_set_named_property(env, e, "prefix", str) != napi_ok ||
        nfl_set_number(env, e, "packets", (double)x->packets) != 0 ||
        nfl_set_number(env, e, "bytes", (double)x->bytes) != 0 ||
        napi_set_element(env, entries, (uint32_t)i, e) != napi_ok)
      goto fail;
  }
  for (i = 0; i < seq->count; i++) {
    if (napi_create_object(env, &e) != napi_ok ||
        nfl_set_number(env, e, "group", seq->groups[i].group) != 0 ||
        nfl_set_number(env, e, "kernelDropped",
                       (double)seq->groups[i].dropped) != 0 ||
        napi_set_element(env, groups, (uint32_t)i, e) != napi_ok)
      goto fail;
  }
  if (napi_set_named_property(env, obj, "entries", entries) != napi_ok ||
      napi_set_named_property(env, obj, "groups", groups) != napi_ok ||
      nfl_set_number(env, obj, "otherPackets", (double)t->other_packets) != 0 ||
      nfl_set_number(env, obj, "otherBytes", (double)t->other_bytes) != 0)
    goto fail;
  return obj;
fail:
  nfl_throw_last(env);
  return NULL;
}

/* ---- records: datagrams -> one Buffer --------------------------------- */

static void nfl_core_init(struct nfl_core *c, int linktype, int wire_checksums,
                          int flow_key) {
  memset(c, 0, sizeof(*c));
  c->cfg.linktype = linktype;
  c->cfg.wire_checksums = wire_checksums;
  c->cfg.flow_key = flow_key;
}

/* The measure pass: the bytes and number of the records `segs` will make. */
static void nfl_measure(const struct nfl_core *c, const struct nfl_seg *segs,
                        size_t nseg, size_t *total, size_t *records) {
  size_t i;
  for (i = 0; i < nseg; i++)
    nlr_walk(segs[i].data, segs[i].len, &c->cfg, &segs[i].now, NULL, 0, total,
             NULL, 0, records, NULL, NULL, NULL);
}

/* Records straight from the datagrams, in arrival order (one group: that is
 * kernel order already). */
static napi_status nfl_make_direct(napi_env env, struct nfl_core *c,
                                   const struct nfl_seg *segs, size_t nseg,
                                   int want_empty, struct nfl_out *out) {
  size_t i, total = 0, records = 0, off = 0, n = 0;
  void *data = NULL;
  napi_status st;

  nfl_measure(c, segs, nseg, &total, &records);
  if (records == 0 && !want_empty)
    return napi_ok;
  st = napi_create_buffer(env, total + records * NLR_INDEX_ENTRY_BYTES, &data,
                          &out->buffer);
  if (st != napi_ok)
    return st;
  for (i = 0; i < nseg; i++)
    nlr_walk(segs[i].data, segs[i].len, &c->cfg, &segs[i].now, data, total,
             &off, (uint8_t *)data + total, records, &n, &c->counts, &c->seq,
             nfl_acct(c));
  out->count = n;
  out->records_bytes = total;
  return napi_ok;
}

/* Records through the merge: walked into its store, released in kernel
 * order when nothing older can still come (or everything, with force). */
static napi_status nfl_make_merged(napi_env env, struct nfl_core *c,
                                   const struct nfl_seg *segs, size_t nseg,
                                   uint64_t now_ms, int drained_empty,
                                   int force, int want_empty,
                                   struct nfl_out *out) {
  struct nlm_store *m = &c->merge;
  size_t i, total = 0, records = 0, k, bytes = 0;
  void *data = NULL;
  napi_status st;

  nfl_measure(c, segs, nseg, &total, &records);
  if (records > 0 && nlm_reserve(m, total, records) != 0)
    /* No memory to hold them: pass them on unmerged rather than lose them. */
    return nfl_make_direct(env, c, segs, nseg, want_empty, out);
  for (i = 0; i < nseg && records > 0; i++) {
    size_t n = 0;
    nlr_walk(segs[i].data, segs[i].len, &c->cfg, &segs[i].now, m->data,
             m->data_cap, &m->data_len, m->scratch_ix, m->scratch_cap, &n,
             &c->counts, &c->seq, nfl_acct(c));
    nlm_ingest(m, n, segs[i].recv_ms);
  }
  nlm_sort(m);
  k = nlm_releasable(m, now_ms, drained_empty, force, &bytes);
  if (k == 0 && !want_empty)
    return napi_ok;
  st = napi_create_buffer(env, bytes + k * NLR_INDEX_ENTRY_BYTES, &data,
                          &out->buffer);
  if (st != napi_ok)
    return st;
  nlm_release(m, k, data, (uint8_t *)data + bytes);
  out->count = k;
  out->records_bytes = bytes;
  return napi_ok;
}

static napi_status nfl_make(napi_env env, struct nfl_core *c,
                            const struct nfl_seg *segs, size_t nseg,
                            uint64_t now_ms, int drained_empty, int force,
                            int want_empty, struct nfl_out *out) {
  memset(out, 0, sizeof(*out));
  if (c->merging)
    return nfl_make_merged(env, c, segs, nseg, now_ms, drained_empty, force,
                           want_empty, out);
  return nfl_make_direct(env, c, segs, nseg, want_empty, out);
}

/* ---- lifecycle ------------------------------------------------------------
 */

static void nfl_free_uv(uv_handle_t *handle) {
  free(handle);
}

/* Memory only the drain uses: freed at once, or by the drain that is running
 * when close() is called from its callback. */
static void nfl_free_drain_memory(struct nfl_handle *h) {
  free(h->arena);
  h->arena = NULL;
  nlm_free(&h->core.merge);
}

static void nfl_free_pending(struct nfl_handle *h) {
  size_t i;
  for (i = 0; i < h->pending_count; i++)
    free(h->pending[i].data);
  free(h->pending);
  h->pending = NULL;
  h->pending_count = h->pending_cap = 0;
}

/* Release the kernel side: stop watching, close the fd (the kernel unbinds
 * our groups when the socket goes away), drop the JS references. */
static void nfl_release(struct nfl_handle *h, int napi_allowed) {
  if (h->closed)
    return;
  h->closed = 1;
  if (h->poll != NULL) {
    uv_poll_stop(h->poll);
    h->poll->data = NULL;
    uv_close((uv_handle_t *)h->poll, nfl_free_uv);
    h->poll = NULL;
  }
  if (h->timer != NULL) {
    uv_timer_stop(h->timer);
    h->timer->data = NULL;
    uv_close((uv_handle_t *)h->timer, nfl_free_uv);
    h->timer = NULL;
  }
  if (h->fd >= 0) {
    close(h->fd);
    h->fd = -1;
  }
  if (napi_allowed) {
    if (h->async_ctx != NULL)
      napi_async_destroy(h->env, h->async_ctx);
    if (h->cb_ref != NULL)
      napi_delete_reference(h->env, h->cb_ref);
    if (h->self_ref != NULL)
      napi_reference_unref(h->env, h->self_ref, NULL);
    h->async_ctx = NULL;
    h->cb_ref = NULL;
  }
  nfl_free_pending(h);
  if (!h->in_drain)
    nfl_free_drain_memory(h);
}

static void nfl_finalize(napi_env env, void *data, void *hint) {
  struct nfl_handle *h = data;
  (void)hint;
  /* Open handles are strongly referenced, so this runs only after close()
   * or at environment teardown. */
  nfl_release(h, 0);
  if (h->self_ref != NULL)
    napi_delete_reference(env, h->self_ref);
  nfl_free_drain_memory(h);
  nla_free(&h->core.acct);
  free(h);
}

/* ---- draining ---------------------------------------------------------------
 */

static void nfl_poll_cb(uv_poll_t *poll, int status, int events);
static void nfl_drain(struct nfl_handle *h, int in_js, int force);

/* The merge's wake-up: a held record's hold has ended. */
static void nfl_timer_cb(uv_timer_t *timer) {
  struct nfl_handle *h = timer->data;
  if (h != NULL && !h->closed && !h->paused)
    nfl_drain(h, 0, 0);
}

/* Wake when the first held record may go; nothing held, no timer. */
static void nfl_arm_timer(struct nfl_handle *h, uint64_t now_ms) {
  uint64_t due;
  if (h->timer == NULL || h->closed)
    return;
  due = h->core.merging ? nlm_next_deadline(&h->core.merge) : 0;
  if (due == 0 || h->paused || h->failed)
    uv_timer_stop(h->timer);
  else
    uv_timer_start(h->timer, nfl_timer_cb, due > now_ms ? due - now_ms : 1, 0);
}

/*
 * Read up to the work cap, convert, and call onBatch once.
 * in_js: called from a JS method (use napi_call_function and let exceptions
 * propagate) rather than from the event loop (use napi_make_callback).
 * force: release every record the merge holds (flush()).
 */
static void nfl_drain(struct nfl_handle *h, int in_js, int force) {
  napi_env env = h->env;
  struct nfl_seg segs[NFL_DRAIN_MAX_DGRAMS];
  struct nfl_seg *all = segs;
  size_t nseg = 0, i, used = 0;
  uint64_t enobufs_before = h->enobufs, now_ms;
  int fatal = 0, empty = 0;
  napi_handle_scope scope;
  napi_value argv[5], cb, recv, result;
  struct nfl_out out;

  h->drained = 0;
  if (h->closed || h->failed)
    return;
  if (h->arena == NULL && (h->arena = malloc(NFL_ARENA_BYTES)) == NULL)
    return; /* try again on the next readable event */
  h->in_drain = 1;

  while (fatal == 0 && nseg < NFL_DRAIN_MAX_DGRAMS &&
         used + NFL_DGRAM_MAX <= NFL_ARENA_BYTES) {
    ssize_t n = nl_recv(h->fd, h->arena + used, NFL_DGRAM_MAX);
    if (n == -EAGAIN || n == -EWOULDBLOCK) {
      empty = 1;
      break;
    }
    if (n == -ENOBUFS) {
      /* The kernel dropped whole batches; NFULA_SEQ gaps count the packets.
       * Reported once per overrun episode, so this loop stays bounded. */
      h->enobufs++;
      continue;
    }
    if (n == -EMSGSIZE) {
      h->core.counts.malformed++;
      continue;
    }
    if (n < 0) {
      fatal = (int)-n;
      break;
    }
    h->datagrams++;
    segs[nseg].data = h->arena + used;
    segs[nseg].len = (size_t)n;
    segs[nseg].now = nfl_now();
    segs[nseg].recv_ms = nfl_mono_ms();
    nseg++;
    used += ((size_t)n + 7u) & ~(size_t)7u;
  }
  h->drained_empty = empty;
  now_ms = nfl_mono_ms();

  /* Datagrams stashed during open go first, in arrival order. */
  if (h->pending_count > 0) {
    all = malloc((h->pending_count + nseg) * sizeof(*all));
    if (all == NULL) {
      all = segs;
    } else {
      memcpy(all, h->pending, h->pending_count * sizeof(*all));
      memcpy(all + h->pending_count, segs, nseg * sizeof(*all));
      nseg += h->pending_count;
    }
  }
  h->drained = nseg;

  if (napi_open_handle_scope(env, &scope) != napi_ok)
    goto done;
  /* A merge deadline only holds once the socket was read empty: a datagram
   * still queued may carry older records. */
  if (nfl_make(env, &h->core, all, nseg, now_ms, empty, force,
               fatal != 0 || h->enobufs != enobufs_before ||
                   (h->debug_raw && nseg > 0),
               &out) != napi_ok ||
      out.buffer == NULL)
    goto close_scope;
  argv[0] = out.buffer;
  if (out.count > 0)
    h->batches++;
  napi_create_uint32(env, (uint32_t)out.count, &argv[1]);
  napi_create_uint32(env, (uint32_t)out.records_bytes, &argv[2]);
  napi_create_int32(env, fatal, &argv[3]);
  napi_get_undefined(env, &argv[4]);
  if (h->debug_raw) {
    /* Test-only: the raw datagrams, each prefixed by its u32 LE length,
     * so fixtures can be recorded from a live kernel. */
    size_t raw_len = 0, off = 0;
    void *raw = NULL;
    for (i = 0; i < nseg; i++)
      raw_len += 4 + all[i].len;
    if (napi_create_buffer(env, raw_len, &raw, &argv[4]) == napi_ok)
      for (i = 0; i < nseg; i++) {
        nlr_put_le32((uint8_t *)raw + off, (uint32_t)all[i].len);
        memcpy((uint8_t *)raw + off + 4, all[i].data, all[i].len);
        off += 4 + all[i].len;
      }
  }
  if (fatal != 0) {
    /* Not an event we can recover from: stop watching; JS decides. */
    h->failed = 1;
    if (h->poll != NULL)
      uv_poll_stop(h->poll);
  }
  if (h->cb_ref == NULL ||
      napi_get_reference_value(env, h->cb_ref, &cb) != napi_ok ||
      napi_get_reference_value(env, h->self_ref, &recv) != napi_ok)
    goto close_scope;
  /* Free the stash before JS runs: close() from the callback is allowed. */
  if (all != segs) {
    nfl_free_pending(h);
    free(all);
    all = segs;
  }
  if (in_js) {
    napi_call_function(env, recv, cb, 5, argv, &result);
  } else if (napi_make_callback(env, h->async_ctx, recv, cb, 5, argv,
                                &result) != napi_ok) {
    napi_value err;
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    /* An exception thrown by onBatch goes where any callback's would:
     * process 'uncaughtException'. */
    if (pending && napi_get_and_clear_last_exception(env, &err) == napi_ok)
      napi_fatal_exception(env, err);
  }
close_scope:
  napi_close_handle_scope(env, scope);
done:
  if (all != segs) {
    nfl_free_pending(h);
    free(all);
  }
  if (!h->closed)
    nfl_arm_timer(h, now_ms);
  h->in_drain = 0;
  if (h->closed)
    nfl_free_drain_memory(h);
}

static void nfl_poll_cb(uv_poll_t *poll, int status, int events) {
  struct nfl_handle *h = poll->data;
  (void)events;
  if (h == NULL || h->closed)
    return;
  if (status < 0) {
    /* libuv saw POLLERR, stopped watching and reports UV_EBADF. On a netlink
     * socket POLLERR is how the kernel signals an overrun (sk_err = ENOBUFS):
     * the next recv() returns ENOBUFS and clears it. So read anyway (a real
     * socket failure still surfaces from recv() and is fatal there) and, if
     * the handle survived, start watching again. */
    nfl_drain(h, 0, 0);
    if (!h->closed && !h->failed && h->poll != NULL &&
        uv_poll_start(h->poll, UV_READABLE, nfl_poll_cb) != 0)
      h->failed = 1;
    return;
  }
  nfl_drain(h, 0, 0);
}

/* Stash a datagram read while waiting for an ack (see nl_bind_group). */
static void nfl_stash(void *ctx, const uint8_t *buf, size_t len) {
  struct nfl_handle *h = ctx;
  struct nfl_seg *seg;
  if (h->pending_count == h->pending_cap) {
    size_t cap = h->pending_cap ? h->pending_cap * 2 : 4;
    struct nfl_seg *p = realloc(h->pending, cap * sizeof(*p));
    if (p == NULL)
      return; /* lost; shows up as an NFULA_SEQ gap */
    h->pending = p;
    h->pending_cap = cap;
  }
  seg = &h->pending[h->pending_count];
  if ((seg->data = malloc(len)) == NULL)
    return;
  memcpy(seg->data, buf, len);
  seg->len = len;
  seg->now = nfl_now();
  seg->recv_ms = nfl_mono_ms();
  h->pending_count++;
}

/* ---- handle methods ------------------------------------------------------ */

static struct nfl_handle *nfl_this(napi_env env, napi_callback_info info,
                                   size_t *argc, napi_value *argv) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok ||
      napi_unwrap(env, self, &data) != napi_ok) {
    nfl_throw_last(env);
    return NULL;
  }
  return data;
}

static napi_value nfl_undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static napi_value nfl_m_close(napi_env env, napi_callback_info info) {
  struct nfl_handle *h = nfl_this(env, info, NULL, NULL);
  if (h == NULL)
    return NULL;
  nfl_release(h, 1);
  return nfl_undefined(env);
}

static napi_value nfl_m_ref(napi_env env, napi_callback_info info) {
  struct nfl_handle *h = nfl_this(env, info, NULL, NULL);
  if (h == NULL)
    return NULL;
  if (h->poll != NULL)
    uv_ref((uv_handle_t *)h->poll);
  return nfl_undefined(env);
}

static napi_value nfl_m_unref(napi_env env, napi_callback_info info) {
  struct nfl_handle *h = nfl_this(env, info, NULL, NULL);
  if (h == NULL)
    return NULL;
  if (h->poll != NULL)
    uv_unref((uv_handle_t *)h->poll);
  return nfl_undefined(env);
}

static napi_value nfl_m_pause(napi_env env, napi_callback_info info) {
  struct nfl_handle *h = nfl_this(env, info, NULL, NULL);
  if (h == NULL)
    return NULL;
  if (h->poll != NULL && !h->paused) {
    uv_poll_stop(h->poll);
    if (h->timer != NULL)
      uv_timer_stop(h->timer);
    h->paused = 1;
  }
  return nfl_undefined(env);
}

/* Returns 0 or a positive errno. */
static napi_value nfl_m_resume(napi_env env, napi_callback_info info) {
  struct nfl_handle *h = nfl_this(env, info, NULL, NULL);
  napi_value r;
  int err = 0;
  if (h == NULL)
    return NULL;
  if (h->poll != NULL && h->paused && !h->failed) {
    err = -uv_poll_start(h->poll, UV_READABLE, nfl_poll_cb);
    if (err == 0)
      h->paused = 0;
  }
  napi_create_int32(env, err, &r);
  return r;
}

/* drain(evenPaused?: boolean): returns the number of datagrams handed over
 * (0: nothing was waiting). A paused handle is only read with evenPaused. */
static napi_value nfl_m_drain(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], r;
  bool even_paused = false;
  struct nfl_handle *h = nfl_this(env, info, &argc, argv);
  if (h == NULL)
    return NULL;
  if (argc >= 1 && napi_get_value_bool(env, argv[0], &even_paused) != napi_ok)
    even_paused = false;
  h->drained = 0;
  if (!h->paused || even_paused)
    nfl_drain(h, 1, 0);
  napi_create_uint32(env, (uint32_t)h->drained, &r);
  return r;
}

/*
 * unbind() -> undefined | { errno, syscall, group }
 * NFULNL_CFG_CMD_UNBIND for every bound group, in bind order. The kernel
 * sends each group's pending batch before its ack; those datagrams are
 * stashed and delivered by the next drain(). Stops at the first failure
 * (EPERM once CAP_NET_ADMIN is gone); the groups then stay bound until
 * close().
 */
static napi_value nfl_m_unbind(napi_env env, napi_callback_info info) {
  struct nfl_handle *h = nfl_this(env, info, NULL, NULL);
  uint32_t i;
  int err;
  if (h == NULL)
    return NULL;
  if (h->closed)
    return nfl_undefined(env);
  for (i = 0; i < h->ngroups; i++) {
    err = nl_unbind_group(h->fd, &h->cfg_seq, h->groups[i], nfl_stash, h);
    if (err != 0)
      return nfl_failure(env, -err, "NFULNL_CFG_CMD_UNBIND", h->groups[i]);
  }
  h->ngroups = 0;
  return nfl_undefined(env);
}

/* Read what the socket holds now (bounded) and release every record the
 * merge holds, through onBatch, before returning. */
static napi_value nfl_m_flush(napi_env env, napi_callback_info info) {
  struct nfl_handle *h = nfl_this(env, info, NULL, NULL);
  int i;
  if (h == NULL)
    return NULL;
  for (i = 0; i < NFL_FLUSH_MAX_DRAINS && !h->closed && !h->failed; i++) {
    nfl_drain(h, 1, 0);
    if (h->drained_empty)
      break;
  }
  if (!h->closed && !h->failed && h->core.merging && h->core.merge.count > 0)
    nfl_drain(h, 1, 1);
  return nfl_undefined(env);
}

static napi_value nfl_m_stats(napi_env env, napi_callback_info info) {
  struct nfl_handle *h = nfl_this(env, info, NULL, NULL);
  napi_value obj;
  if (h == NULL || (obj = nfl_counts_object(env, &h->core)) == NULL)
    return NULL;
  if (nfl_set_number(env, obj, "batches", (double)h->batches) != 0 ||
      nfl_set_number(env, obj, "enobufs", (double)h->enobufs) != 0 ||
      nfl_set_number(env, obj, "datagrams", (double)h->datagrams) != 0) {
    nfl_throw_last(env);
    return NULL;
  }
  return obj;
}

static napi_value nfl_m_account(napi_env env, napi_callback_info info) {
  struct nfl_handle *h = nfl_this(env, info, NULL, NULL);
  if (h == NULL)
    return NULL;
  return nfl_account_object(env, &h->core.acct, &h->core.seq);
}

static napi_value nfl_m_info(napi_env env, napi_callback_info info) {
  struct nfl_handle *h = nfl_this(env, info, NULL, NULL);
  napi_value obj;
  if (h == NULL)
    return NULL;
  if (napi_create_object(env, &obj) != napi_ok ||
      nfl_set_number(env, obj, "portid", h->portid) != 0 ||
      nfl_set_number(env, obj, "rcvbufBytes", h->rcvbuf_bytes) != 0 ||
      nfl_set_number(env, obj, "rcvbufForced", h->rcvbuf_forced) != 0) {
    nfl_throw_last(env);
    return NULL;
  }
  return obj;
}

/* ---- open ---------------------------------------------------------------- */

/*
 * open(groups: number[], config, onBatch)
 * config: { copyRange, nlbufsiz, qthresh, timeoutCs, rcvbufBytes, linktype,
 *           wireChecksums, flowKey?, merge, holdMs, debugRaw } (validated in
 *           TS; flowKey NLF_KEY_*, default 5-tuple).
 * Returns the handle, or a failure object { errno, syscall, group } after
 * undoing everything (one cleanup path).
 */
static napi_value nfl_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], obj, name;
  napi_valuetype cbtype;
  uint32_t ngroups = 0, i, rcvbuf = 0, linktype = 0, debug_raw = 0;
  uint32_t wire_checksums = 0, merge = 0, hold_ms = 0, account_max = 0;
  uint32_t flow_key = NLF_KEY_5TUPLE;
  uint32_t groups[NFL_MAX_GROUPS];
  uint16_t groups16[NFL_MAX_GROUPS];
  struct nl_group_config cfg;
  struct nfl_handle *h;
  uint32_t seq = 0;
  int err;
  uv_loop_t *loop;
  bool is_array = false;
  const char *syscall = "";
  int fail_group = -1;

  NFL_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL), NULL);
  if (argc < 3 || napi_is_array(env, argv[0], &is_array) != napi_ok ||
      !is_array || napi_typeof(env, argv[2], &cbtype) != napi_ok ||
      cbtype != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          "open(groups[], config, onBatch)");
    return NULL;
  }
  NFL_CALL(env, napi_get_array_length(env, argv[0], &ngroups), NULL);
  if (ngroups == 0 || ngroups > NFL_MAX_GROUPS) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "1..32 groups");
    return NULL;
  }
  for (i = 0; i < ngroups; i++) {
    napi_value v;
    NFL_CALL(env, napi_get_element(env, argv[0], i, &v), NULL);
    NFL_CALL(env, napi_get_value_uint32(env, v, &groups[i]), NULL);
  }
  memset(&cfg, 0, sizeof(cfg));
  if (nfl_get_u32(env, argv[1], "copyRange", &cfg.copy_range) != 0 ||
      nfl_get_u32(env, argv[1], "nlbufsiz", &cfg.nlbufsiz) != 0 ||
      nfl_get_u32(env, argv[1], "qthresh", &cfg.qthresh) != 0 ||
      nfl_get_u32(env, argv[1], "timeoutCs", &cfg.timeout_cs) != 0 ||
      nfl_get_u32(env, argv[1], "rcvbufBytes", &rcvbuf) != 0 ||
      nfl_get_u32(env, argv[1], "linktype", &linktype) != 0 ||
      nfl_get_u32(env, argv[1], "wireChecksums", &wire_checksums) != 0 ||
      nfl_get_u32(env, argv[1], "merge", &merge) != 0 ||
      nfl_get_u32(env, argv[1], "holdMs", &hold_ms) != 0 ||
      nfl_get_u32(env, argv[1], "debugRaw", &debug_raw) != 0 ||
      nfl_get_u32(env, argv[1], "accountMaxSeries", &account_max) != 0 ||
      nfl_opt_u32(env, argv[1], "flowKey", NLF_KEY_5TUPLE, &flow_key) != 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "bad config object");
    return NULL;
  }
  /* SEQ: per-group numbers, whose gaps count kernel drops. SEQ_GLOBAL: one
   * counter for the whole network namespace, the kernel's own order across
   * groups (and across other sockets that ask for it). */
  cfg.flags = NFULNL_CFG_F_SEQ | NFULNL_CFG_F_SEQ_GLOBAL;
  NFL_CALL(env, napi_get_uv_event_loop(env, &loop), NULL);

  h = calloc(1, sizeof(*h));
  if (h == NULL) {
    napi_throw_error(env, "ERR_NFLOG_NOMEM", "out of memory");
    return NULL;
  }
  h->env = env;
  h->fd = -1;
  h->debug_raw = debug_raw != 0;
  nfl_core_init(&h->core, (int)linktype, wire_checksums != 0, (int)flow_key);
  for (i = 0; i < ngroups; i++)
    groups16[i] = (uint16_t)groups[i];
  h->core.merging = merge != 0;
  if (h->core.merging)
    nlm_init(&h->core.merge, groups16, ngroups, hold_ms);

  syscall = "malloc";
  if (account_max > 0 && (err = nla_init(&h->core.acct, account_max)) != 0)
    goto fail;
  syscall = "socket";
  if ((err = nl_open(&h->fd, &h->portid)) != 0)
    goto fail;
  syscall = "setsockopt";
  if (rcvbuf > 0 && (err = nl_set_rcvbuf(h->fd, (int)rcvbuf, &h->rcvbuf_bytes,
                                         &h->rcvbuf_forced)) != 0)
    goto fail;
  syscall = "NFULNL_CFG_CMD_PF_BIND";
  if ((err = nl_pf_bind(h->fd, &seq, AF_INET)) != 0 ||
      (err = nl_pf_bind(h->fd, &seq, AF_INET6)) != 0)
    goto fail;
  syscall = "NFULNL_CFG_CMD_BIND";
  for (i = 0; i < ngroups; i++) {
    fail_group = (int)groups[i];
    /* A fresh instance numbers its packets from 0, so a loss in the very
     * first batch is counted too. */
    nlr_seq_expect(&h->core.seq, (uint16_t)groups[i], 0);
    if ((err = nl_bind_group(h->fd, &seq, (uint16_t)groups[i], &cfg, nfl_stash,
                             h)) != 0)
      goto fail;
    h->groups[h->ngroups++] = (uint16_t)groups[i];
  }
  h->cfg_seq = seq;
  fail_group = -1;
  nfl_tune_malloc(); /* bound: packets will flow */

  syscall = "uv_poll_start";
  h->poll = calloc(1, sizeof(*h->poll));
  if (h->poll == NULL) {
    err = -ENOMEM;
    goto fail;
  }
  if ((err = uv_poll_init(loop, h->poll, h->fd)) != 0) {
    free(h->poll);
    h->poll = NULL;
    goto fail;
  }
  h->poll->data = h;
  if ((err = uv_poll_start(h->poll, UV_READABLE, nfl_poll_cb)) != 0)
    goto fail;
  if (h->core.merging) {
    syscall = "uv_timer_init";
    if ((h->timer = calloc(1, sizeof(*h->timer))) == NULL) {
      err = -ENOMEM;
      goto fail;
    }
    if ((err = uv_timer_init(loop, h->timer)) != 0) {
      free(h->timer);
      h->timer = NULL;
      goto fail;
    }
    h->timer->data = h;
    /* The poll keeps the loop alive (or not, after unref()); the hold timer
     * only ever runs while the socket is open. */
    uv_unref((uv_handle_t *)h->timer);
  }

  if (napi_create_object(env, &obj) != napi_ok ||
      napi_create_string_utf8(env, "NflogSocket", NAPI_AUTO_LENGTH, &name) !=
          napi_ok ||
      napi_async_init(env, obj, name, &h->async_ctx) != napi_ok ||
      napi_create_reference(env, argv[2], 1, &h->cb_ref) != napi_ok ||
      napi_wrap(env, obj, h, nfl_finalize, NULL, &h->self_ref) != napi_ok ||
      napi_reference_ref(env, h->self_ref, NULL) != napi_ok) {
    nfl_throw_last(env);
    nfl_release(h, 1);
    if (h->self_ref == NULL)
      free(h); /* not wrapped: no finalizer will run */
    return NULL;
  }
  {
    napi_property_descriptor methods[] = {
        {"close", NULL, nfl_m_close, NULL, NULL, NULL, napi_default, NULL},
        {"ref", NULL, nfl_m_ref, NULL, NULL, NULL, napi_default, NULL},
        {"unref", NULL, nfl_m_unref, NULL, NULL, NULL, napi_default, NULL},
        {"pause", NULL, nfl_m_pause, NULL, NULL, NULL, napi_default, NULL},
        {"resume", NULL, nfl_m_resume, NULL, NULL, NULL, napi_default, NULL},
        {"drain", NULL, nfl_m_drain, NULL, NULL, NULL, napi_default, NULL},
        {"flush", NULL, nfl_m_flush, NULL, NULL, NULL, napi_default, NULL},
        {"unbind", NULL, nfl_m_unbind, NULL, NULL, NULL, napi_default, NULL},
        {"stats", NULL, nfl_m_stats, NULL, NULL, NULL, napi_default, NULL},
        {"info", NULL, nfl_m_info, NULL, NULL, NULL, napi_default, NULL},
        {"account", NULL, nfl_m_account, NULL, NULL, NULL, napi_default, NULL},
    };
    NFL_CALL(env,
             napi_define_properties(
                 env, obj, sizeof(methods) / sizeof(methods[0]), methods),
             NULL);
  }
  return obj;

fail:
  /* One cleanup path for every partial open. */
  h->async_ctx = NULL;
  nfl_release(h, 0);
  nfl_free_drain_memory(h);
  nla_free(&h->core.acct);
  free(h);
  return nfl_failure(env, -err, syscall, fail_group);
}

/* ---- parseNflogMessages, replayNflog (tests, tools) ------------------- */

/* The result object: counters, then the batch's buffer and its layout. */
static napi_value nfl_result(napi_env env, const struct nfl_core *c,
                             const struct nfl_out *out) {
  napi_value obj = nfl_counts_object(env, c);
  if (obj == NULL ||
      napi_set_named_property(env, obj, "buffer", out->buffer) != napi_ok ||
      nfl_set_number(env, obj, "count", (double)out->count) != 0 ||
      nfl_set_number(env, obj, "recordsBytes", (double)out->records_bytes) !=
          0) {
    nfl_throw_last(env);
    return NULL;
  }
  return obj;
}

/* parseNflogMessages(buf, { linktype, wireChecksums, accountMaxSeries?,
 * flowKey? }):
 * one datagram through the walker, stamped now when it has no
 * NFULA_TIMESTAMP, counted by rule with accountMaxSeries > 0. */
static napi_value nfl_parse(napi_env env, napi_callback_info info) {
  size_t argc = 2, len = 0;
  napi_value argv[2], result, acct;
  void *data = NULL;
  uint32_t linktype = 0, wire_checksums = 0, account_max = 0;
  uint32_t flow_key = NLF_KEY_5TUPLE;
  bool is_buf = false;
  struct nfl_core core;
  struct nfl_seg seg;
  struct nfl_out out;

  NFL_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL), NULL);
  if (argc < 2 || napi_is_buffer(env, argv[0], &is_buf) != napi_ok || !is_buf ||
      nfl_get_u32(env, argv[1], "linktype", &linktype) != 0 ||
      nfl_get_u32(env, argv[1], "wireChecksums", &wire_checksums) != 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          "parseNflogMessages(buf, config)");
    return NULL;
  }
  NFL_CALL(env, napi_get_buffer_info(env, argv[0], &data, &len), NULL);
  if (nfl_opt_u32(env, argv[1], "accountMaxSeries", 0, &account_max) != 0 ||
      nfl_opt_u32(env, argv[1], "flowKey", NLF_KEY_5TUPLE, &flow_key) != 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          "accountMaxSeries, flowKey");
    return NULL;
  }
  nfl_core_init(&core, (int)linktype, wire_checksums != 0, (int)flow_key);
  if (account_max > 0 && nla_init(&core.acct, account_max) != 0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "accountMaxSeries");
    return NULL;
  }
  seg.data = data;
  seg.len = len;
  seg.now = nfl_now();
  seg.recv_ms = nfl_mono_ms();
  if (nfl_make(env, &core, &seg, 1, seg.recv_ms, 1, 0, 1, &out) != napi_ok ||
      (result = nfl_result(env, &core, &out)) == NULL ||
      (acct = nfl_account_object(env, &core.acct, &core.seq)) == NULL ||
      napi_set_named_property(env, result, "account", acct) != napi_ok) {
    nla_free(&core.acct);
    nfl_throw_last(env);
    return NULL;
  }
  nla_free(&core.acct);
  return result;
}

/*
 * replayNflog(events, config): the drain's conversion (merge included) on
 * recorded datagrams, with the clocks given. config: { linktype,
 * wireChecksums, flowKey?, merge, holdMs, groups }. Each event is one drain: {
 * datagram? (Buffer), nowMs, recvMs? (= nowMs), wallSec?, wallUsec? (receipt
 * time of records without NFULA_TIMESTAMP), empty? (1: the socket was read
 * empty, so holds may end), flush? (1: release everything) }.
 * Returns { batches: [{ buffer, count, recordsBytes }], ...counters }.
 */
static napi_value nfl_replay(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], groups_v, batches, result;
  uint32_t nevents = 0, ngroups = 0, i, linktype = 0, wire_checksums = 0;
  uint32_t merge = 0, hold_ms = 0, flow_key = NLF_KEY_5TUPLE;
  uint16_t groups[NLM_MAX_GROUPS];
  bool is_array = false;
  struct nfl_core core;
  struct nfl_out out;

  NFL_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL), NULL);
  if (argc < 2 || napi_is_array(env, argv[0], &is_array) != napi_ok ||
      !is_array || nfl_get_u32(env, argv[1], "linktype", &linktype) != 0 ||
      nfl_get_u32(env, argv[1], "wireChecksums", &wire_checksums) != 0 ||
      nfl_get_u32(env, argv[1], "merge", &merge) != 0 ||
      nfl_get_u32(env, argv[1], "holdMs", &hold_ms) != 0 ||
      nfl_opt_u32(env, argv[1], "flowKey", NLF_KEY_5TUPLE, &flow_key) != 0 ||
      napi_get_named_property(env, argv[1], "groups", &groups_v) != napi_ok ||
      napi_get_array_length(env, groups_v, &ngroups) != napi_ok ||
      ngroups > NLM_MAX_GROUPS) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          "replayNflog(events[], config)");
    return NULL;
  }
  for (i = 0; i < ngroups; i++) {
    napi_value v;
    uint32_t g = 0;
    NFL_CALL(env, napi_get_element(env, groups_v, i, &v), NULL);
    NFL_CALL(env, napi_get_value_uint32(env, v, &g), NULL);
    groups[i] = (uint16_t)g;
  }
  NFL_CALL(env, napi_get_array_length(env, argv[0], &nevents), NULL);
  NFL_CALL(env, napi_create_array_with_length(env, nevents, &batches), NULL);
  nfl_core_init(&core, (int)linktype, wire_checksums != 0, (int)flow_key);
  core.merging = merge != 0;
  nlm_init(&core.merge, groups, ngroups, hold_ms);
  for (i = 0; i < nevents; i++) {
    napi_value ev, dg, batch;
    bool has_dg = false;
    uint32_t now_ms = 0, recv_ms = 0, sec = 0, usec = 0, empty = 1, flush = 0;
    struct nfl_seg seg;
    size_t nseg = 0;
    napi_status st;
    if (napi_get_element(env, argv[0], i, &ev) != napi_ok ||
        nfl_get_u32(env, ev, "nowMs", &now_ms) != 0 ||
        nfl_opt_u32(env, ev, "recvMs", now_ms, &recv_ms) != 0 ||
        nfl_opt_u32(env, ev, "wallSec", 0, &sec) != 0 ||
        nfl_opt_u32(env, ev, "wallUsec", 0, &usec) != 0 ||
        nfl_opt_u32(env, ev, "empty", 1, &empty) != 0 ||
        nfl_opt_u32(env, ev, "flush", 0, &flush) != 0 ||
        napi_has_named_property(env, ev, "datagram", &has_dg) != napi_ok) {
      nlm_free(&core.merge);
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "bad replay event");
      return NULL;
    }
    if (has_dg) {
      void *data = NULL;
      size_t len = 0;
      if (napi_get_named_property(env, ev, "datagram", &dg) != napi_ok ||
          napi_get_buffer_info(env, dg, &data, &len) != napi_ok) {
        nlm_free(&core.merge);
        napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "datagram: Buffer");
        return NULL;
      }
      seg.data = data;
      seg.len = len;
      seg.now.sec = sec;
      seg.now.usec = usec;
      seg.recv_ms = recv_ms;
      nseg = 1;
    }
    st = nfl_make(env, &core, &seg, nseg, now_ms, empty != 0, flush != 0, 1,
                  &out);
    if (st != napi_ok || napi_create_object(env, &batch) != napi_ok ||
        napi_set_named_property(env, batch, "buffer", out.buffer) != napi_ok ||
        nfl_set_number(env, batch, "count", (double)out.count) != 0 ||
        nfl_set_number(env, batch, "recordsBytes", (double)out.records_bytes) !=
            0 ||
        napi_set_element(env, batches, i, batch) != napi_ok) {
      nlm_free(&core.merge);
      nfl_throw_last(env);
      return NULL;
    }
  }
  result = nfl_counts_object(env, &core);
  nlm_free(&core.merge);
  if (result == NULL)
    return NULL;
  NFL_CALL(env, napi_set_named_property(env, result, "batches", batches), NULL);
  return result;
}

/* ---- groupByShard: one read's records by shard (nl_shard.c) ------------ */

/* A typed array's bytes and element count, or -1 when it is none of
 * `type`. */
static int nfl_typed(napi_env env, napi_value v, napi_typedarray_type type,
                     void **data, size_t *length) {
  bool is_typed = false;
  napi_typedarray_type t;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, v, &t, length, data, NULL, NULL) !=
          napi_ok ||
      t != type)
    return -1;
  return 0;
}

/*
 * groupByShard(records, index, table, shards, perShard) -> Buffer
 * records, index: one read's two views; table: Uint8Array(NLS_BUCKETS);
 * perShard: Uint32Array(2 * shards), filled with each shard's record count
 * and bytes. The Buffer holds every shard's records, then every shard's
 * index entries (nl_shard.h). Throws RangeError for records or a table that
 * do not fit together.
 */
static napi_value nfl_group_by_shard(napi_env env, napi_callback_info info) {
  size_t argc = 5, rec_len = 0, ix_len = 0, table_len = 0, per_len = 0;
  size_t count, bytes = 0, s;
  napi_value argv[5], result;
  void *rec = NULL, *ix = NULL, *table = NULL, *per = NULL, *out = NULL;
  uint32_t shards = 0;
  bool is_buf = false;

  NFL_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL), NULL);
  if (argc < 5 || napi_is_buffer(env, argv[0], &is_buf) != napi_ok || !is_buf ||
      napi_get_buffer_info(env, argv[0], &rec, &rec_len) != napi_ok ||
      napi_is_buffer(env, argv[1], &is_buf) != napi_ok || !is_buf ||
      napi_get_buffer_info(env, argv[1], &ix, &ix_len) != napi_ok ||
      nfl_typed(env, argv[2], napi_uint8_array, &table, &table_len) != 0 ||
      napi_get_value_uint32(env, argv[3], &shards) != napi_ok ||
      nfl_typed(env, argv[4], napi_uint32_array, &per, &per_len) != 0) {
    napi_throw_type_error(
        env, "ERR_INVALID_ARG_TYPE",
        "groupByShard(records, index, table: Uint8Array, shards, perShard: "
        "Uint32Array)");
    return NULL;
  }
  if (table_len != NLS_BUCKETS || shards < 1 || shards > NLS_MAX_SHARDS ||
      per_len < 2 * (size_t)shards || ix_len % NLR_INDEX_ENTRY_BYTES != 0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE",
                           "groupByShard: table of 65536, 1..255 shards, "
                           "perShard of 2 per shard, whole index entries");
    return NULL;
  }
  count = ix_len / NLR_INDEX_ENTRY_BYTES;
  memset(per, 0, 2 * (size_t)shards * sizeof(uint32_t));
  if (nls_measure(rec, rec_len, ix, count, table, shards, per) != 0) {
    napi_throw_range_error(env, "ERR_NFLOG_BAD_INDEX",
                           "groupByShard: an index entry does not match the "
                           "records, or the table names a shard >= shards");
    return NULL;
  }
  for (s = 0; s < shards; s++)
    bytes += ((uint32_t *)per)[2 * s + 1];
  NFL_CALL(env,
           napi_create_buffer(env, bytes + count * NLR_INDEX_ENTRY_BYTES, &out,
                              &result),
           NULL);
  nls_gather(rec, ix, count, table, shards, per, out);
  return result;
}

/* ---- lockPrivileges: no_new_privs and an empty bounding set (nl_privs.c) */

static napi_value nfl_lock_privileges(napi_env env, napi_callback_info info) {
  const char *syscall = "prctl";
  int err = nl_privs_lock(&syscall);
  (void)info;
  return err == 0 ? nfl_undefined(env) : nfl_failure(env, -err, syscall, -1);
}

static napi_value nfl_init(napi_env env, napi_value exports) {
  napi_property_descriptor fns[] = {
      {"open", NULL, nfl_open, NULL, NULL, NULL, napi_default, NULL},
      {"parseNflogMessages", NULL, nfl_parse, NULL, NULL, NULL, napi_default,
       NULL},
      {"replayNflog", NULL, nfl_replay, NULL, NULL, NULL, napi_default, NULL},
      {"groupByShard", NULL, nfl_group_by_shard, NULL, NULL, NULL, napi_default,
       NULL},
      {"lockPrivileges", NULL, nfl_lock_privileges, NULL, NULL, NULL,
       napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns) !=
      napi_ok)
    return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, nfl_init)

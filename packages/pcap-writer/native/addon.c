/*
 * N-API surface of pcap-writer's pipe helper: the only file that calls napi_*.
 *
 * Exports (typed in src/native.ts), each taking an fd and returning a number:
 * the result (>= 0) or -errno, so errors cross as data and become typed in TS:
 *   getPipeSize(fd)         -> bytes              (F_GETPIPE_SZ)
 *   setPipeSize(fd, bytes)  -> bytes actually set (F_SETPIPE_SZ)
 *   pipeUnread(fd)          -> bytes not read yet (FIONREAD)
 *   mapLargeBlocks(bytes)   -> 1 applied, 0 left to GLIBC_TUNABLES, -errno
 * Arguments that are not integers throw a TypeError. Nothing here is on the
 * packet path: the writer calls these once per FIFO open and once when a
 * reader leaves; mapLargeBlocks once per process.
 */
#include <errno.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "pw_pipe.h"

/* Reads `argc` int32 arguments into `out`; 0 (a TypeError thrown) if not. */
static int pw_int_args(napi_env env, napi_callback_info info, size_t argc,
                       int *out) {
  napi_value argv[2];
  size_t got = 2;
  if (napi_get_cb_info(env, info, &got, argv, NULL, NULL) != napi_ok)
    return 0;
  for (size_t i = 0; i < argc; i++) {
    napi_valuetype t = napi_undefined;
    double d = 0;
    if (i >= got || napi_typeof(env, argv[i], &t) != napi_ok ||
        t != napi_number ||
        napi_get_value_double(env, argv[i], &d) != napi_ok ||
        !(d >= -2147483648.0 && d <= 2147483647.0) || d != (double)(int)d) {
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                            "pcap-writer native: expected int32 arguments");
      return 0;
    }
    out[i] = (int)d;
  }
  return 1;
}

static napi_value pw_result(napi_env env, int r) {
  napi_value v = NULL;
  if (napi_create_int32(env, r, &v) != napi_ok)
    return NULL;
  return v;
}

/* A call that takes an fd and returns a result or -errno. */
struct pw_fd_call {
  int (*fn)(int fd);
};

static const struct pw_fd_call pw_get_call = {pw_get_pipe_size};
static const struct pw_fd_call pw_unread_call = {pw_pipe_unread};

/* getPipeSize(fd) and pipeUnread(fd): the call comes as the property's data. */
static napi_value pw_js_fd_call(napi_env env, napi_callback_info info) {
  void *data = NULL;
  int a[1];
  if (napi_get_cb_info(env, info, NULL, NULL, NULL, &data) != napi_ok ||
      !pw_int_args(env, info, 1, a))
    return NULL;
  return pw_result(env, ((const struct pw_fd_call *)data)->fn(a[0]));
}

static napi_value pw_js_set_pipe_size(napi_env env, napi_callback_info info) {
  int a[2];
  if (!pw_int_args(env, info, 2, a))
    return NULL;
  return pw_result(env, pw_set_pipe_size(a[0], a[1]));
}

/*
 * mallopt(M_MMAP_THRESHOLD, bytes): every block of at least `bytes` gets its
 * own mapping, returned to the kernel when freed, and glibc stops raising the
 * threshold by itself (it does, up to 32 MiB, each time such a block is freed,
 * after which freed blocks stay in the heap, fragmented). Process-wide by
 * nature; not when the operator tunes malloc through GLIBC_TUNABLES (0), and
 * -ENOSYS without glibc.
 */
static int pw_map_large_blocks(int bytes) {
#ifdef __GLIBC__
  const char *tunables = getenv("GLIBC_TUNABLES");
  if (tunables != NULL && strstr(tunables, "glibc.malloc.") != NULL)
    return 0;
  if (bytes <= 0)
    return -EINVAL;
  return mallopt(M_MMAP_THRESHOLD, bytes) == 1 ? 1 : -EINVAL;
#else
  (void)bytes;
  return -ENOSYS;
#endif
}

static napi_value pw_js_map_large_blocks(napi_env env,
                                         napi_callback_info info) {
  int a[1];
  if (!pw_int_args(env, info, 1, a))
    return NULL;
  return pw_result(env, pw_map_large_blocks(a[0]));
}

static napi_value pw_init(napi_env env, napi_value exports) {
  napi_property_descriptor fns[] = {
      {"getPipeSize", NULL, pw_js_fd_call, NULL, NULL, NULL, napi_default,
       (void *)&pw_get_call},
      {"setPipeSize", NULL, pw_js_set_pipe_size, NULL, NULL, NULL, napi_default,
       NULL},
      {"pipeUnread", NULL, pw_js_fd_call, NULL, NULL, NULL, napi_default,
       (void *)&pw_unread_call},
      {"mapLargeBlocks", NULL, pw_js_map_large_blocks, NULL, NULL, NULL,
       napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns) !=
      napi_ok)
    return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, pw_init)

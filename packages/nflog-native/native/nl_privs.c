/*
 * no_new_privs and an empty capability bounding set (prctl(2), seccomp(2)).
 *
 * Why both, after setuid() already cleared every capability of a process that
 * was root: no_new_privs makes execve() unable to grant anything again
 * (set-user-ID bits and file capabilities are ignored), and an empty bounding
 * set caps what any later execve() could ever hold. Node has no API for
 * either.
 *
 * Both are per-thread attributes in the kernel, and a Node process already
 * runs V8's and libuv's worker threads when our code starts. prctl() sets
 * them on the calling (main) thread, which is what /proc/PID/status shows, and
 * threads and processes it creates afterwards inherit them. To reach the
 * threads that exist already, an allow-everything seccomp filter is installed
 * with SECCOMP_FILTER_FLAG_TSYNC: the kernel then sets no_new_privs on every
 * thread of the process (kernel/seccomp.c, seccomp_sync_threads). The filter
 * itself decides nothing (one BPF return, constant "allow", which the kernel
 * caches per syscall). The bounding set has no such path: the other threads
 * keep theirs, which with no_new_privs and no capability held grants nothing.
 */
#include "nl_privs.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The bounding set is a 64-bit mask; PR_CAPBSET_READ answers EINVAL past the
 * kernel's last capability, which ends the walk earlier. */
#define NL_PRIVS_MAX_CAPS 64

static int nl_privs_sync_threads(void) {
  struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  struct sock_fprog prog = {.len = 1, .filter = &allow};
  long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                   SECCOMP_FILTER_FLAG_TSYNC, &prog);
  if (r < 0)
    return -errno;
  /* > 0: the id of a thread that could not be synchronised (it runs another
   * filter tree); nothing was changed. */
  return r == 0 ? 0 : -EBUSY;
}

int nl_privs_lock(const char **syscall_out) {
  int cap, in_set, err;

  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    *syscall_out = "prctl(PR_SET_NO_NEW_PRIVS)";
    return -errno;
  }
  if ((err = nl_privs_sync_threads()) != 0) {
    *syscall_out = "seccomp(SECCOMP_FILTER_FLAG_TSYNC)";
    return err;
  }
  for (cap = 0; cap < NL_PRIVS_MAX_CAPS; cap++) {
    in_set = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (in_set < 0)
      break;
    if (in_set == 0)
      continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      *syscall_out = "prctl(PR_CAPBSET_DROP)";
      return -errno;
    }
  }
  return 0;
}

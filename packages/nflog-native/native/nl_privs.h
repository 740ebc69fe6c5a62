/*
 * Locking the process out of privileges it could regain, for the moment it
 * gives them up (the sender's -u). No N-API, no libuv.
 */
#ifndef NFLOG_NATIVE_NL_PRIVS_H
#define NFLOG_NATIVE_NL_PRIVS_H

/* Set no_new_privs (PR_SET_NO_NEW_PRIVS) and drop every capability from the
 * bounding set (PR_CAPBSET_DROP) of the calling thread; threads it creates
 * afterwards inherit both. Dropping needs CAP_SETPCAP, except for capabilities
 * the bounding set already lacks, which are skipped. Returns 0, or -errno
 * with *syscall_out naming the prctl that failed. */
int nl_privs_lock(const char **syscall_out);

#endif

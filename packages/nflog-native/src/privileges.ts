/**
 * Locking a process out of regaining privileges, for the moment it gives them
 * up: the sender calls it with `-u`, before it changes user.
 */
import { NflogError } from './errors.js';
import { native } from './native.js';

/**
 * Sets no_new_privs (`prctl(PR_SET_NO_NEW_PRIVS)`: execve() can no longer grant
 * anything, set-user-ID bits and file capabilities are ignored) and drops every
 * capability from the bounding set (`prctl(PR_CAPBSET_DROP)`), so that
 * /proc/PID/status shows `NoNewPrivs: 1` and `CapBnd: 0000000000000000`.
 * Neither gives up a capability the process holds now: call it before
 * setgid()/setuid() (which still need CAP_SETGID/CAP_SETUID) and before
 * starting threads that should inherit it (the kernel keeps both per thread;
 * the calling thread and every thread or process it creates afterwards get
 * them). Irreversible by design.
 * @throws NflogError `EPERM` (`syscall` `prctl(PR_CAPBSET_DROP)`) without
 *   CAP_SETPCAP while the bounding set is not empty yet;
 *   `ERR_NFLOG_NATIVE_LOAD` if the addon is not built.
 */
export function lockPrivileges(): void {
  const result = native().lockPrivileges();
  if (result !== undefined) throw NflogError.fromErrno(result.errno, result.syscall);
}

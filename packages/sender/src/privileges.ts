// Dropping root after the netlink socket is open. CAP_NET_ADMIN is only needed to bind NFLOG
// groups and configure them; an open, bound socket keeps receiving after setuid().

import { readFileSync } from 'node:fs';
import { lockPrivileges } from '@nflog-pipe/nflog-native';
import { SenderError } from './errors.js';

/** A user to run as, from the passwd database. */
export interface UserIds {
  /** Login name. */
  name: string;
  /** Numeric user id. */
  uid: number;
  /** Numeric primary group id. */
  gid: number;
}

/**
 * Finds `name` in passwd(5) text (`name:x:uid:gid:gecos:home:shell` lines). A purely numeric
 * `name` that matches no login is not treated as a uid: the Python tool took names only.
 * @throws SenderError `ERR_SENDER_UNKNOWN_USER` when there is no such user.
 */
export function findUser(name: string, passwdText: string): UserIds {
  for (const line of passwdText.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 4 || fields[0] !== name) continue;
    const uid = Number(fields[2]);
    const gid = Number(fields[3]);
    if (
      Number.isInteger(uid) &&
      uid >= 0 &&
      Number.isInteger(gid) &&
      gid >= 0 &&
      fields[2] !== '' &&
      fields[3] !== ''
    ) {
      return { name, uid, gid };
    }
  }
  throw new SenderError(
    'ERR_SENDER_UNKNOWN_USER',
    `no user named ${JSON.stringify(name)} in the passwd database`,
  );
}

/**
 * Looks `name` up in /etc/passwd (read directly: no NSS, no child process; users from LDAP
 * and the like are not found — use a local system user for the daemon).
 * @throws SenderError `ERR_SENDER_UNKNOWN_USER`; the fs error when /etc/passwd is unreadable.
 */
export function lookupUser(name: string, passwdPath = '/etc/passwd'): UserIds {
  return findUser(name, readFileSync(passwdPath, 'utf8'));
}

/**
 * Becomes `user` for good: sets no_new_privs and empties the capability bounding set
 * (nflog-native's lockPrivileges, which needs CAP_SETPCAP: root has it), clears supplementary
 * groups, then setgid and setuid (as root these set the real, effective and saved ids, for
 * every thread, and setuid() clears every capability), then checks that root cannot be
 * regained and, where /proc is mounted, that this thread holds no capability and keeps
 * no_new_privs (the inheritable set may stay: with no_new_privs and an empty bounding set it
 * grants nothing). Order matters: the lock first, while CAP_SETPCAP is still held; after setuid()
 * the process could no longer change its groups.
 * @throws SenderError `ERR_SENDER_PRIVDROP` (cause kept) when a call fails or a check does.
 */
export function dropPrivileges(user: UserIds): void {
  const { setgroups, setgid, setuid } = process;
  if (setgroups === undefined || setgid === undefined || setuid === undefined) {
    throw new SenderError('ERR_SENDER_PRIVDROP', 'this platform cannot change user ids');
  }
  try {
    lockPrivileges();
    setgroups([]);
    setgid(user.gid);
    setuid(user.uid);
  } catch (err) {
    throw new SenderError(
      'ERR_SENDER_PRIVDROP',
      `cannot switch to user ${user.name}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const ok =
    process.getuid?.() === user.uid &&
    process.geteuid?.() === user.uid &&
    process.getgid?.() === user.gid &&
    process.getegid?.() === user.gid &&
    (process.getgroups?.() ?? []).every((g) => g === user.gid);
  let regained = false;
  if (user.uid !== 0) {
    try {
      setuid(0);
      regained = true;
    } catch {
      // expected: EPERM
    }
  }
  if (!ok || regained || !capabilitiesGone()) {
    throw new SenderError(
      'ERR_SENDER_PRIVDROP',
      `switching to user ${user.name} did not take effect`,
    );
  }
}

/**
 * After the drop, /proc/self/status (this thread's view) must show no_new_privs and no
 * capability held or bounded. True when /proc cannot be read: the calls above succeeded.
 */
function capabilitiesGone(): boolean {
  let status: string;
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    return true;
  }
  const field = (name: string): string | undefined =>
    new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(status)?.[1];
  return (
    field('NoNewPrivs') === '1' &&
    ['CapPrm', 'CapEff', 'CapBnd', 'CapAmb'].every((f) => {
      const v = field(f);
      return v === undefined || /^0+$/.test(v);
    })
  );
}

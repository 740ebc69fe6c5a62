/**
 * The identity of the network namespace a process captures in: NFULA_SEQ_GLOBAL is one counter
 * per network namespace, so records of two senders can be merged by it only when they share
 * this identity. It is the boot id (a fresh UUID per boot, so inode numbers reused after a
 * reboot never match) and the inode of the namespace, 24 bytes.
 */
import { readFileSync, statSync } from 'node:fs';
import { NflogError } from './errors.js';

/** Bytes of a namespace identity: 16 (boot id) + 8 (netns inode, u64 LE). */
export const NAMESPACE_ID_BYTES = 24;

const BOOT_ID_PATH = '/proc/sys/kernel/random/boot_id';
const NETNS_PATH = '/proc/self/ns/net';

/**
 * This process's network namespace identity: the 16 bytes of the boot id
 * (`/proc/sys/kernel/random/boot_id`) then the inode of `/proc/self/ns/net` as a u64 LE.
 * @throws NflogError ERR_NFLOG_NAMESPACE_ID (no /proc, or a boot id that is not a UUID)
 */
export function readNamespaceId(): Buffer {
  let bootHex: string;
  let inode: bigint;
  try {
    bootHex = readFileSync(BOOT_ID_PATH, 'latin1').trim().replaceAll('-', '');
    inode = statSync(NETNS_PATH, { bigint: true }).ino;
  } catch (err) {
    throw new NflogError('ERR_NFLOG_NAMESPACE_ID', 'cannot read the namespace identity', {
      cause: err,
    });
  }
  if (!/^[0-9a-f]{32}$/i.test(bootHex)) {
    throw new NflogError('ERR_NFLOG_NAMESPACE_ID', `${BOOT_ID_PATH} is not a UUID`);
  }
  const out = Buffer.alloc(NAMESPACE_ID_BYTES);
  out.write(bootHex, 0, 'hex');
  out.writeBigUInt64LE(inode, 16);
  return out;
}

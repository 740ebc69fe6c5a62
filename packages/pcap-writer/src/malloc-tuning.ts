// One process-wide malloc setting, through the native helper (Node has no mallopt(3)), for a
// process whose data lives in large Buffers it keeps for a while and then lets go: the
// receiver's ring segments. See the receiver's README, "Memory".

import { checkNative, pipeNative } from './native.js';

/** Default threshold of {@link mapLargeBlocks}, bytes (1 MiB: above any ZeroMQ frame's). */
export const MAP_LARGE_BLOCKS_DEFAULT_BYTES = 1024 * 1024;

/**
 * Gives every malloc block of at least `thresholdBytes` its own mapping, returned to the kernel
 * when freed (glibc's M_MMAP_THRESHOLD, fixed): without it glibc raises the threshold by itself
 * after the first such block is freed, and later ones stay in the heap when freed, where
 * fragments of them keep pages resident. Costs a mapping and its page faults per such block.
 * Process-wide; not applied when GLIBC_TUNABLES sets malloc tunables (the operator's choice).
 * @returns true if applied, false if left to GLIBC_TUNABLES
 * @throws PcapPipeError (`EINVAL` for a threshold malloc refuses, `ENOSYS` without glibc,
 *   `ERR_PCAP_NATIVE_LOAD` if the helper is not built)
 */
export function mapLargeBlocks(thresholdBytes: number = MAP_LARGE_BLOCKS_DEFAULT_BYTES): boolean {
  const r = pipeNative().mapLargeBlocks(thresholdBytes);
  return checkNative(r, 'mallopt(M_MMAP_THRESHOLD)', `${thresholdBytes} bytes`) === 1;
}

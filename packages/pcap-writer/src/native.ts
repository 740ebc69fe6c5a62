/**
 * The one place that loads pcap-writer's compiled pipe helper (`pcap_pipe.node`, built from
 * native/ by `npm run build:native -w @nflog-pipe/pcap-writer`) and types its surface.
 * Everything else calls the functions of pipe-size.ts, never the `.node` file.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';
import { PcapPipeError } from './errors.js';

/** The addon's exports: each returns its result (>= 0) or -errno (native/addon.c). */
export interface PipeBinding {
  /** fcntl(fd, F_GETPIPE_SZ). */
  getPipeSize(fd: number): number;
  /** fcntl(fd, F_SETPIPE_SZ, bytes): the capacity set (the kernel rounds up). */
  setPipeSize(fd: number, bytes: number): number;
  /** ioctl(fd, FIONREAD): bytes in the pipe not read yet. */
  pipeUnread(fd: number): number;
  /** mallopt(M_MMAP_THRESHOLD, bytes): 1 applied, 0 left to GLIBC_TUNABLES. */
  mapLargeBlocks(bytes: number): number;
}

/** Paths tried in order: the normal build, then `build:native:debug`. */
export const PIPE_ADDON_PATHS: readonly string[] = ['Release', 'Debug'].map((dir) =>
  fileURLToPath(new URL(`../../build/${dir}/pcap_pipe.node`, import.meta.url)),
);

function loadNative(): PipeBinding {
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const path of PIPE_ADDON_PATHS) {
    try {
      return require(path) as PipeBinding;
    } catch (err) {
      failures.push(`${path}: ${(err as Error).message.split('\n')[0] ?? ''}`);
    }
  }
  throw new PcapPipeError(
    'ERR_PCAP_NATIVE_LOAD',
    `pcap-writer: cannot load the pipe helper (not built: in a checkout run "npm run build:native -w @nflog-pipe/pcap-writer", an installed package "npm rebuild -g nflog-pipe"); tried ${failures.join('; ')}`,
  );
}

let binding: PipeBinding | undefined;

/** The addon, loaded on first use. @throws PcapPipeError ERR_PCAP_NATIVE_LOAD listing both paths. */
export function pipeNative(): PipeBinding {
  binding ??= loadNative();
  return binding;
}

/**
 * An addon result: `r` itself when >= 0, else a PcapPipeError coded with the errno's name.
 * @param what the object of the call, for the message ("fd 7")
 */
export function checkNative(r: number, syscall: string, what: string): number {
  if (r >= 0) return r;
  let code = 'ERR_PCAP_UNKNOWN_ERRNO';
  try {
    const name = getSystemErrorName(r);
    if (!name.startsWith('Unknown')) code = name;
  } catch {
    // an errno Node has no name for
  }
  throw new PcapPipeError(code, `${syscall} ${code} ${what}`, { errno: -r, syscall });
}

import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { runCmd, startProc, type Proc } from './proc.js';

/** The generator's source, found from dist/ or src/ alike. */
export const LOADGEN_SOURCE = fileURLToPath(new URL('../loadgen/loadgen.c', import.meta.url));

/**
 * Compiles bench/loadgen/loadgen.c with `cc -O2` into `dir` and returns the binary's path.
 * Binaries are built per run and never committed.
 * @throws when the compiler is missing or fails.
 */
export async function buildLoadgen(dir: string): Promise<string> {
  const out = join(dir, 'loadgen');
  await runCmd('cc', ['-O2', '-Wall', '-Wextra', '-o', out, LOADGEN_SOURCE]);
  return out;
}

/** What the generator offers. */
export interface LoadSpec {
  port: number;
  /** UDP payload bytes per datagram. */
  sizeBytes: number;
  /** Target packets per second; 0 = as fast as one core can. */
  pps: number;
  /** Duration of the offered load, in seconds. */
  seconds: number;
  /** UDP flows (sockets, each its own source port), in turn one batch each; default 1. */
  flows?: number;
  /** Datagrams per sendmmsg; default the generator's (64). */
  batch?: number;
}

/** The generator's own account of what it sent. */
export interface LoadResult {
  sent: number;
  seconds: number;
  errors: number;
  /** The generator's own CPU time (user + system), in seconds. */
  cpuSeconds: number;
  /** The generator's peak RSS, in KiB. */
  maxrssKiB: number;
}

/** Starts the generator inside `netns`; call loadResult() once it has exited. */
export function startLoadgen(bin: string, netns: string, spec: LoadSpec): Proc {
  return startProc(
    'loadgen',
    bin,
    [
      '--port',
      String(spec.port),
      '--size',
      String(spec.sizeBytes),
      '--pps',
      String(spec.pps),
      '--seconds',
      String(spec.seconds),
      ...(spec.flows !== undefined ? ['--flows', String(spec.flows)] : []),
      ...(spec.batch !== undefined ? ['--batch', String(spec.batch)] : []),
    ],
    { netns },
  );
}

/** Parses the generator's final JSON line. @throws when it is missing. */
export function loadResult(p: Proc): LoadResult {
  const line = p.stdout().trim().split('\n').pop() ?? '';
  try {
    const r = JSON.parse(line) as LoadResult;
    return {
      sent: r.sent,
      seconds: r.seconds,
      errors: r.errors,
      cpuSeconds: r.cpuSeconds,
      maxrssKiB: r.maxrssKiB,
    };
  } catch {
    throw new Error(`loadgen gave no result: ${p.stderr().trim().slice(-300)}`);
  }
}

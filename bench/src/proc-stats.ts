import { readFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';

/** One reading of a process's CPU and memory from /proc. */
export interface ProcSample {
  /** utime + stime of all its threads, in clock ticks (see CLK_TCK). */
  ticks: number;
  /** Peak resident set size (VmHWM), in KiB. */
  hwmKiB: number;
  /** Current resident set size (VmRSS), in KiB. */
  rssKiB: number;
}

/** Clock ticks per second for /proc/PID/stat times (`getconf CLK_TCK`, 100 on Linux). */
export const CLK_TCK = readClkTck();

function readClkTck(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

/**
 * Reads utime+stime (fields 14 and 15 of /proc/PID/stat, counted after the `comm` field, which
 * may itself contain spaces and parentheses) and VmHWM/VmRSS from /proc/PID/status.
 * Resolves to undefined when the process is gone.
 */
export async function sampleProc(pid: number): Promise<ProcSample | undefined> {
  try {
    const [stat, status] = await Promise.all([
      readFile(`/proc/${pid}/stat`, 'utf8'),
      readFile(`/proc/${pid}/status`, 'utf8'),
    ]);
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); utime is field 14, stime field 15.
    const ticks = Number(rest[11]) + Number(rest[12]);
    return { ticks, hwmKiB: statusKiB(status, 'VmHWM'), rssKiB: statusKiB(status, 'VmRSS') };
  } catch {
    return undefined;
  }
}

function statusKiB(status: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
  return m?.[1] !== undefined ? Number(m[1]) : 0;
}

/** CPU used between two samples as a percentage of one core over `seconds`. */
export function cpuPercent(
  before: ProcSample | undefined,
  after: ProcSample | undefined,
  seconds: number,
): number {
  if (before === undefined || after === undefined || seconds <= 0) return 0;
  return ((after.ticks - before.ticks) / CLK_TCK / seconds) * 100;
}

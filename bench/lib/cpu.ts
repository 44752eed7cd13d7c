/**
 * CPU time of a process and its direct children (nginx's master and worker),
 * read from /proc: utime + stime, in microseconds. PERFORMANCE.md explains why
 * CPU per request is the steadier figure on a shared 2-core machine.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const CLOCK_TICKS = (() => {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number(out.stdout?.trim());
  return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
})();

interface Stat {
  ppid: number;
  user: number;
  sys: number;
}

function readStat(pid: number | string): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: split after the last ")".
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); ppid is field 4, utime 14, stime 15.
  return { ppid: Number(fields[1]), user: Number(fields[11]), sys: Number(fields[12]) };
}

export interface CpuTimes {
  /** utime, µs */
  user: number;
  /** stime, µs: system calls, and here mostly the loopback TCP path */
  sys: number;
}

/** utime and stime of pid and of its children (nginx's workers), in µs. */
export function cpuTimes(pid: number): CpuTimes {
  const own = readStat(pid);
  if (!own) throw new Error(`process ${pid} is gone (no /proc/${pid}/stat)`);
  let { user, sys } = own;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || entry === String(pid)) continue;
    const stat = readStat(entry);
    if (stat?.ppid === pid) {
      user += stat.user;
      sys += stat.sys;
    }
  }
  return { user: (user * 1_000_000) / CLOCK_TICKS, sys: (sys * 1_000_000) / CLOCK_TICKS };
}

/** utime + stime of pid alone (not its children), in µs. */
export function ownCpuMicros(pid: number): number {
  const own = readStat(pid);
  if (!own) throw new Error(`process ${pid} is gone (no /proc/${pid}/stat)`);
  return ((own.user + own.sys) * 1_000_000) / CLOCK_TICKS;
}

/** utime + stime of pid and of its children, in µs. */
export function cpuMicros(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.sys;
}

export const cpuResolutionMicros = 1_000_000 / CLOCK_TICKS;

/** Resident memory of one process, in MiB. */
export function rssMiB(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : undefined;
  } catch {
    return undefined;
  }
}

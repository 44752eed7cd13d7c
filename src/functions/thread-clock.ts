/**
 * The CPU time of the calling thread, in ms: what a function's `cpu` limit
 * counts. Sandboxes run in worker threads (thread.ts), so the process's
 * clock (process.cpuUsage) would charge a call with the CPU of the event
 * loop and of every other function's thread. In order of preference:
 * process.threadCpuUsage (Node >= 23.9), /proc/thread-self/schedstat (Linux:
 * the thread's time on a CPU in ns; one pread, ~2.7 us measured, as much as
 * process.cpuUsage), else the process's clock (it over-counts, so a function
 * is never let past its limit, only stopped early on a busy gateway).
 */
import { closeSync, openSync, readSync } from 'node:fs';

type Clock = () => number;

function fromThreadCpuUsage(): Clock | undefined {
  const f = (process as unknown as { threadCpuUsage?: () => { user: number; system: number } }).threadCpuUsage;
  if (typeof f !== 'function') return undefined;
  return () => {
    const u = f.call(process);
    return (u.user + u.system) / 1000;
  };
}

function fromSchedstat(): Clock | undefined {
  let fd: number;
  try {
    fd = openSync('/proc/thread-self/schedstat', 'r');
  } catch {
    return undefined;
  }
  const buf = Buffer.alloc(96);
  const read = (): number => {
    const n = readSync(fd, buf, 0, buf.length, 0);
    const space = buf.indexOf(32);
    return Number(buf.toString('latin1', 0, space < 0 || space > n ? n : space)) / 1e6;
  };
  try {
    if (!Number.isFinite(read())) throw new Error('unreadable');
  } catch {
    closeSync(fd);
    return undefined;
  }
  return read;
}

function fromProcess(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Opened by the thread that first calls it: /proc/thread-self is that thread's. */
let clock: Clock | undefined;

export function threadCpuMs(): number {
  clock ??= fromThreadCpuUsage() ?? fromSchedstat() ?? fromProcess;
  return clock();
}

/** Which clock this thread's limits read (for the bench and the docs). */
export function threadClockName(): string {
  if (fromThreadCpuUsage()) return 'process.threadCpuUsage';
  threadCpuMs();
  return clock === fromProcess ? 'process.cpuUsage (whole process)' : '/proc/thread-self/schedstat';
}

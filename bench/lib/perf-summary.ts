/**
 * Where the gateway's CPU time goes by `perf record` (cpu-clock, all threads,
 * kernel included): unlike V8's --cpu-prof, which samples wall-clock time and
 * so charges time spent waiting for a core to whatever native call was on the
 * stack, perf only counts time on a CPU. Each sample is charged to the first
 * JavaScript frame with a script on its stack (so the SHA-256 digest counts
 * for node crypto, llhttp's callbacks for node http), kernel samples to the
 * system call they came from, and other threads to their own group.
 */
import { pathToFileURL } from 'node:url';

export interface PerfGroup {
  name: string;
  samples: number;
  percent: number;
}

export interface PerfSummary {
  samples: number;
  groups: PerfGroup[];
  /** Kernel time by system call and the JS function that made it. */
  syscalls: PerfGroup[];
  /** User-space leaf symbols on the main thread. */
  leaves: PerfGroup[];
}

interface Sample {
  comm: string;
  tid: string;
  frames: Array<{ sym: string; dso: string }>;
}

function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  let current: Sample | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (current) samples.push(current);
      current = undefined;
    } else if (line[0] !== '\t' && line[0] !== ' ') {
      const [comm = '', tid = ''] = line.trim().split(/\s+/);
      current = { comm, tid, frames: [] };
    } else {
      const m = /^\s*[0-9a-f]+\s+(.*)\s+\((.*)\)\s*$/.exec(line);
      if (m && current) current.frames.push({ sym: m[1]!, dso: m[2]! });
    }
  }
  if (current) samples.push(current);
  return samples;
}

function jsGroup(url: string, repoDist: string): string {
  if (url.includes('/node_modules/undici/')) return 'undici (upstream client)';
  if (/\/node_modules\/(pino|sonic-boom|@pinojs|fast-redact|quick-format-unescaped|safe-stable-stringify)\//.test(url)) return 'pino (logging)';
  if (url.includes('/node_modules/')) return 'other packages';
  if (url.startsWith(repoDist)) return `ours: ${url.slice(repoDist.length).split('/')[0]!.replace(/\.js$/, '')}`;
  if (/^node:(internal\/)?crypto/.test(url)) return 'node crypto (sha256, randomUUID)';
  if (/^node:(_http_|http$|internal\/http)/.test(url)) return 'node http (JS side)';
  if (/^node:(net|internal\/net|internal\/stream_base_commons|internal\/streams|stream)/.test(url)) return 'node net + streams (JS side)';
  if (/^node:(fs|internal\/fs)/.test(url)) return 'node fs';
  if (/^node:(events|internal\/events)/.test(url)) return 'node events';
  if (/^node:(internal\/process\/task_queues|internal\/timers|timers)/.test(url)) return 'node event loop (ticks, timers)';
  return 'node: other';
}

/** "JS:*name /path/file.js:12:3" → the script URL, or undefined for frames without one. */
function scriptOf(sym: string): string | undefined {
  if (!sym.startsWith('JS:')) return undefined;
  const last = sym.slice(sym.lastIndexOf(' ') + 1);
  const m = /^(.*):\d+:\d+$/.exec(last);
  return m && m[1] !== '' && (m[1]!.includes('/') || m[1]!.startsWith('node:')) ? m[1] : undefined;
}

function syscallOf(frames: Sample['frames']): string {
  for (const f of frames) {
    if (f.dso.includes('kernel')) continue;
    if (f.dso.includes('libc')) return f.sym.replace(/^(__GI___|__libc_|__)/, '').split('@')[0]!;
    return 'other';
  }
  return 'irq/softirq';
}

export function summarizePerf(scriptOutput: string, repoRoot: string, top = 30): PerfSummary {
  const repoDist = pathToFileURL(repoRoot).href.replace(/\/?$/, '/') + 'dist/';
  const samples = parse(scriptOutput);
  const counts = new Map<string, number>();
  const tids = new Map<string, number>();
  for (const s of samples) tids.set(s.tid, (tids.get(s.tid) ?? 0) + 1);
  const mainTid = [...tids].sort((a, b) => b[1] - a[1])[0]?.[0];
  const syscalls = new Map<string, number>();
  const leaves = new Map<string, number>();
  const add = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

  for (const s of samples) {
    if (s.tid !== mainTid) {
      add(counts, `other threads (${s.comm}: GC helpers, libuv pool)`);
      continue;
    }
    const leaf = s.frames[0];
    if (!leaf) continue;
    let js: { sym: string; url: string } | undefined;
    for (const f of s.frames) {
      const url = scriptOf(f.sym);
      if (url) {
        js = { sym: f.sym, url };
        break;
      }
    }
    if (leaf.dso.includes('kernel')) {
      const call = syscallOf(s.frames);
      const group = /write/.test(call)
        ? 'kernel: writes (loopback TCP send, incl. delivery to the peer)'
        : /read|recv/.test(call)
          ? 'kernel: reads'
          : /epoll/.test(call)
            ? 'kernel: epoll'
            : `kernel: ${call}`;
      add(counts, group);
      add(syscalls, `${call} ← ${js ? js.sym.replace(/^JS:[*^~]?/, '') : '(libuv, no JS)'}`);
      continue;
    }
    if (s.frames.slice(0, 20).some((f) => /Scavenger|MarkCompact|Heap::CollectGarbage|Heap::PerformGarbageCollection/.test(f.sym))) {
      add(counts, 'V8 GC (main thread)');
      continue;
    }
    if (!js) {
      add(counts, s.frames.some((f) => f.sym.includes('llhttp')) ? 'node http (llhttp parser, native)' : 'native, no JS on stack (libuv, node C++)');
      continue;
    }
    const group = jsGroup(js.url, repoDist);
    add(counts, group);
    add(leaves, `[${group}] ${leaf.sym.replace(repoDist, 'dist/').replace(/^JS:/, '').slice(0, 110)}`);
  }
  const total = samples.length;
  const rows = (map: Map<string, number>, limit = Infinity): PerfGroup[] =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, n]) => ({ name, samples: n, percent: (100 * n) / total }));
  return { samples: total, groups: rows(counts), syscalls: rows(syscalls, 10), leaves: rows(leaves, top) };
}

export function formatPerf(summary: PerfSummary, cpuUsPerRequest: number | undefined): string {
  const us = (p: number) => (cpuUsPerRequest ? ` ${((p / 100) * cpuUsPerRequest).toFixed(2).padStart(6)} µs/req` : '');
  const lines = [`perf: ${summary.samples} samples (cpu-clock, all threads of the gateway)${cpuUsPerRequest ? `; ${cpuUsPerRequest.toFixed(1)} µs CPU per request in this run` : ''}`, '', 'CPU by group:'];
  for (const g of summary.groups) lines.push(`  ${g.percent.toFixed(1).padStart(5)}%${us(g.percent)}  ${g.name}`);
  lines.push('', 'Kernel time by system call ← JS caller:');
  for (const g of summary.syscalls) lines.push(`  ${g.percent.toFixed(1).padStart(5)}%${us(g.percent)}  ${g.name}`);
  lines.push('', 'Top user-space symbols on the main thread [charged to]:');
  for (const g of summary.leaves) lines.push(`  ${g.percent.toFixed(1).padStart(5)}%  ${g.name}`);
  return lines.join('\n');
}

/** The results of a run: the table printed at the end, and the JSON file later runs compare against. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, basename, extname } from 'node:path';
import { median } from './stats.js';
import type { TargetName } from './options.js';

export interface RoundResult {
  round: number;
  rps: number;
  requests: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** utime+stime of the measured process (nginx: master and worker) per request served. */
  cpuUsPerRequest: number;
  /** The system-time part of cpuUsPerRequest. */
  sysUsPerRequest: number;
  /** The same for the nginx upstream behind it (for "upstream" itself, equal to cpuUsPerRequest). */
  upstreamCpuUsPerRequest: number;
  non2xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  /** Access log lines written during the round, when the log goes to a file. */
  accessLogLines?: number;
  rssMiB?: number;
}

export interface TargetResult {
  name: TargetName;
  label: string;
  rounds: RoundResult[];
  median: { rps: number; p50Ms: number; p99Ms: number; cpuUsPerRequest: number; sysUsPerRequest: number; upstreamCpuUsPerRequest: number };
  rpsMin: number;
  rpsMax: number;
  /** Median rps divided by the nginx proxy's median rps. */
  rpsVsNginx: number | undefined;
  non2xx: number;
  socketErrors: number;
}

export interface BenchResults {
  format: 1;
  startedAt: string;
  finishedAt: string;
  command: string;
  machine: Record<string, unknown>;
  options: Record<string, unknown>;
  targets: TargetResult[];
}

export function summarize(name: TargetName, label: string, rounds: RoundResult[]): TargetResult {
  const rps = rounds.map((r) => r.rps);
  return {
    name,
    label,
    rounds,
    median: {
      rps: median(rps),
      p50Ms: median(rounds.map((r) => r.p50Ms)),
      p99Ms: median(rounds.map((r) => r.p99Ms)),
      cpuUsPerRequest: median(rounds.map((r) => r.cpuUsPerRequest)),
      sysUsPerRequest: median(rounds.map((r) => r.sysUsPerRequest)),
      upstreamCpuUsPerRequest: median(rounds.map((r) => r.upstreamCpuUsPerRequest)),
    },
    rpsMin: Math.min(...rps),
    rpsMax: Math.max(...rps),
    rpsVsNginx: undefined,
    non2xx: rounds.reduce((n, r) => n + r.non2xx, 0),
    socketErrors: rounds.reduce((n, r) => n + r.socketErrors.connect + r.socketErrors.read + r.socketErrors.write + r.socketErrors.timeout, 0),
  };
}

export function addRatios(targets: TargetResult[]): void {
  const nginx = targets.find((t) => t.name === 'nginx');
  for (const t of targets) t.rpsVsNginx = nginx ? t.median.rps / nginx.median.rps : undefined;
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');

export function formatTable(targets: TargetResult[]): string {
  const header = ['target', 'rps (median)', 'rps min–max', 'p50 ms', 'p99 ms', 'rps vs nginx', 'CPU µs/req', 'non-2xx / socket errors'];
  const rows = targets.map((t) => [
    t.label,
    int(t.median.rps),
    `${int(t.rpsMin)}–${int(t.rpsMax)}`,
    t.median.p50Ms.toFixed(2),
    t.median.p99Ms.toFixed(2),
    t.rpsVsNginx === undefined ? '—' : t.rpsVsNginx.toFixed(2),
    t.median.cpuUsPerRequest.toFixed(1),
    `${t.non2xx} / ${t.socketErrors}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** The previous results file, if any, for a before/after line. */
export function readPrevious(file: string): BenchResults | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as BenchResults;
    return parsed.format === 1 ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export function formatComparison(previous: BenchResults, current: BenchResults): string {
  const lines = [`Compared with the previous run (${previous.startedAt}):`];
  for (const t of current.targets) {
    const before = previous.targets.find((p) => p.name === t.name);
    if (!before) continue;
    const pct = (a: number, b: number) => `${a >= b ? '+' : ''}${((100 * (a - b)) / b).toFixed(1)}%`;
    lines.push(
      `  ${t.label}: CPU ${before.median.cpuUsPerRequest.toFixed(1)} → ${t.median.cpuUsPerRequest.toFixed(1)} µs/req (${pct(t.median.cpuUsPerRequest, before.median.cpuUsPerRequest)}), ` +
        `rps ${int(before.median.rps)} → ${int(t.median.rps)} (${pct(t.median.rps, before.median.rps)})`,
    );
  }
  return lines.join('\n');
}

/** Writes FILE and a timestamped copy beside it (results-2025-01-31T12-00-00.json). */
export function writeResults(file: string, results: BenchResults): string {
  mkdirSync(dirname(file), { recursive: true });
  const text = JSON.stringify(results, null, 2) + '\n';
  writeFileSync(file, text);
  const stamp = results.startedAt.replace(/[:.]/g, '-').replace(/-\d+Z$/, 'Z');
  const copy = join(dirname(file), `${basename(file, extname(file))}-${stamp}${extname(file)}`);
  writeFileSync(copy, text);
  return copy;
}

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
  /**
   * Against the bare Node proxy and fastify measured in the same rounds: the median over rounds of
   * this round's figure divided by theirs in that round (a neighbour's burst hits both alike).
   */
  cpuVsBare?: number;
  p99VsBare?: number;
  rpsVsFastify?: number;
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

/** The median over rounds of `of(round) / of(the reference's same round)`. */
function roundRatio(t: TargetResult, reference: TargetResult | undefined, of: (r: RoundResult) => number): number | undefined {
  if (!reference) return undefined;
  const ratios: number[] = [];
  for (const r of t.rounds) {
    const ref = reference.rounds.find((x) => x.round === r.round);
    if (ref && of(ref) > 0) ratios.push(of(r) / of(ref));
  }
  return ratios.length > 0 ? median(ratios) : undefined;
}

export function addRatios(targets: TargetResult[]): void {
  const nginx = targets.find((t) => t.name === 'nginx');
  const bare = targets.find((t) => t.name === 'node-bare');
  const fastify = targets.find((t) => t.name === 'fastify');
  for (const t of targets) {
    t.rpsVsNginx = nginx ? t.median.rps / nginx.median.rps : undefined;
    t.cpuVsBare = roundRatio(t, bare, (r) => r.cpuUsPerRequest);
    t.p99VsBare = roundRatio(t, bare, (r) => r.p99Ms);
    t.rpsVsFastify = roundRatio(t, fastify, (r) => r.rps);
  }
}

/** Issue 15's goals, each a ratio measured in the same rounds. */
const GOALS: Array<{ target: TargetName; what: string; ratio: (t: TargetResult) => number | undefined; atMost?: number; atLeast?: number }> = [
  { target: 'portcullis-public', what: 'public route + access log, CPU µs/req vs the bare proxy', ratio: (t) => t.cpuVsBare, atMost: 1.1 },
  { target: 'portcullis-chain', what: 'whole chain + access log + metrics, CPU µs/req vs the bare proxy', ratio: (t) => t.cpuVsBare, atMost: 1.25 },
  { target: 'portcullis-chain', what: 'whole chain, p99 vs the bare proxy\'s', ratio: (t) => t.p99VsBare, atMost: 1.2 },
  { target: 'portcullis-public', what: 'public route, p99 vs the bare proxy\'s', ratio: (t) => t.p99VsBare, atMost: 1.2 },
  { target: 'portcullis-chain', what: 'whole chain, rps vs fastify + reply-from\'s', ratio: (t) => t.rpsVsFastify, atLeast: 1.5 },
];

/** The headline: each goal whose targets ran, its ratio (median of per-round ratios) and whether it is met. */
export function formatGoals(targets: TargetResult[]): string {
  const lines: string[] = [];
  for (const g of GOALS) {
    const t = targets.find((x) => x.name === g.target);
    const ratio = t ? g.ratio(t) : undefined;
    if (ratio === undefined) continue;
    const met = g.atMost !== undefined ? ratio <= g.atMost : ratio >= g.atLeast!;
    const bar = g.atMost !== undefined ? `≤ ${g.atMost.toFixed(2)}×` : `≥ ${g.atLeast!.toFixed(2)}×`;
    lines.push(`  ${met ? 'met    ' : 'NOT met'}  ${ratio.toFixed(2)}×  (goal ${bar})  ${g.what}`);
  }
  return lines.length > 0 ? `Goals (issue 15), medians of per-round ratios:\n${lines.join('\n')}` : '';
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');

export function formatTable(targets: TargetResult[]): string {
  const header = ['target', 'CPU µs/req', 'CPU vs bare', 'p99 ms', 'p99 vs bare', 'rps (median)', 'rps min–max', 'rps vs fastify', 'rps vs nginx', 'p50 ms', 'non-2xx / socket errors'];
  const ratio = (n: number | undefined) => (n === undefined ? '—' : `${n.toFixed(2)}×`);
  const rows = targets.map((t) => [
    t.label,
    t.median.cpuUsPerRequest.toFixed(1),
    ratio(t.cpuVsBare),
    t.median.p99Ms.toFixed(2),
    ratio(t.p99VsBare),
    int(t.median.rps),
    `${int(t.rpsMin)}–${int(t.rpsMax)}`,
    ratio(t.rpsVsFastify),
    t.rpsVsNginx === undefined ? '—' : t.rpsVsNginx.toFixed(2),
    t.median.p50Ms.toFixed(2),
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

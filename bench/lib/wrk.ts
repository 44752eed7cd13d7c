/**
 * Runs wrk and reads its results from a Lua done() hook that prints one JSON
 * line, rather than parsing wrk's human-readable text. The script defines no
 * request()/response() hooks, so wrk keeps its fast path.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Supervisor } from './processes.js';

const MARK = 'BENCH_JSON ';

const SCRIPT = `-- Written by bench/lib/wrk.ts: prints wrk's summary as one JSON line.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '${MARK}{"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,' ..
    '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},' ..
    '"latency_us":{"p50":%.0f,"p90":%.0f,"p99":%.0f,"p999":%.0f,"max":%.0f,"mean":%.1f}}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean))
end
`;

export interface WrkResult {
  requests: number;
  durationUs: number;
  bytes: number;
  rps: number;
  /** wrk's "Non-2xx or 3xx responses": statuses above 399. */
  non2xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  latencyUs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
}

export interface WrkOptions {
  url: string;
  durationS: number;
  connections: number;
  threads: number;
  headers?: Record<string, string>;
  /** Request timeout in seconds (wrk's --timeout). */
  timeoutS?: number;
}

export function writeWrkScript(dir: string): string {
  const file = join(dir, 'report.lua');
  writeFileSync(file, SCRIPT);
  return file;
}

/** Runs through the supervisor, so Ctrl-C or SIGTERM to the benchmark stops wrk too. */
export function runWrk(supervisor: Supervisor, wrk: string, script: string, options: WrkOptions): Promise<WrkResult> {
  const args = [
    '-t',
    String(options.threads),
    '-c',
    String(options.connections),
    '-d',
    `${options.durationS}s`,
    '--timeout',
    `${options.timeoutS ?? 5}s`,
    '--latency',
    '-s',
    script,
  ];
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push('-H', `${name}: ${value}`);
  args.push(options.url);
  return new Promise((resolve, reject) => {
    const started = supervisor.spawn('wrk', wrk, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    started.child.stdout?.setEncoding('utf8').on('data', (c: string) => (out += c));
    void started.exited.then((code) => {
      const line = out.split('\n').find((l) => l.startsWith(MARK));
      if (code !== '0' || !line) {
        reject(new Error(`wrk failed (${code}): ${wrk} ${args.join(' ')}\n${out}${started.stderrTail()}`));
        return;
      }
      const raw = JSON.parse(line.slice(MARK.length)) as {
        requests: number;
        duration_us: number;
        bytes: number;
        errors: { connect: number; read: number; write: number; status: number; timeout: number };
        latency_us: WrkResult['latencyUs'];
      };
      resolve({
        requests: raw.requests,
        durationUs: raw.duration_us,
        bytes: raw.bytes,
        rps: raw.requests / (raw.duration_us / 1e6),
        non2xx: raw.errors.status,
        socketErrors: { connect: raw.errors.connect, read: raw.errors.read, write: raw.errors.write, timeout: raw.errors.timeout },
        latencyUs: raw.latency_us,
      });
    });
  });
}

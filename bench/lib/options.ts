/** Command-line flags of `npm run bench`, each with an environment fallback. */
import { parseArgs } from 'node:util';
import type { AccessLogMode } from './portcullis.js';

/** One target a line, in the order of a round: a new target is a one-line edit here and in run.ts's LABELS and start(). */
export const TARGETS = [
  'upstream',
  'nginx',
  'nginx-log',
  'node-bare',
  'fastify',
  'portcullis-public',
  'portcullis',
  'portcullis-chain',
] as const;
/** portcullis-metrics: a second Portcullis beside the first, with metrics on (--metrics). */
export type TargetName = (typeof TARGETS)[number] | 'portcullis-metrics';

export interface BenchOptions {
  durationS: number;
  connections: number;
  threads: number;
  rounds: number;
  warmupS: number;
  targets: TargetName[];
  /** The Portcullis target --profile and --perf run: the first portcullis target of --targets, else portcullis. */
  profiled: TargetName;
  accessLog: AccessLogMode;
  profile: boolean;
  perf: boolean;
  /** Put the waf (paranoia 1) in front of Portcullis's route too. */
  waf: boolean;
  /**
   * The whole security chain on the portcullis target's route too
   * (request-size, key-auth, rate-limit, waf): what portcullis-chain runs,
   * without metrics.
   */
  chain: boolean;
  /** Also run a second Portcullis with metrics on (admin listener, /metrics scraped once a second), interleaved with the first. */
  metrics: boolean;
  /**
   * telemetry.tracing on Portcullis: undefined leaves the section out (the
   * default, tracing off); 'off' writes it with enabled: false and has wrk
   * send a traceparent (the cost of carrying a client's trace id); a number is
   * the sample_ratio of tracing on, exporting to an OTLP sink in the runner.
   */
  tracing: 'off' | number | undefined;
  build: boolean;
  out: string;
  /**
   * node's own flags (--max-semi-space-size=32 ...), given to every Node
   * target alike (the bare proxy, fastify and Portcullis), so the ratios
   * compare like with like.
   */
  nodeFlags: string[];
}

export const USAGE = `npm run bench -- [options]

Measures, interleaved, with wrk: the nginx upstream alone, nginx as a reverse
proxy (without and with its access log), a bare Node proxy (node:http + undici
dispatch, no features: the floor), fastify + @fastify/reply-from (the peer),
and Portcullis three ways: a public route with the access log, key-auth with
the access log, and the whole chain (request-size, key-auth, rate-limit, waf
paranoia 1, access log, metrics). Every target gets the same realistic request
(a query string, a browser User-Agent). Prints the goals of issue 15 as ratios
measured in the same rounds (CPU µs/req and p99 against the bare proxy, rps
against fastify), then rps, p50/p99 and CPU µs per request; writes JSON to --out.

  --duration S      seconds per wrk run            (BENCH_DURATION, default 10)
  --connections N   keep-alive connections          (BENCH_CONNECTIONS, default 50)
  --threads N       wrk threads                     (BENCH_THREADS, default 1)
  --rounds N        interleaved rounds              (BENCH_ROUNDS, default 3)
  --warmup S        unrecorded warm-up per target   (BENCH_WARMUP, default 10; 0 for none)
  --targets LIST    comma list of ${TARGETS.join(',')}
                    (BENCH_TARGETS, default all)
  --access-log M    Portcullis access log: file | devnull | off
                                                    (BENCH_ACCESS_LOG, default file)
  --profile         instead: one run of Portcullis under node --cpu-prof (V8's
                    sampler: wall-clock, JS names), and where the time goes
  --perf            instead: one run of Portcullis under \`perf record\` (on-CPU
                    time only, kernel included; needs perf: apt-get install linux-perf)
                    (both profile the first portcullis target of --targets,
                    else portcullis: --targets portcullis-chain for the chain)
  --waf             also run the waf (paranoia 1) on the portcullis target (BENCH_WAF=1)
  --chain           the whole chain on the portcullis target too: request-size,
                    key-auth, rate-limit (memory store), waf, access log (BENCH_CHAIN=1)
  --metrics         also run Portcullis with metrics on (admin listener, scraped
                    every second), interleaved with the one without: the cost of
                    metrics is the difference in CPU µs/req (BENCH_METRICS=1)
  --tracing M       Portcullis's telemetry.tracing: off (disabled, but wrk sends a
                    traceparent) or a sample ratio 0..1 (on, exporting to an OTLP
                    sink in this process); left out by default (BENCH_TRACING)
  --node-flags F    node flags for every Node target alike (bare proxy, fastify,
                    Portcullis), space-separated: "--max-semi-space-size=32"
                    (BENCH_NODE_FLAGS, default none)
  --no-build        skip \`npm run build\` (dist/ must be current)
  --out FILE        results file (default .bench/results.json; a timestamped copy is kept beside it)
  --help
`;

export class UsageError extends Error {}

function positive(name: string, text: string | undefined, fallback: number, allowZero = false): number {
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0) || !Number.isInteger(value)) {
    throw new UsageError(`${name} expects a whole number${allowZero ? '' : ' above 0'}, got "${text}"`);
  }
  return value;
}

function nodeFlagsOf(text: string | undefined): string[] {
  const flags = (text ?? '').split(/\s+/).filter(Boolean);
  for (const f of flags) if (!f.startsWith('--')) throw new UsageError(`--node-flags takes node flags (--name or --name=value), got "${f}"`);
  return flags;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        duration: { type: 'string' },
        connections: { type: 'string' },
        threads: { type: 'string' },
        rounds: { type: 'string' },
        warmup: { type: 'string' },
        targets: { type: 'string' },
        'access-log': { type: 'string' },
        profile: { type: 'boolean' },
        perf: { type: 'boolean' },
        waf: { type: 'boolean' },
        chain: { type: 'boolean' },
        metrics: { type: 'boolean' },
        tracing: { type: 'string' },
        'no-build': { type: 'boolean' },
        'node-flags': { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0] ?? 'bad arguments');
  }
  if (values.help) return 'help';
  const targetsText = values.targets ?? env.BENCH_TARGETS ?? TARGETS.join(',');
  const targets = targetsText.split(',').map((t) => t.trim()).filter(Boolean);
  for (const t of targets) {
    if (!(TARGETS as readonly string[]).includes(t)) throw new UsageError(`unknown target "${t}" (targets: ${TARGETS.join(', ')})`);
  }
  const accessLog = values['access-log'] ?? env.BENCH_ACCESS_LOG ?? 'file';
  if (values.profile && values.perf) throw new UsageError('--profile and --perf are two ways of profiling: pick one');
  if (accessLog !== 'file' && accessLog !== 'devnull' && accessLog !== 'off') {
    throw new UsageError(`--access-log expects file, devnull or off, got "${accessLog}"`);
  }
  const connections = positive('--connections', values.connections ?? env.BENCH_CONNECTIONS, 50);
  const threads = positive('--threads', values.threads ?? env.BENCH_THREADS, 1);
  if (threads > connections) throw new UsageError('--threads cannot exceed --connections (wrk needs a connection per thread)');
  const tracingText = values.tracing ?? env.BENCH_TRACING;
  let tracing: BenchOptions['tracing'];
  if (tracingText === 'off') tracing = 'off';
  else if (tracingText !== undefined && tracingText !== '') {
    tracing = Number(tracingText);
    if (!Number.isFinite(tracing) || tracing < 0 || tracing > 1) throw new UsageError(`--tracing expects off or a ratio from 0 to 1, got "${tracingText}"`);
  }
  return {
    tracing,
    durationS: positive('--duration', values.duration ?? env.BENCH_DURATION, 10),
    connections,
    threads,
    rounds: positive('--rounds', values.rounds ?? env.BENCH_ROUNDS, 3),
    warmupS: positive('--warmup', values.warmup ?? env.BENCH_WARMUP, 10, true),
    targets: TARGETS.filter((t) => targets.includes(t)),
    profiled: ((values.targets ?? env.BENCH_TARGETS) === undefined ? undefined : (targets.find((t) => t.startsWith('portcullis')) as TargetName | undefined)) ?? 'portcullis',
    accessLog,
    profile: values.profile ?? false,
    perf: values.perf ?? false,
    waf: values.waf ?? env.BENCH_WAF === '1',
    chain: values.chain ?? env.BENCH_CHAIN === '1',
    metrics: values.metrics ?? env.BENCH_METRICS === '1',
    build: !values['no-build'],
    out: values.out ?? '.bench/results.json',
    nodeFlags: nodeFlagsOf(values['node-flags'] ?? env.BENCH_NODE_FLAGS),
  };
}

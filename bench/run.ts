/**
 * npm run bench: wrk against the nginx upstream alone, nginx as a reverse
 * proxy (without and with its access log), the bare Node proxy (the floor),
 * fastify + reply-from (the peer) and Portcullis (public route, key-auth,
 * whole chain), interleaved over several rounds, all on 127.0.0.1.
 * See docs/performance.md for how to run it and how to read the table.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, createReadStream, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBareProxy, startFastifyProxy } from './lib/bare.js';
import { cpuMicros, cpuResolutionMicros, cpuTimes, rssMiB } from './lib/cpu.js';
import { get } from './lib/http-check.js';
import { FIXED_BODY, startProxy, startUpstream, type RunningServer } from './lib/nginx.js';
import { parseOptions, USAGE, UsageError, type BenchOptions, type TargetName } from './lib/options.js';
import { API_KEY, API_KEY_HEADER, BENCH_TRACEPARENT, CHAIN_HEADERS, CHAIN_PATH, startPortcullis, type RouteKind, type RunningPortcullis } from './lib/portcullis.js';
import { startTraceSink } from './lib/trace-sink.js';
import { Supervisor, type Started } from './lib/processes.js';
import { formatPerf, summarizePerf } from './lib/perf-summary.js';
import { formatSummary, summarizeProfile } from './lib/profile-summary.js';
import { addRatios, formatComparison, formatGoals, formatTable, readPrevious, summarize, writeResults, type BenchResults, type RoundResult } from './lib/report.js';
import { requireTool, toolVersion } from './lib/tools.js';
import { runWrk, writeWrkScript, type WrkResult } from './lib/wrk.js';
import { freePort } from './lib/ports.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));

interface Target {
  name: TargetName;
  label: string;
  url: string;
  /** The process whose CPU is charged per request. */
  process: Started;
  headers: Record<string, string>;
  /** A file to count and empty after each round (the access log). */
  accessLog: string | undefined;
  /** With metrics on: the admin listener, scraped every second while wrk runs. */
  adminUrl?: string;
  /** The route asks for an API key: checked to answer 401 without one. */
  needsKey?: boolean;
}

const LABELS: Record<TargetName, string> = {
  upstream: 'upstream alone (nginx), no proxy',
  nginx: 'nginx proxy_pass, upstream keepalive',
  'nginx-log': 'nginx proxy, access log on',
  'node-bare': 'bare Node proxy (http + undici dispatch)',
  fastify: 'fastify + @fastify/reply-from (no features)',
  'portcullis-public': 'Portcullis, public route + access log',
  portcullis: 'Portcullis, key-auth + access log',
  'portcullis-chain': 'Portcullis, key-auth + rate-limit + waf + access log + metrics',
  'portcullis-metrics': 'Portcullis, key-auth + access log + metrics',
};

/** How often the metrics target is scraped while measured (Prometheus's default is every 15 s or more: this is harsher). */
const SCRAPE_EVERY_MS = 1000;

/**
 * The targets in the order of one round. The two Portcullis of --metrics swap places every other
 * round: measured in a fixed order, the second ran about 10 µs/req cheaper whichever it was (the
 * first warms the upstream and the machine's caches for it), a bias far larger than what is compared.
 */
function roundOrder(targets: Target[], round: number): Target[] {
  const off = targets.findIndex((t) => t.name === 'portcullis');
  const on = targets.findIndex((t) => t.name === 'portcullis-metrics');
  if (off < 0 || on < 0 || round % 2 === 1) return targets;
  const swapped = [...targets];
  swapped[off] = targets[on]!;
  swapped[on] = targets[off]!;
  return swapped;
}

/** The requests a Portcullis with metrics on has counted (portcullis_requests_total, all series). */
async function countedRequests(adminUrl: string): Promise<number> {
  const m = await get(`${adminUrl}/metrics`);
  if (m.status !== 200) throw new Error(`GET ${adminUrl}/metrics answered ${m.status}`);
  let total = 0;
  for (const line of m.body.split('\n')) if (line.startsWith('portcullis_requests_total{')) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

function say(text: string): void {
  process.stderr.write(text + '\n');
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function build(): void {
  say('bench: npm run build');
  const out = spawnSync('npm', ['run', 'build', '--silent'], { cwd: REPO, stdio: 'inherit' });
  if (out.status !== 0) throw new Error('npm run build failed; fix the build (or pass --no-build to use the dist/ already there)');
}

async function countLines(file: string): Promise<number> {
  let lines = 0;
  for await (const chunk of createReadStream(file)) {
    const buf = chunk as Buffer;
    for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) lines++;
  }
  return lines;
}

/** What wrk asks every target for: a request with a query string and browser headers (CHAIN_HEADERS), something for the waf to read. */
const requestPath = CHAIN_PATH;

/** Refuses to measure anything that does not answer as it should. */
async function verify(upstream: RunningServer, targets: Target[]): Promise<void> {
  for (const t of targets) {
    const ok = await get(`${t.url}${requestPath}`, t.headers);
    if (ok.status !== 200 || ok.body !== FIXED_BODY) {
      throw new Error(`${t.label} at ${t.url}/bench answered ${ok.status} ${JSON.stringify(ok.body.slice(0, 200))}, expected 200 with the upstream's fixed body`);
    }
    if (t.adminUrl) await countedRequests(t.adminUrl); // metrics are on and served
    if (t.needsKey) {
      const without = await get(`${t.url}${requestPath}`, { ...CHAIN_HEADERS });
      if (without.status !== 401) throw new Error(`Portcullis answered ${without.status} without an API key; expected 401 (is key-auth on the route?)`);
      const wrong = await get(`${t.url}${requestPath}`, { ...CHAIN_HEADERS, [API_KEY_HEADER]: 'not-the-key' });
      if (wrong.status !== 401) throw new Error(`Portcullis answered ${wrong.status} with a wrong API key; expected 401`);
    }
  }
  say(`bench: checked: every target answers 200 with the ${FIXED_BODY.length}-byte body from ${upstream.url}; Portcullis with key-auth answers 401 without the key`);
}

async function measure(supervisor: Supervisor, wrk: string, script: string, options: BenchOptions, target: Target, upstreamPid: number, durationS: number, round: number): Promise<RoundResult> {
  const cpuBefore = cpuTimes(target.process.pid);
  const upstreamBefore = cpuMicros(upstreamPid);
  const scraper = target.adminUrl ? setInterval(() => void get(`${target.adminUrl}/metrics`).catch(() => {}), SCRAPE_EVERY_MS) : undefined;
  const result: WrkResult = await runWrk(supervisor, wrk, script, {
    url: `${target.url}${requestPath}`,
    durationS,
    connections: options.connections,
    threads: options.threads,
    headers: target.headers,
  });
  clearInterval(scraper);
  const cpuAfter = cpuTimes(target.process.pid);
  const cpu = cpuAfter.user + cpuAfter.sys - cpuBefore.user - cpuBefore.sys;
  const upstreamCpu = cpuMicros(upstreamPid) - upstreamBefore;
  const served = Math.max(result.requests, 1);
  const round_: RoundResult = {
    round,
    rps: result.rps,
    requests: result.requests,
    p50Ms: result.latencyUs.p50 / 1000,
    p90Ms: result.latencyUs.p90 / 1000,
    p99Ms: result.latencyUs.p99 / 1000,
    maxMs: result.latencyUs.max / 1000,
    cpuUsPerRequest: cpu / served,
    sysUsPerRequest: (cpuAfter.sys - cpuBefore.sys) / served,
    upstreamCpuUsPerRequest: upstreamCpu / served,
    non2xx: result.non2xx,
    socketErrors: result.socketErrors,
    rssMiB: rssMiB(target.process.pid),
  };
  if (target.accessLog) {
    await pause(300); // let the buffered log reach the file
    round_.accessLogLines = await countLines(target.accessLog);
    truncateSync(target.accessLog, 0);
  }
  return round_;
}

function describeRound(t: Target, r: RoundResult): string {
  const errors = r.socketErrors.connect + r.socketErrors.read + r.socketErrors.write + r.socketErrors.timeout;
  let text = `  ${t.label.padEnd(42)} ${Math.round(r.rps).toString().padStart(7)} rps  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  CPU ${r.cpuUsPerRequest.toFixed(1)} µs/req (sys ${r.sysUsPerRequest.toFixed(1)})`;
  if (r.non2xx > 0) text += `  ⚠ ${r.non2xx} non-2xx responses`;
  if (errors > 0) text += `  ⚠ socket errors ${JSON.stringify(r.socketErrors)}`;
  return text;
}

const loadAverage = () => loadavg().map((n) => Math.round(n * 100) / 100);

function machine(nginx: string, wrk: string, loadAtStart: number[]): Record<string, unknown> {
  const git = (args: string[]) => spawnSync('git', args, { cwd: REPO, encoding: 'utf8' }).stdout?.trim() ?? '';
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    kernel: release(),
    node: process.version,
    nginx: toolVersion(nginx, ['-v']),
    wrk: toolVersion(wrk, ['-v']),
    loadavgAtStart: loadAtStart,
    commit: git(['rev-parse', 'HEAD']),
    dirty: git(['status', '--porcelain']) !== '',
  };
}

/** The Portcullis route of each Portcullis target (the portcullis target follows --chain). */
function routeOf(name: TargetName, options: BenchOptions): RouteKind {
  if (name === 'portcullis-public') return 'public';
  if (name === 'portcullis-chain' || options.chain) return 'chain';
  return 'key-auth';
}

/** A Portcullis target's label: its own, or for the portcullis target, what --chain, --waf, --access-log and --tracing made of it. */
function portcullisLabel(name: TargetName, options: BenchOptions): string {
  if (name !== 'portcullis') return LABELS[name];
  return (
    (options.chain
      ? 'Portcullis, request-size + key-auth + rate-limit + waf + access log'
      : (options.accessLog === 'off' ? 'Portcullis, key-auth, access log off' : options.accessLog === 'devnull' ? 'Portcullis, key-auth + access log → /dev/null' : LABELS[name]) +
        (options.waf ? ' + waf' : '')) +
    (options.tracing === undefined ? '' : options.tracing === 'off' ? ' + traceparent, tracing off' : ` + tracing ${options.tracing * 100}%`)
  );
}

/** Starts one target of --targets (two for portcullis with --metrics), in its own temp dir. */
async function startTarget(name: TargetName, options: BenchOptions, supervisor: Supervisor, dir: string, nginx: string, upstream: RunningServer): Promise<Target[]> {
  const label = LABELS[name];
  const common = { ...CHAIN_HEADERS };
  switch (name) {
    case 'upstream':
      return [{ name, label, url: upstream.url, process: upstream.process, headers: common, accessLog: undefined }];
    case 'nginx':
    case 'nginx-log': {
      const proxy = await startProxy(supervisor, nginx, join(dir, name), upstream.port, name === 'nginx-log');
      return [{ name, label, url: proxy.url, process: proxy.process, headers: common, accessLog: proxy.accessLog }];
    }
    case 'node-bare': {
      const bare = await startBareProxy(supervisor, REPO, upstream.url, options.nodeFlags);
      return [{ name, label, url: bare.url, process: bare.process, headers: common, accessLog: undefined }];
    }
    case 'fastify': {
      const peer = await startFastifyProxy(supervisor, REPO, upstream.url, options.nodeFlags);
      return [{ name, label, url: peer.url, process: peer.process, headers: common, accessLog: undefined }];
    }
    case 'portcullis-public':
    case 'portcullis-chain': {
      const route = routeOf(name, options);
      const metrics = name === 'portcullis-chain';
      const gw = await startPortcullis(supervisor, {
        repo: REPO,
        dir: join(dir, name),
        name,
        upstreamPort: upstream.port,
        accessLog: options.accessLog,
        route,
        adminPort: metrics ? await freePort() : undefined,
        nodeArgs: options.nodeFlags,
      });
      const key: Record<string, string> = route === 'public' ? {} : { [API_KEY_HEADER]: API_KEY };
      return [{ name, label, url: gw.url, process: gw.process, headers: { ...common, ...key }, accessLog: gw.accessLog, adminUrl: gw.adminUrl, needsKey: route !== 'public' }];
    }
    case 'portcullis':
    case 'portcullis-metrics': {
      // The OTLP sink runs in this process: its CPU is not charged to Portcullis, the export work is.
      const sink = typeof options.tracing === 'number' ? await startTraceSink(supervisor) : undefined;
      const route = routeOf(name, options);
      const gw: RunningPortcullis = await startPortcullis(supervisor, {
        repo: REPO,
        dir: join(dir, 'portcullis'),
        upstreamPort: upstream.port,
        accessLog: options.accessLog,
        waf: options.waf,
        route,
        tracing: options.tracing,
        traceSink: sink?.url,
        nodeArgs: options.nodeFlags,
      });
      const accessLabel = portcullisLabel('portcullis', options);
      const traceHeaders: Record<string, string> = options.tracing === 'off' ? { traceparent: BENCH_TRACEPARENT } : {};
      const started: Target[] = [{ name: 'portcullis', label: accessLabel, url: gw.url, process: gw.process, headers: { ...common, ...traceHeaders, [API_KEY_HEADER]: API_KEY }, accessLog: gw.accessLog, needsKey: true }];
      if (options.metrics) {
        // The same gateway and config with an admin listener (metrics on by default), measured beside the first.
        const on = await startPortcullis(supervisor, {
          repo: REPO,
          dir: join(dir, 'portcullis-metrics'),
          name: 'portcullis-metrics',
          upstreamPort: upstream.port,
          accessLog: options.accessLog,
          waf: options.waf,
          route,
          adminPort: await freePort(),
          nodeArgs: options.nodeFlags,
        });
        started.push({ name: 'portcullis-metrics', label: `${accessLabel} + metrics`, url: on.url, process: on.process, headers: { ...common, [API_KEY_HEADER]: API_KEY }, accessLog: on.accessLog, adminUrl: on.adminUrl, needsKey: true });
      }
      return started;
    }
  }
}

async function benchmark(options: BenchOptions, supervisor: Supervisor, dir: string, nginx: string, wrk: string): Promise<void> {
  const startedAt = new Date().toISOString();
  const loadAtStart = loadAverage();
  const script = writeWrkScript(dir);
  const upstream = await startUpstream(supervisor, nginx, join(dir, 'upstream'));
  const targets: Target[] = [];
  for (const name of options.targets) targets.push(...(await startTarget(name, options, supervisor, dir, nginx, upstream)));
  await verify(upstream, targets);

  if (options.warmupS > 0) {
    say(`bench: warm-up, ${options.warmupS} s per target (not recorded)`);
    for (const t of targets) await measure(supervisor, wrk, script, options, t, upstream.process.pid, options.warmupS, 0);
  }
  const rounds = new Map<TargetName, RoundResult[]>(targets.map((t) => [t.name, []]));
  for (let round = 1; round <= options.rounds; round++) {
    say(`bench: round ${round}/${options.rounds}`);
    for (const t of roundOrder(targets, round)) {
      await pause(500);
      const r = await measure(supervisor, wrk, script, options, t, upstream.process.pid, options.durationS, round);
      rounds.get(t.name)!.push(r);
      say(describeRound(t, r));
      if (r.accessLogLines !== undefined && r.accessLogLines < r.requests * 0.98) {
        say(`  ⚠ ${t.label}: ${r.accessLogLines} access log lines for ${r.requests} requests`);
      }
    }
  }

  for (const t of targets) {
    if (!t.adminUrl) continue;
    const served = [...rounds.get(t.name)!].reduce((a, r) => a + r.requests, 0);
    say(`bench: ${t.label}: portcullis_requests_total counts ${await countedRequests(t.adminUrl)} requests (wrk completed ${served} in the measured rounds, plus warm-up and checks)`);
  }

  const results: BenchResults = {
    format: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    command: ['npm run bench --', ...process.argv.slice(2)].join(' '),
    machine: { ...machine(nginx, wrk, loadAtStart), loadavgAtEnd: loadAverage() },
    options: { ...options, cpuResolutionUs: cpuResolutionMicros },
    targets: targets.map((t) => summarize(t.name, t.label, rounds.get(t.name)!)),
  };
  addRatios(results.targets);
  const out = resolve(REPO, options.out);
  const previous = readPrevious(out);
  const copy = writeResults(out, results);

  const m = results.machine;
  process.stdout.write(
    `\nPortcullis benchmark, ${startedAt} — ${String(m.cpus)} × ${String(m.cpuModel)}, Node ${process.version}, ${String(m.nginx)}, ${String(m.wrk).split(' Copyright')[0]}\n` +
      `wrk -t${options.threads} -c${options.connections} -d${options.durationS}s --latency, ${options.rounds} interleaved rounds (medians), ${FIXED_BODY.length}-byte upstream response, ` +
      `load average ${(m.loadavgAtStart as number[]).join(' ')} at start, ${(m.loadavgAtEnd as number[]).join(' ')} at end` +
      (options.nodeFlags.length > 0 ? `; every Node target run with ${options.nodeFlags.join(' ')}` : '') +
      '\n\n' +
      (formatGoals(results.targets) === '' ? '' : formatGoals(results.targets) + '\n\n') +
      formatTable(results.targets) +
      '\n\n',
  );
  const bad = results.targets.filter((t) => t.non2xx > 0 || t.socketErrors > 0);
  for (const t of bad) process.stdout.write(`⚠ ${t.label}: ${t.non2xx} non-2xx responses and ${t.socketErrors} socket errors over all rounds; its figures are suspect\n`);
  if (previous) process.stdout.write(formatComparison(previous, results) + '\n');
  process.stdout.write(`Results: ${out} (and ${copy})\n`);
  if (bad.length > 0) process.exitCode = 1;
}

/** The Portcullis --profile and --perf measure (options.profiled), as a target. */
function profiledTarget(options: BenchOptions, gw: RunningPortcullis, label: string): Target {
  const needsKey = routeOf(options.profiled, options) !== 'public';
  return { name: options.profiled, label, url: gw.url, process: gw.process, headers: needsKey ? { ...CHAIN_HEADERS, [API_KEY_HEADER]: API_KEY } : { ...CHAIN_HEADERS }, accessLog: gw.accessLog, needsKey };
}

/** One run of Portcullis under node --cpu-prof, then where its CPU time went. */
async function profile(options: BenchOptions, supervisor: Supervisor, dir: string, nginx: string, wrk: string): Promise<void> {
  const script = writeWrkScript(dir);
  const upstream = await startUpstream(supervisor, nginx, join(dir, 'upstream'));
  const profDir = join(dir, 'cpu-profile');
  mkdirSync(profDir);
  const gw = await startPortcullis(supervisor, {
    repo: REPO,
    dir: join(dir, 'portcullis'),
    upstreamPort: upstream.port,
    accessLog: options.accessLog,
    nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-interval', '250'],
    waf: options.waf,
    route: routeOf(options.profiled, options),
  });
  const target = profiledTarget(options, gw, `${portcullisLabel(options.profiled, options)} (profiled)`);
  await verify(upstream, [target]);
  let requests = 0;
  if (options.warmupS > 0) {
    say(`bench: warm-up ${options.warmupS} s (in the profile, not in the figures below)`);
    requests += (await measure(supervisor, wrk, script, options, target, upstream.process.pid, options.warmupS, 0)).requests;
  }
  say(`bench: profiling Portcullis for ${options.durationS} s under wrk -c${options.connections}`);
  const r = await measure(supervisor, wrk, script, options, target, upstream.process.pid, options.durationS, 1);
  requests += r.requests;
  say(describeRound(target, r) + '   (profiler on: slower than a plain run)');
  // SIGINT: the gateway shuts down and exits normally, which is when V8 writes the profile.
  await supervisor.stop(gw.process, 30_000, 'SIGINT');
  const written = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
  if (written.length === 0) throw new Error(`Portcullis exited without writing a CPU profile in ${profDir}:\n${gw.process.stderrTail()}`);
  const outDir = resolve(REPO, '.bench');
  mkdirSync(outDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const kept = join(outDir, `portcullis-${stamp}.cpuprofile`);
  copyFileSync(join(profDir, written[0]!), kept);
  const summary = summarizeProfile(kept, REPO, 30);
  process.stdout.write(`\n${formatSummary(summary, requests)}\n\nProfile: ${kept} (open in Chrome DevTools → Performance, or VS Code)\n`);
}

/** One run of Portcullis under perf record: on-CPU time by group, kernel included. */
async function perfProfile(options: BenchOptions, supervisor: Supervisor, dir: string, nginx: string, wrk: string, perf: string): Promise<void> {
  const script = writeWrkScript(dir);
  const upstream = await startUpstream(supervisor, nginx, join(dir, 'upstream'));
  // --perf-basic-prof: V8 writes /tmp/perf-PID.map so perf can name JIT-compiled JS functions.
  const gw = await startPortcullis(supervisor, { repo: REPO, dir: join(dir, 'portcullis'), upstreamPort: upstream.port, accessLog: options.accessLog, nodeArgs: ['--perf-basic-prof'], waf: options.waf, route: routeOf(options.profiled, options) });
  const perfMap = `/tmp/perf-${gw.process.pid}.map`;
  supervisor.onCleanup(() => rmSync(perfMap, { force: true }));
  const target = profiledTarget(options, gw, `${portcullisLabel(options.profiled, options)} (under perf)`);
  await verify(upstream, [target]);
  if (options.warmupS > 0) {
    say(`bench: warm-up ${options.warmupS} s`);
    await measure(supervisor, wrk, script, options, target, upstream.process.pid, options.warmupS, 0);
  }
  const data = join(dir, 'perf.data');
  say(`bench: perf record on Portcullis for ${options.durationS} s under wrk -c${options.connections}`);
  const recorder = supervisor.spawn('perf record', perf, ['record', '-F', '999', '-g', '-p', String(gw.process.pid), '-o', data, '--', 'sleep', String(options.durationS)]);
  const r = await measure(supervisor, wrk, script, options, target, upstream.process.pid, options.durationS, 1);
  const code = await recorder.exited;
  if (code !== '0') throw new Error(`perf record failed (${code}): ${recorder.stderrTail()}\n(perf_event_paranoid is ${readFileSync('/proc/sys/kernel/perf_event_paranoid', 'utf8').trim()}; 2 or less is needed)`);
  say(describeRound(target, r) + '   (perf and --perf-basic-prof on)');
  const text = join(dir, 'perf.txt');
  const fd = openSync(text, 'w');
  const out = spawnSync(perf, ['script', '-i', data, '-F', 'comm,tid,ip,sym,dso'], { stdio: ['ignore', fd, 'pipe'] });
  closeSync(fd);
  if (out.status !== 0) throw new Error(`perf script failed: ${String(out.stderr)}`);
  const summary = summarizePerf(readFileSync(text, 'utf8'), REPO, 30);
  const report = formatPerf(summary, r.cpuUsPerRequest);
  const outDir = resolve(REPO, '.bench');
  mkdirSync(outDir, { recursive: true });
  const kept = join(outDir, `perf-${new Date().toISOString().replace(/[:.]/g, '-')}.txt`);
  writeFileSync(kept, report + '\n');
  process.stdout.write(`\n${report}\n\nSummary kept in ${kept}\n`);
}

async function main(): Promise<number> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      say(`bench: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (process.platform !== 'linux') throw new Error('the benchmark reads CPU time from /proc: it runs on Linux only');
  const nginx = requireTool('nginx');
  const wrk = requireTool('wrk');
  const perf = options.perf ? requireTool('perf') : '';
  if (options.build) build();

  const supervisor = new Supervisor();
  supervisor.installSignalHandlers();
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-'));
  supervisor.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  try {
    if (options.profile) await profile(options, supervisor, dir, nginx, wrk);
    else if (options.perf) await perfProfile(options, supervisor, dir, nginx, wrk, perf);
    else await benchmark(options, supervisor, dir, nginx, wrk);
  } finally {
    await supervisor.stopAll();
  }
  return process.exitCode === undefined ? 0 : Number(process.exitCode);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    say(`bench: ${(err as Error).message}`);
    process.exitCode = 1;
  },
);

/**
 * A/B of whole processes: the same route from two builds (or with two sets of
 * node flags) beside the bare proxy, measured in interleaved rounds on one
 * upstream, so that a change's effect is read within one run rather than
 * across two runs on a shared machine. Each target is
 *   NAME=KIND[@DIR][+FLAG...]
 * KIND: bare | public | key-auth | chain (chain: request-size + key-auth +
 * rate-limit + waf + access log + metrics scraped every second, as in
 * `npm run bench`); DIR: a checkout whose dist/ to run (default: this one);
 * FLAG: node flags (`+--max-semi-space-size=32`). A gateway is compared with
 * the bare proxy that has the same flags (the first bare one if none has).
 *   node --import tsx bench/ab.ts [--rounds 6] [--duration 5] [--warmup 8] [--gc] \
 *     bare=bare old=public@/work/main new=public [--compare old,new]
 * --gc loads a probe (PROBE_SOURCE) into every process and reports young
 * collections per 1,000 requests and their main-thread milliseconds.
 * --alloc instead samples every allocation (garbage included: V8's sampling
 * heap profiler through the inspector) over one round per target after the
 * warm-up, and prints the young generation allocated per request, the
 * functions that allocate most of it, and the same bytes charged to the
 * nearest of our own functions on the stack (undici writing a request head
 * counts under the Exchange that dispatched it); each profile is kept in
 * .bench/alloc-NAME.heapprofile (Chrome DevTools' Memory tab opens it).
 * Prints each round, then medians; the load average at start and end.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startBareProxy } from './lib/bare.js';
import { cpuTimes } from './lib/cpu.js';
import { get } from './lib/http-check.js';
import { FIXED_BODY, startUpstream } from './lib/nginx.js';
import { API_KEY, API_KEY_HEADER, CHAIN_HEADERS, CHAIN_PATH, startPortcullis, type RouteKind } from './lib/portcullis.js';
import { freePort } from './lib/ports.js';
import { Supervisor, type Started } from './lib/processes.js';
import { median } from './lib/stats.js';
import { requireTool } from './lib/tools.js';
import { runWrk, writeWrkScript } from './lib/wrk.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));

/**
 * Loaded into every measured process with --gc (`node --import <file>`): counts the collections
 * V8 reports (perf_hooks 'gc' entries) and writes the totals, with the young generation's size,
 * to $BENCH_GC_PROBE every 200 ms. Plain JavaScript, written to the temp dir, so that it loads
 * into `node dist/cli.js` and into `node --import tsx bench/bare-proxy.ts` alike.
 */
const PROBE_SOURCE = `import { writeFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

const file = process.env.BENCH_GC_PROBE;
if (file) {
  const totals = { minor: 0, major: 0, minorMs: 0, majorMs: 0, newSpaceBytes: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) {
        totals.minor++;
        totals.minorMs += entry.duration;
      } else {
        totals.major++;
        totals.majorMs += entry.duration;
      }
    }
  }).observe({ entryTypes: ['gc'] });
  setInterval(() => {
    totals.newSpaceBytes = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
    writeFileSync(file, JSON.stringify(totals));
  }, 200).unref();
}
`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '6' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '8' },
    connections: { type: 'string', default: '50' },
    compare: { type: 'string' },
    gc: { type: 'boolean', default: false },
    alloc: { type: 'boolean', default: false },
    top: { type: 'string', default: '20' },
  },
});

interface Spec {
  name: string;
  kind: 'bare' | RouteKind;
  dir: string;
  flags: string[];
}

function parseSpec(text: string): Spec {
  const eq = text.indexOf('=');
  if (eq < 1) throw new Error(`a target is NAME=KIND[@DIR][+FLAG...]: ${text}`);
  const [head, ...flags] = text.slice(eq + 1).split('+');
  const [kind, dir] = head!.split('@');
  if (!['bare', 'public', 'key-auth', 'chain'].includes(kind!)) throw new Error(`unknown kind ${kind}`);
  return { name: text.slice(0, eq), kind: kind as Spec['kind'], dir: resolve(dir ?? REPO), flags };
}

interface Running extends Spec {
  url: string;
  process: Started;
  headers: Record<string, string>;
  accessLog: string | undefined;
  adminUrl: string | undefined;
  probe: string | undefined;
}

interface Round {
  cpu: number;
  p99: number;
  rps: number;
  minorPer1k?: number;
  gcMsPer1k?: number;
  newSpaceMiB?: number;
}

/**
 * Loaded with --alloc: samples allocations, collected ones included, from when
 * $BENCH_ALLOC_PROBE.start appears until .stop does, then writes the profile
 * to $BENCH_ALLOC_PROBE.json.
 */
const ALLOC_PROBE_SOURCE = `import { Session } from 'node:inspector';
import { existsSync, writeFileSync } from 'node:fs';
const base = process.env.BENCH_ALLOC_PROBE;
if (base) {
  const session = new Session();
  session.connect();
  let state = 'idle';
  const poll = setInterval(() => {
    if (state === 'idle' && existsSync(base + '.start')) {
      state = 'sampling';
      session.post('HeapProfiler.enable', () =>
        session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }),
      );
    } else if (state === 'sampling' && existsSync(base + '.stop')) {
      state = 'done';
      clearInterval(poll);
      session.post('HeapProfiler.stopSampling', (err, r) => writeFileSync(base + '.json', JSON.stringify(err ? { error: String(err) } : r.profile)));
    }
  }, 50);
  poll.unref();
}
`;

interface AllocNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: AllocNode[];
}

/** Bytes per request by allocating function (self), the largest first. */
function allocSummary(profile: { head: AllocNode }, requests: number, top: number): string {
  const by = new Map<string, number>();
  let total = 0;
  const walk = (n: AllocNode): void => {
    const f = n.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|dist|src|bench)\//, '$1/')}:${f.lineNumber + 1}`;
    total += n.selfSize;
    by.set(key, (by.get(key) ?? 0) + n.selfSize);
    for (const c of n.children) walk(c);
  };
  walk(profile.head);
  const lines = [...by].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => `    ${(v / requests).toFixed(0).padStart(6)} B  ${k}`);
  // The same bytes charged to the nearest of our own functions on the stack (src/ or dist/, not
  // node_modules): undici writing a request head counts under the Exchange that dispatched it.
  const ours = new Map<string, number>();
  const charge = (n: AllocNode, owner: string): void => {
    const f = n.callFrame;
    const mine = /\/(src|dist)\//.test(f.url) && !f.url.includes('/node_modules/');
    const who = mine ? `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(dist|src)\//, '$1/')}:${f.lineNumber + 1}` : owner;
    ours.set(who, (ours.get(who) ?? 0) + n.selfSize);
    for (const c of n.children) charge(c, who);
  };
  charge(profile.head, '(no function of ours on the stack)');
  const ourLines = [...ours].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => `    ${(v / requests).toFixed(0).padStart(6)} B  ${k}`);
  return `    ${(total / requests).toFixed(0)} B per request allocated (${requests} requests sampled), by function:\n${lines.join('\n')}\n  by the nearest function of ours on the stack:\n${ourLines.join('\n')}`;
}

const say = (text: string) => process.stderr.write(text + '\n');
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () => loadavg().map((n) => n.toFixed(2)).join(' ');

const specs = positionals.map(parseSpec);
if (specs.length < 2) throw new Error('name at least two targets');
const rounds = Number(values.rounds);
const durationS = Number(values.duration);
const warmupS = Number(values.warmup);
const connections = Number(values.connections);

const supervisor = new Supervisor();
supervisor.installSignalHandlers();
const dir = mkdtempSync(join(tmpdir(), 'portcullis-ab-'));
supervisor.onCleanup(() => rmSync(dir, { recursive: true, force: true }));

function readProbe(file: string | undefined): { minor: number; minorMs: number; majorMs: number; newSpaceBytes: number } | undefined {
  if (!file) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { minor: number; minorMs: number; majorMs: number; newSpaceBytes: number };
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const wrk = requireTool('wrk');
  const probeFile = join(dir, 'gc-probe.mjs');
  if (values.gc) writeFileSync(probeFile, PROBE_SOURCE);
  const allocProbeFile = join(dir, 'alloc-probe.mjs');
  if (values.alloc) writeFileSync(allocProbeFile, ALLOC_PROBE_SOURCE);
  const script = writeWrkScript(dir);
  const upstream = await startUpstream(supervisor, requireTool('nginx'), join(dir, 'upstream'));
  const running: Running[] = [];
  for (const spec of specs) {
    const probe = values.gc ? join(dir, `${spec.name}.gc.json`) : undefined;
    const nodeArgs = [...(probe ? ['--import', probeFile] : []), ...(values.alloc ? ['--import', allocProbeFile] : []), ...spec.flags];
    if (probe) process.env.BENCH_GC_PROBE = probe;
    if (values.alloc) process.env.BENCH_ALLOC_PROBE = join(dir, `${spec.name}.alloc`);
    if (spec.kind === 'bare') {
      const bare = await startBareProxy(supervisor, REPO, upstream.url, nodeArgs);
      running.push({ ...spec, url: bare.url, process: bare.process, headers: { ...CHAIN_HEADERS }, accessLog: undefined, adminUrl: undefined, probe });
      continue;
    }
    const adminPort = spec.kind === 'chain' ? await freePort() : undefined;
    const gw = await startPortcullis(supervisor, { repo: spec.dir, dir: join(dir, spec.name), name: spec.name, upstreamPort: upstream.port, accessLog: 'file', route: spec.kind, adminPort, nodeArgs });
    const key: Record<string, string> = spec.kind === 'public' ? {} : { [API_KEY_HEADER]: API_KEY };
    running.push({ ...spec, url: gw.url, process: gw.process, headers: { ...CHAIN_HEADERS, ...key }, accessLog: gw.accessLog, adminUrl: gw.adminUrl, probe });
  }
  delete process.env.BENCH_GC_PROBE;
  delete process.env.BENCH_ALLOC_PROBE;
  for (const t of running) {
    const ok = await get(`${t.url}${CHAIN_PATH}`, t.headers);
    if (ok.status !== 200 || ok.body !== FIXED_BODY) throw new Error(`${t.name} answered ${ok.status}`);
  }

  const measure = async (t: Running, seconds: number): Promise<Round> => {
    const before = cpuTimes(t.process.pid);
    const gcBefore = readProbe(t.probe);
    const scraper = t.adminUrl ? setInterval(() => void get(`${t.adminUrl}/metrics`).catch(() => {}), 1000) : undefined;
    const r = await runWrk(supervisor, wrk, script, { url: `${t.url}${CHAIN_PATH}`, durationS: seconds, connections, threads: 1, headers: t.headers });
    clearInterval(scraper);
    const after = cpuTimes(t.process.pid);
    if (r.non2xx > 0) throw new Error(`${t.name}: ${r.non2xx} non-2xx responses`);
    const served = Math.max(r.requests, 1);
    const round: Round = { cpu: (after.user + after.sys - before.user - before.sys) / served, p99: r.latencyUs.p99 / 1000, rps: r.rps };
    if (t.probe) {
      await pause(300);
      const gcAfter = readProbe(t.probe);
      if (gcBefore && gcAfter) {
        round.minorPer1k = ((gcAfter.minor - gcBefore.minor) * 1000) / served;
        round.gcMsPer1k = ((gcAfter.minorMs + gcAfter.majorMs - gcBefore.minorMs - gcBefore.majorMs) * 1000) / served;
        round.newSpaceMiB = gcAfter.newSpaceBytes / 1048576;
      }
    }
    if (t.accessLog) {
      await pause(200);
      truncateSync(t.accessLog, 0);
    }
    return round;
  };

  say(`ab: load average ${load()} at start; warm-up ${warmupS} s per target`);
  for (const t of running) await measure(t, warmupS);
  if (values.alloc) {
    for (const t of running) {
      const base = join(dir, `${t.name}.alloc`);
      writeFileSync(`${base}.start`, '');
      await pause(300);
      const r = await runWrk(supervisor, wrk, script, { url: `${t.url}${CHAIN_PATH}`, durationS, connections, threads: 1, headers: t.headers });
      writeFileSync(`${base}.stop`, '');
      for (let waited = 0; !existsSync(`${base}.json`); waited += 100) {
        if (waited > 30_000) throw new Error(`${t.name} wrote no allocation profile`);
        await pause(100);
      }
      await pause(200); // written whole
      const profile = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as { head: AllocNode } | { error: string };
      if ('error' in profile) throw new Error(`${t.name}: ${profile.error}`);
      // Kept for a closer look (Chrome DevTools' Memory tab opens .heapprofile files).
      mkdirSync(join(REPO, '.bench'), { recursive: true });
      copyFileSync(`${base}.json`, join(REPO, '.bench', `alloc-${t.name}.heapprofile`));
      process.stdout.write(`${t.name} (${t.kind}${t.flags.length ? ` ${t.flags.join(' ')}` : ''}), load average ${load()}\n${allocSummary(profile, Math.max(r.requests, 1), Number(values.top))}\n`);
    }
    return;
  }
  const results = new Map<string, Round[]>(running.map((t) => [t.name, []]));
  for (let round = 1; round <= rounds; round++) {
    // Every other round in reverse: neither side always runs right after the other.
    const order = round % 2 === 1 ? running : [...running].reverse();
    for (const t of order) {
      await pause(300);
      const r = await measure(t, durationS);
      results.get(t.name)!.push(r);
      const gc = r.minorPer1k === undefined ? '' : `  scavenges/1k ${r.minorPer1k.toFixed(2)}  gc ms/1k ${r.gcMsPer1k!.toFixed(2)}  new space ${r.newSpaceMiB!.toFixed(1)} MiB`;
      say(`  round ${round} ${t.name.padEnd(14)} CPU ${r.cpu.toFixed(1).padStart(6)} µs/req  p99 ${r.p99.toFixed(2).padStart(6)} ms  ${Math.round(r.rps).toString().padStart(6)} rps${gc}`);
    }
  }

  const bareFor = (t: Running): Running => running.find((b) => b.kind === 'bare' && b.flags.join(' ') === t.flags.join(' ')) ?? running.find((b) => b.kind === 'bare')!;
  const ratio = (a: Round[], b: Round[], pick: (r: Round) => number) => a.map((r, i) => pick(r) / pick(b[i]!));
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' ');
  process.stdout.write(`\nab: ${rounds} rounds × ${durationS} s, wrk -t1 -c${connections}, load average ${load()} at end\n`);
  for (const t of running) {
    const rs = results.get(t.name)!;
    let line = `${t.name.padEnd(14)} ${t.kind}${t.dir === resolve(REPO) ? '' : `@${t.dir}`}${t.flags.length ? ` ${t.flags.join(' ')}` : ''}\n    CPU ${median(rs.map((r) => r.cpu)).toFixed(1)} µs/req, p99 ${median(rs.map((r) => r.p99)).toFixed(2)} ms, ${Math.round(median(rs.map((r) => r.rps)))} rps`;
    if (rs[0]!.minorPer1k !== undefined) line += `, scavenges/1k ${median(rs.map((r) => r.minorPer1k!)).toFixed(2)}, gc ms/1k ${median(rs.map((r) => r.gcMsPer1k!)).toFixed(2)}`;
    const bare = bareFor(t);
    if (bare !== t) {
      const cpu = ratio(rs, results.get(bare.name)!, (r) => r.cpu);
      const p99 = ratio(rs, results.get(bare.name)!, (r) => r.p99);
      line += `\n    vs ${bare.name}: CPU ${median(cpu).toFixed(2)}× (rounds ${fmt(cpu)}), p99 ${median(p99).toFixed(2)}× (rounds ${fmt(p99)})`;
    }
    process.stdout.write(line + '\n');
  }
  if (values.compare) {
    const [a, b] = values.compare.split(',');
    const ra = results.get(a!);
    const rb = results.get(b!);
    if (!ra || !rb) throw new Error(`--compare names two targets: ${values.compare}`);
    const cpu = ratio(rb, ra, (r) => r.cpu);
    const p99 = ratio(rb, ra, (r) => r.p99);
    process.stdout.write(`${b} / ${a}: CPU ${median(cpu).toFixed(3)} (rounds ${fmt(cpu)}; lower in ${cpu.filter((x) => x < 1).length} of ${cpu.length}), p99 ${median(p99).toFixed(2)} (rounds ${fmt(p99)})\n`);
  }
}

try {
  await main();
} finally {
  await supervisor.stopAll();
}

/**
 * npm run bench:workers: Portcullis with 2 workers (gateway.workers: 2)
 * against Portcullis with 1 and nginx with 2 worker processes, all behind
 * the same nginx upstream, interleaved over several rounds on 127.0.0.1.
 * The bare Node proxy (bench/bare-proxy.ts) runs as 1 process and as 2
 * node:cluster workers in the same rounds: the floor's own gain from a
 * second core on this machine, beside Portcullis's.
 * Portcullis runs key-auth + rate-limit (memory store: with 2 workers the
 * supervisor lends each worker rate-limit units, docs/workers.md) + waf, with its access log
 * to a file; nginx proxies with its access log on. CPU µs/request is summed
 * over each server's processes (the supervisor and its workers; nginx's
 * master and workers). Prints the median of the rounds.
 *
 *   npm run build && npm run bench:workers -- [--duration S] [--rounds N] [--connections N] [--threads N] [--route chain|key-auth] [--baseline REPO] [--warmup S] [--quick] [--flags="NODE FLAGS"]
 *
 * --warmup S (default 2) is each target's wrk warm-up before the rounds: a
 * node of 2 workers splits it, so each worker is less warm than 1 worker.
 * --baseline REPO adds a 2-worker node run from another built tree (its
 * dist/cli.js), interleaved with the others: a before/after in one run.
 * --quick runs Portcullis alone (1 worker, 2 workers, the baseline).
 * --flags adds Portcullis 1 and 2 workers started with those node flags
 * (workers inherit them through node:cluster), interleaved with the others:
 * what a V8 setting does to the 2 / 1 gain, in one run.
 * Beside CPU, each target's event-loop wake-ups and write system calls per
 * request (from /proc), which the machine's load does not change.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startBareProxy } from './lib/bare.js';
import { cpuMicros, ownCpuMicros } from './lib/cpu.js';
import { startProxy, startUpstream } from './lib/nginx.js';
import { YOUNG_GENERATION_FLAG } from '../src/cluster/workers/worker-flags.js';
import { API_KEY, API_KEY_HEADER, CHAIN_HEADERS, CHAIN_PATH, startPortcullis } from './lib/portcullis.js';
import { Supervisor, type Started } from './lib/processes.js';
import { requireTool } from './lib/tools.js';
import { runWrk, writeWrkScript } from './lib/wrk.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));

interface Target {
  readonly label: string;
  readonly url: string;
  readonly process: Started;
  readonly headers: Record<string, string>;
}

interface Measure {
  rps: number;
  p99Ms: number;
  cpuUsPerReq: number;
  /** The supervisor's own share (its process alone), for a node of workers. */
  supervisorUsPerReq: number;
  errors: number;
  load: number;
  /** Event-loop wake-ups and write syscalls per request, all processes and the first one alone (Counts). */
  sleepsPerReq: number;
  writesPerReq: number;
  supervisorSleepsPerReq: number;
  supervisorWritesPerReq: number;
}

/**
 * Counts the machine's load does not change (per request, they say how the work is batched):
 * `sleeps`, the main threads' voluntary context switches (each a wait of the event loop that
 * blocked: a wake-up), and `writes`, write-family system calls (socket and IPC writes; IPC reads
 * use recvmsg, which /proc/PID/io does not count). Summed over pid and its direct children.
 */
interface Counts {
  sleeps: number;
  writes: number;
}

function countsOf(pid: number): Counts {
  const read = (path: string, field: string): number => {
    try {
      const m = new RegExp(`^${field}:\\s*(\\d+)`, 'm').exec(readFileSync(path, 'utf8'));
      return m ? Number(m[1]) : 0;
    } catch {
      return 0;
    }
  };
  return { sleeps: read(`/proc/${pid}/status`, 'voluntary_ctxt_switches'), writes: read(`/proc/${pid}/io`, 'syscw') };
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** [pid alone, pid and its children]. */
function treeCounts(pid: number): [Counts, Counts] {
  const own = countsOf(pid);
  const all = { ...own };
  for (const child of childPids(pid)) {
    const c = countsOf(child);
    all.sleeps += c.sleeps;
    all.writes += c.writes;
  }
  return [own, all];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { duration: { type: 'string' }, rounds: { type: 'string' }, connections: { type: 'string' }, threads: { type: 'string' }, route: { type: 'string' }, baseline: { type: 'string' }, warmup: { type: 'string' }, quick: { type: 'boolean' }, flags: { type: 'string' } },
  });
  const durationS = Number(values.duration ?? 10);
  const rounds = Number(values.rounds ?? 3);
  const connections = Number(values.connections ?? 50);
  const threads = Number(values.threads ?? 1);
  // chain (the issue's: key-auth + rate-limit + waf), or key-auth alone: no store operation, so no IPC per request.
  const route = values.route === 'key-auth' ? 'key-auth' : 'chain';
  const nginx = requireTool('nginx');
  const wrk = requireTool('wrk');
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-workers-'));
  const supervisor = new Supervisor();
  supervisor.installSignalHandlers();
  supervisor.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  try {
    const upstream = await startUpstream(supervisor, nginx, join(dir, 'upstream'));
    // --quick: Portcullis alone (1 worker, 2 workers, and the baseline's 2 workers), for A/Bs on a busy machine.
    const quick = values.quick === true;
    const proxy = quick ? undefined : await startProxy(supervisor, nginx, join(dir, 'nginx'), upstream.port, true, 2);
    // The floor's own gain from a second core on this machine, in the same rounds: what "2 workers / 1 worker" can reach here.
    const bareOne = quick ? undefined : await startBareProxy(supervisor, REPO, `http://127.0.0.1:${upstream.port}`, [], 1);
    const bareTwo = quick ? undefined : await startBareProxy(supervisor, REPO, `http://127.0.0.1:${upstream.port}`, [], 2);
    // One worker is one process, which gets no flag from a supervisor: given the workers' own young generation
    // (worker-flags.ts) so that 2 / 1 compares like with like.
    const one = await startPortcullis(supervisor, { repo: REPO, dir: join(dir, 'p1'), upstreamPort: upstream.port, accessLog: 'file', route, name: 'portcullis 1 worker', workers: 1, nodeArgs: [YOUNG_GENERATION_FLAG] });
    const two = await startPortcullis(supervisor, { repo: REPO, dir: join(dir, 'p2'), upstreamPort: upstream.port, accessLog: 'file', route, name: 'portcullis 2 workers', workers: 2 });
    // The same node with stdout a pipe: the supervisor relays every access line (as before the workers wrote files).
    const relayed = quick ? undefined : await startPortcullis(supervisor, { repo: REPO, dir: join(dir, 'p2r'), upstreamPort: upstream.port, accessLog: 'pipe', route, name: 'portcullis 2 workers relayed', workers: 2 });
    const baseline = values.baseline
      ? await startPortcullis(supervisor, { repo: values.baseline, dir: join(dir, 'p2b'), upstreamPort: upstream.port, accessLog: 'file', route, name: 'portcullis 2 workers baseline', workers: 2 })
      : undefined;
    const flags = values.flags ? values.flags.split(/\s+/).filter((f) => f !== '') : undefined;
    const flagged = flags
      ? [
          await startPortcullis(supervisor, { repo: REPO, dir: join(dir, 'p1f'), upstreamPort: upstream.port, accessLog: 'file', route, name: 'portcullis 1 worker flags', workers: 1, nodeArgs: flags }),
          await startPortcullis(supervisor, { repo: REPO, dir: join(dir, 'p2f'), upstreamPort: upstream.port, accessLog: 'file', route, name: 'portcullis 2 workers flags', workers: 2, nodeArgs: flags }),
        ]
      : undefined;
    // The workers of the 2-worker node start after its supervisor says where it listens: let them all come up.
    await new Promise((r) => setTimeout(r, 3000));
    const gatewayHeaders = { ...CHAIN_HEADERS, [API_KEY_HEADER]: API_KEY };
    const targets: Target[] = [];
    if (proxy) targets.push({ label: 'nginx proxy, 2 worker processes, access log', url: proxy.url, process: proxy.process, headers: { ...CHAIN_HEADERS } });
    if (bareOne && bareTwo) {
      targets.push({ label: 'bare Node proxy, 1 process', url: bareOne.url, process: bareOne.process, headers: { ...CHAIN_HEADERS } });
      targets.push({ label: 'bare Node proxy, 2 node:cluster workers', url: bareTwo.url, process: bareTwo.process, headers: { ...CHAIN_HEADERS } });
    }
    targets.push({ label: 'Portcullis, 1 worker', url: one.url, process: one.process, headers: gatewayHeaders });
    targets.push({ label: 'Portcullis, 2 workers', url: two.url, process: two.process, headers: gatewayHeaders });
    if (relayed) targets.push({ label: 'Portcullis, 2 workers, log relayed', url: relayed.url, process: relayed.process, headers: gatewayHeaders });
    if (baseline) targets.push({ label: `Portcullis, 2 workers, baseline ${values.baseline!}`, url: baseline.url, process: baseline.process, headers: gatewayHeaders });
    if (flagged) {
      targets.push({ label: `Portcullis, 1 worker, ${values.flags!}`, url: flagged[0]!.url, process: flagged[0]!.process, headers: gatewayHeaders });
      targets.push({ label: `Portcullis, 2 workers, ${values.flags!}`, url: flagged[1]!.url, process: flagged[1]!.process, headers: gatewayHeaders });
    }
    const script = writeWrkScript(dir);
    const results = new Map<string, Measure[]>(targets.map((t) => [t.label, []]));
    const warmupS = Number(values.warmup ?? 2);
    for (const t of targets) await runWrk(supervisor, wrk, script, { url: t.url + CHAIN_PATH, durationS: warmupS, connections, threads, headers: t.headers }); // warm-up
    for (let round = 0; round < rounds; round++) {
      for (const t of targets) {
        const before = cpuMicros(t.process.pid);
        const ownBefore = ownCpuMicros(t.process.pid);
        const [ownCounts, allCounts] = treeCounts(t.process.pid);
        const r = await runWrk(supervisor, wrk, script, { url: t.url + CHAIN_PATH, durationS, connections, threads, headers: t.headers });
        const cpu = cpuMicros(t.process.pid) - before;
        const own = ownCpuMicros(t.process.pid) - ownBefore;
        const [ownAfter, allAfter] = treeCounts(t.process.pid);
        const n = Math.max(1, r.requests);
        const m = {
          rps: r.rps,
          p99Ms: r.latencyUs.p99 / 1000,
          cpuUsPerReq: cpu / n,
          supervisorUsPerReq: own / n,
          errors: r.non2xx + Object.values(r.socketErrors).reduce((a, b) => a + b, 0),
          load: loadavg()[0]!,
          sleepsPerReq: (allAfter.sleeps - allCounts.sleeps) / n,
          writesPerReq: (allAfter.writes - allCounts.writes) / n,
          supervisorSleepsPerReq: (ownAfter.sleeps - ownCounts.sleeps) / n,
          supervisorWritesPerReq: (ownAfter.writes - ownCounts.writes) / n,
        };
        results.get(t.label)!.push(m);
        process.stderr.write(
          `round ${round + 1}: ${t.label}: ${Math.round(m.rps)} rps, p99 ${m.p99Ms.toFixed(2)} ms, ${m.cpuUsPerReq.toFixed(1)} µs CPU/req (first process ${m.supervisorUsPerReq.toFixed(1)}), wake-ups/req ${m.sleepsPerReq.toFixed(3)} (first ${m.supervisorSleepsPerReq.toFixed(3)}), writes/req ${m.writesPerReq.toFixed(3)} (first ${m.supervisorWritesPerReq.toFixed(3)}), ${m.errors} errors, load ${m.load.toFixed(1)}\n`,
        );
      }
    }
    const oneRps = median(results.get('Portcullis, 1 worker')!.map((m) => m.rps));
    // Per round, 2 workers over 1 worker measured back to back: the ratio the shared machine's load disturbs least.
    const ratios = results.get('Portcullis, 2 workers')!.map((m, i) => m.rps / results.get('Portcullis, 1 worker')![i]!.rps);
    const lines = [
      `route ${route}, wrk -t${threads} -c${connections} -d${durationS}s, ${rounds} rounds (median), ${warmupS} s warm-up each, ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
      '',
      '| target | rps | vs 1 worker | p99 ms | CPU µs/req (all processes) | of which the first process (nginx master, Portcullis supervisor) | event-loop wake-ups/req (first process) | write syscalls/req (first process) | errors |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ];
    for (const t of targets) {
      const ms = results.get(t.label)!;
      const rps = median(ms.map((m) => m.rps));
      lines.push(
        `| ${t.label} | ${Math.round(rps)} | ${(rps / oneRps).toFixed(2)}× | ${median(ms.map((m) => m.p99Ms)).toFixed(2)} | ${median(ms.map((m) => m.cpuUsPerReq)).toFixed(1)} | ${median(ms.map((m) => m.supervisorUsPerReq)).toFixed(1)} | ${median(ms.map((m) => m.sleepsPerReq)).toFixed(3)} (${median(ms.map((m) => m.supervisorSleepsPerReq)).toFixed(3)}) | ${median(ms.map((m) => m.writesPerReq)).toFixed(3)} (${median(ms.map((m) => m.supervisorWritesPerReq)).toFixed(3)}) | ${ms.reduce((n, m) => n + m.errors, 0)} |`,
      );
    }
    const bareTwoResults = results.get('bare Node proxy, 2 node:cluster workers');
    if (bareTwoResults) {
      const bareRatios = bareTwoResults.map((m, i) => m.rps / results.get('bare Node proxy, 1 process')![i]!.rps);
      lines.push('', `bare Node proxy, 2 workers / 1 process, per round: ${bareRatios.map((r) => `${r.toFixed(2)}×`).join(', ')} (median ${median(bareRatios).toFixed(2)}×)`);
    }
    const baseResults = baseline ? results.get(`Portcullis, 2 workers, baseline ${values.baseline!}`) : undefined;
    if (baseResults) {
      // The A/B: this tree's 2-worker node against the baseline's, round by round (the load moves less within a round).
      const cpu = results.get('Portcullis, 2 workers')!.map((m, i) => m.cpuUsPerReq / baseResults[i]!.cpuUsPerReq);
      lines.push(`Portcullis 2 workers, CPU µs/req this tree / baseline, per round: ${cpu.map((r) => r.toFixed(2)).join(', ')} (median ${median(cpu).toFixed(2)})`);
    }
    if (flagged) {
      const two = results.get(`Portcullis, 2 workers, ${values.flags!}`)!;
      const flaggedRatios = two.map((m, i) => m.rps / results.get(`Portcullis, 1 worker, ${values.flags!}`)![i]!.rps);
      lines.push(`Portcullis with ${values.flags!}, 2 workers / 1 worker, per round: ${flaggedRatios.map((r) => `${r.toFixed(2)}×`).join(', ')} (median ${median(flaggedRatios).toFixed(2)}×)`);
    }
    lines.push(`Portcullis 2 workers / 1 worker, per round: ${ratios.map((r) => `${r.toFixed(2)}×`).join(', ')} (median ${median(ratios).toFixed(2)}×); load (1 min) per round: ${results.get('Portcullis, 1 worker')!.map((m) => m.load.toFixed(1)).join(', ')}`);
    // The 2-worker node's access log is one stream: its size says the relay kept up.
    lines.push('', `access log of the 2-worker node: ${(statSync(two.accessLog!).size / 1048576).toFixed(1)} MiB, one file`);
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await supervisor.stopAll();
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`bench:workers: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});

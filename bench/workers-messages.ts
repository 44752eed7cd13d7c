/**
 * What a 2-worker node's supervisor answers, message by message, under wrk
 * (the chain: key-auth + rate-limit + waf, access log to a file): strace
 * records the supervisor's writes for a few seconds, and each store answer
 * is read back: how many answers per request, how many operations they
 * carry, how many carry a lease (a renewal or a hit that got one), and how
 * many requests asked the supervisor themselves (a `lease.hit` answered
 * without a lease: the request waited a round trip). Counts, not timings:
 * strace slows the node, so read them as a comparison between trees run the
 * same way, one after the other.
 *
 *   npm run build && node --import tsx bench/workers-messages.ts [--duration S] [--baseline REPO]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startUpstream } from './lib/nginx.js';
import { API_KEY, API_KEY_HEADER, CHAIN_HEADERS, CHAIN_PATH, startPortcullis } from './lib/portcullis.js';
import { Supervisor } from './lib/processes.js';
import { requireTool } from './lib/tools.js';
import { runWrk, writeWrkScript } from './lib/wrk.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));

interface Tally {
  answers: number;
  ops: number;
  leases: number;
  asked: number;
  unread: number;
}

/** The supervisor's store answers in an strace -s log of its writes. */
function tally(log: string): Tally {
  const t: Tally = { answers: 0, ops: 0, leases: 0, asked: 0, unread: 0 };
  for (const line of log.split('\n')) {
    const at = line.indexOf('{\\"t\\":\\"store-r\\"');
    if (at < 0) continue;
    t.answers++;
    let json: { r: unknown[][] };
    try {
      json = JSON.parse(JSON.parse(line.slice(line.indexOf('"', at - 1), line.lastIndexOf('"') + 1)) as string) as { r: unknown[][] };
    } catch {
      // Longer than strace's -s: counted as an answer, its operations not.
      t.unread++;
      continue;
    }
    for (const answer of json.r) {
      t.ops++;
      const value = answer[1] as { lease?: unknown; allowed?: unknown } | null;
      if (value && typeof value === 'object' && 'lease' in value) t.leases++;
      else if (value && typeof value === 'object' && 'allowed' in value) t.asked++;
    }
  }
  return t;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { duration: { type: 'string' }, baseline: { type: 'string' } } });
  const durationS = Number(values.duration ?? 5);
  const nginx = requireTool('nginx');
  const wrk = requireTool('wrk');
  const strace = requireTool('strace');
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-messages-'));
  const supervisor = new Supervisor();
  supervisor.installSignalHandlers();
  supervisor.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  try {
    const upstream = await startUpstream(supervisor, nginx, join(dir, 'upstream'));
    const script = writeWrkScript(dir);
    const headers = { ...CHAIN_HEADERS, [API_KEY_HEADER]: API_KEY };
    const trees = [REPO, ...(values.baseline ? [values.baseline] : [])];
    process.stdout.write('| tree | requests | load | store answers per 1,000 requests | operations per answer | with a lease | requests that asked, per 1,000 | answers too long to read |\n|---|---:|---:|---:|---:|---:|---:|---:|\n');
    for (const [i, repo] of trees.entries()) {
      const node = await startPortcullis(supervisor, { repo, dir: join(dir, `n${i}`), upstreamPort: upstream.port, accessLog: 'file', route: 'chain', workers: 2, name: `node ${i}` });
      await new Promise((r) => setTimeout(r, 3000));
      await runWrk(supervisor, wrk, script, { url: node.url + CHAIN_PATH, durationS: 3, connections: 50, threads: 1, headers });
      const log = join(dir, `supervisor-${i}.strace`);
      const tracer = spawn(strace, ['-e', 'trace=write', '-s', '65536', '-o', log, '-p', String(node.process.pid)], { stdio: 'ignore' });
      const traced = new Promise((resolve) => tracer.on('exit', resolve));
      await new Promise((r) => setTimeout(r, 500));
      const r = await runWrk(supervisor, wrk, script, { url: node.url + CHAIN_PATH, durationS, connections: 50, threads: 1, headers });
      // Only the strace this run started, by its pid.
      if (tracer.pid !== undefined) process.kill(tracer.pid, 'SIGINT');
      await traced;
      const t = tally(readFileSync(log, 'utf8'));
      const per = (n: number) => ((n * 1000) / Math.max(1, r.requests)).toFixed(1);
      process.stdout.write(`| ${repo} | ${r.requests} | ${loadavg()[0]!.toFixed(1)} | ${per(t.answers)} | ${(t.ops / Math.max(1, t.answers)).toFixed(2)} | ${t.leases} | ${per(t.asked)} | ${t.unread} |\n`);
      process.kill(node.process.pid, 'SIGTERM');
      await node.process.exited;
    }
  } finally {
    await supervisor.stopAll();
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});

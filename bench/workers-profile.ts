/**
 * Where a node of workers spends its CPU, against one worker: the chain
 * (key-auth + rate-limit + waf + access log) under wrk, with --cpu-prof in
 * every process (supervisor and workers), then a second run counting
 * syscalls per process with strace -c. Profiles and strace reports land in
 * the directory given (summarize a profile with bench/profile.ts).
 *
 *   npm run build && node --import tsx bench/workers-profile.ts OUT_DIR [--duration S]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuMicros, ownCpuMicros } from './lib/cpu.js';
import { startUpstream } from './lib/nginx.js';
import { API_KEY, API_KEY_HEADER, CHAIN_HEADERS, CHAIN_PATH, startPortcullis } from './lib/portcullis.js';
import { Supervisor } from './lib/processes.js';
import { requireTool } from './lib/tools.js';
import { runWrk, writeWrkScript } from './lib/wrk.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { duration: { type: 'string' } }, allowPositionals: true });
  const out = positionals[0] ?? '/tmp/portcullis-workers-profile';
  const durationS = Number(values.duration ?? 10);
  mkdirSync(out, { recursive: true });
  const nginx = requireTool('nginx');
  const wrk = requireTool('wrk');
  const strace = requireTool('strace');
  const supervisor = new Supervisor();
  supervisor.installSignalHandlers();
  try {
    const upstream = await startUpstream(supervisor, nginx, join(out, 'upstream'));
    const script = writeWrkScript(out);
    const headers = { ...CHAIN_HEADERS, [API_KEY_HEADER]: API_KEY };
    for (const workers of [1, 2]) {
      for (const mode of ['prof', 'strace'] as const) {
        const dir = join(out, `w${workers}-${mode}`);
        const nodeArgs = mode === 'prof' ? ['--cpu-prof', '--cpu-prof-dir', join(dir, 'prof')] : [];
        const node = await startPortcullis(supervisor, { repo: REPO, dir, upstreamPort: upstream.port, accessLog: 'file', route: 'chain', workers, nodeArgs, name: `w${workers}-${mode}` });
        await new Promise((r) => setTimeout(r, 3000));
        await runWrk(supervisor, wrk, script, { url: node.url + CHAIN_PATH, durationS: 2, connections: 50, threads: 1, headers });
        const pid = node.process.pid;
        const pids = workers === 1 ? [pid] : [pid, ...childrenOf(pid)];
        let tracer: ChildProcess | undefined;
        let traced: Promise<number | null> | undefined;
        if (mode === 'strace') {
          const args = ['-c', '-f', '-o', join(dir, 'strace.txt'), ...pids.flatMap((p) => ['-p', String(p)])];
          const t = (tracer = spawn(strace, args, { stdio: 'ignore' }));
          traced = new Promise((resolve) => t.on('exit', (code) => resolve(code)));
          await new Promise((r) => setTimeout(r, 500));
        }
        const before = pids.map(cpuMicros);
        const own = pids.map(ownCpuMicros);
        const r = await runWrk(supervisor, wrk, script, { url: node.url + CHAIN_PATH, durationS, connections: 50, threads: 1, headers });
        const per = pids.map((p, i) => ((workers === 1 ? cpuMicros(p) - before[i]! : ownCpuMicros(p) - own[i]!) / r.requests).toFixed(1));
        process.stdout.write(`${workers} worker(s), ${mode}: ${Math.round(r.rps)} rps, ${r.requests} requests, p99 ${(r.latencyUs.p99 / 1000).toFixed(1)} ms, CPU µs/req per process [${per.join(', ')}] (pids ${pids.join(', ')}), load ${loadavg()[0]!.toFixed(1)}\n`);
        // Only the strace this run started, by its pid.
        if (tracer?.pid !== undefined) process.kill(tracer.pid, 'SIGINT');
        process.kill(pid, 'SIGTERM');
        await node.process.exited;
        if (traced) process.stdout.write(`  strace exited ${await traced}: ${join(dir, 'strace.txt')}\n`);
        if (mode === 'prof') process.stdout.write(`  profiles: ${readdirSync(join(dir, 'prof')).join(', ')}\n`);
      }
    }
  } finally {
    await supervisor.stopAll();
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});

/**
 * Where a 2-worker node's extra CPU per request comes from: the chain
 * (request-size + key-auth + rate-limit + waf, access log to a file) and the
 * same chain without its rate-limit (the only policy that touches the node's
 * store), each on 1 worker and on 2, interleaved round by round. If the rise
 * from 1 to 2 workers is the same with and without the rate-limit, the store
 * (leases, IPC) is not what costs it.
 *
 *   npm run build && node --import tsx bench/workers-split.ts [--rounds N] [--duration S] [--warmup S] [--variants A,B]
 *
 * Variants: chain, chain without rate-limit, chain without waf, chain without
 * rate-limit and waf, key-auth.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuMicros } from './lib/cpu.js';
import { startUpstream } from './lib/nginx.js';
import { API_KEY, API_KEY_HEADER, CHAIN_HEADERS, CHAIN_PATH, startPortcullis } from './lib/portcullis.js';
import { Supervisor } from './lib/processes.js';
import { requireTool } from './lib/tools.js';
import { runWrk, writeWrkScript } from './lib/wrk.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));

/** Each variant: the chain route with these policies taken out (key-auth: the key-auth route as is). */
const VARIANTS: Record<string, string[]> = {
  chain: [],
  'chain without rate-limit': ['rate-limit'],
  'chain without waf': ['waf'],
  'chain without rate-limit and waf': ['rate-limit', 'waf'],
  'key-auth': [],
};

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string' }, duration: { type: 'string' }, warmup: { type: 'string' }, variants: { type: 'string' } } });
  const variants = (values.variants ?? 'chain,chain without rate-limit').split(',');
  for (const v of variants) if (!VARIANTS[v]) throw new Error(`unknown variant ${v} (${Object.keys(VARIANTS).join(', ')})`);
  const rounds = Number(values.rounds ?? 3);
  const durationS = Number(values.duration ?? 8);
  const warmupS = Number(values.warmup ?? 5);
  const nginx = requireTool('nginx');
  const wrk = requireTool('wrk');
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-split-'));
  const supervisor = new Supervisor();
  supervisor.installSignalHandlers();
  supervisor.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  try {
    const upstream = await startUpstream(supervisor, nginx, join(dir, 'upstream'));
    const targets: Array<{ label: string; url: string; pid: number }> = [];
    for (const variant of variants) {
      for (const workers of [1, 2]) {
        const name = `${variant}, ${workers} worker${workers > 1 ? 's' : ''}`;
        const sub = join(dir, `${variant.replace(/\W+/g, '-')}-${workers}`);
        const node = await startPortcullis(supervisor, { repo: REPO, dir: sub, upstreamPort: upstream.port, accessLog: 'file', route: variant === 'key-auth' ? 'key-auth' : 'chain', workers, name });
        const drop = VARIANTS[variant]!;
        if (drop.length > 0) {
          // The same config with these policies' lines taken out, reloaded (SIGHUP) before the rounds.
          const original = readFileSync(node.configFile, 'utf8');
          let text = original;
          for (const policy of drop) text = text.replace(new RegExp(`^\\s*- ${policy}:.*\\n`, 'm'), '');
          if (text === original) throw new Error(`${variant}: no policy line taken out`);
          writeFileSync(node.configFile, text);
          process.kill(node.process.pid, 'SIGHUP');
        }
        targets.push({ label: name, url: node.url, pid: node.process.pid });
      }
    }
    await new Promise((r) => setTimeout(r, 3000));
    const script = writeWrkScript(dir);
    const headers = { ...CHAIN_HEADERS, [API_KEY_HEADER]: API_KEY };
    for (const t of targets) await runWrk(supervisor, wrk, script, { url: t.url + CHAIN_PATH, durationS: warmupS, connections: 50, threads: 1, headers });
    const cpu = new Map<string, number[]>(targets.map((t) => [t.label, []]));
    const rps = new Map<string, number[]>(targets.map((t) => [t.label, []]));
    for (let round = 0; round < rounds; round++) {
      for (const t of targets) {
        const before = cpuMicros(t.pid);
        const r = await runWrk(supervisor, wrk, script, { url: t.url + CHAIN_PATH, durationS, connections: 50, threads: 1, headers });
        const us = (cpuMicros(t.pid) - before) / Math.max(1, r.requests);
        cpu.get(t.label)!.push(us);
        rps.get(t.label)!.push(r.rps);
        process.stderr.write(`round ${round + 1}: ${t.label}: ${Math.round(r.rps)} rps, ${us.toFixed(1)} µs CPU/req, ${r.non2xx} non-2xx, load ${loadavg()[0]!.toFixed(1)}\n`);
      }
    }
    const ratio = (a: string, b: string) => median(cpu.get(a)!.map((v, i) => v / cpu.get(b)![i]!));
    const lines = [`${rounds} rounds of ${durationS} s, wrk -c50, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`, '', '| target | rps | CPU µs/req |', '|---|---:|---:|'];
    for (const t of targets) lines.push(`| ${t.label} | ${Math.round(median(rps.get(t.label)!))} | ${median(cpu.get(t.label)!).toFixed(1)} |`);
    lines.push('', `CPU/req, 2 workers / 1 worker (median of per-round ratios): ${variants.map((v) => `${v} ${ratio(`${v}, 2 workers`, `${v}, 1 worker`).toFixed(2)}`).join('; ')}`);
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await supervisor.stopAll();
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});

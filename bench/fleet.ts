/**
 * npm run bench:fleet [-- --nodes 50 --rounds 10 --consumers 200]
 *
 * One control plane (`portcullis start`, its own process) and N simulated
 * data planes in this process: each enrols with its own one-time token, then
 * keeps the long poll open and reports every 5 s, as a data plane does (they
 * do not run a gateway: what is measured is the control plane's side). Each
 * round edits the control plane's file (a consumer added or removed) and
 * sends SIGHUP; the figures are:
 *   - fan-out: from the control plane's "new config version pushed" log line
 *     to each node's receipt of the whole new version (same clock, loopback);
 *   - end to end: from the SIGHUP to each receipt (adds the control plane's
 *     own reload: read, validate, compile);
 *   - control plane CPU (utime + stime from /proc) per push, and idle per
 *     second with every node's poll held open.
 * docs/fleet.md#how-many-data-planes-one-control-plane-serves quotes a run.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { Agent } from 'node:https';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CertificateAuthority } from '../src/ca/authority.js';
import { hashText } from '../src/cluster/fleet/document.js';
import { call, fleetAgent } from '../src/cluster/fleet/http.js';
import { PATHS, type Credentials } from '../src/cluster/fleet/protocol.js';
import { createToken } from '../src/cluster/fleet/tokens.js';
import { makeRequest } from '../src/cluster/fleet/csr.js';
import { cpuMicros } from './lib/cpu.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { nodes: { type: 'string', default: '50' }, rounds: { type: 'string', default: '10' }, consumers: { type: 'string', default: '200' } } });
const NODES = Number(values.nodes);
const ROUNDS = Number(values.rounds);
const CONSUMERS = Number(values.consumers);

function cpConfig(dir: string, round: number): string {
  const consumers = Array.from({ length: CONSUMERS + (round % 2) }, (_, i) => `  - { name: c${i}, credentials: { key-auth: [{ key: "key-${i}-0123456789abcdef" }] } }`).join('\n');
  return `
listeners: [{ name: main, address: "127.0.0.1:0" }]
gateway: { access_log: false }
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes: [{ name: api, service: s, match: { paths: [/api] }, policies: [{ key-auth: {} }] }]
consumers:
${consumers}
fleet:
  role: control_plane
  address: "127.0.0.1:0"
  state_dir: ${join(dir, 'cp-state')}
  ca: { cert: ${join(dir, 'ca.crt')}, key: ${join(dir, 'ca.key')} }
`;
}

interface Sim {
  name: string;
  agent: Agent;
  hash: string | undefined;
  received: Map<string, number>;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function describe(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  return `p50 ${quantile(s, 0.5).toFixed(1)} ms, p95 ${quantile(s, 0.95).toFixed(1)} ms, max ${s.at(-1)!.toFixed(1)} ms`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-fleet-'));
  const { authority, keyPem } = await CertificateAuthority.create({ name: 'bench fleet CA' });
  writeFileSync(join(dir, 'ca.crt'), authority.certPem);
  writeFileSync(join(dir, 'ca.key'), keyPem, { mode: 0o600 });
  const cpFile = join(dir, 'cp.yaml');
  writeFileSync(cpFile, cpConfig(dir, 0));

  const cp = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start', '-c', cpFile], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  const pushedAt = new Map<number, number>();
  let stdout = '';
  cp.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    let nl: number;
    while ((nl = stdout.indexOf('\n')) >= 0) {
      const line = stdout.slice(0, nl);
      stdout = stdout.slice(nl + 1);
      try {
        const entry = JSON.parse(line) as { msg?: string; time?: number | string; revision?: number };
        if (entry.msg === 'fleet: new config version pushed' && entry.revision && entry.time) pushedAt.set(entry.revision, typeof entry.time === 'string' ? Date.parse(entry.time) : entry.time);
      } catch {
        // not a log line
      }
    }
  });
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    cp.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /control plane on (https:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    cp.on('exit', () => reject(new Error(`control plane exited:\n${err}`)));
  });
  const base = new URL(url);
  const pid = cp.pid!;

  // Enrolment: one token each, as an operator would make them.
  const enrolStart = performance.now();
  const sims: Sim[] = [];
  for (let i = 0; i < NODES; i++) {
    const name = `sim-${i}`;
    const { token } = createToken(join(dir, 'cp-state'), 600_000, name);
    const enrolAgent = fleetAgent({ ca: authority.certPem });
    const request = await makeRequest(name);
    const answer = await call(enrolAgent, base, 'POST', PATHS.enrol, { body: JSON.stringify({ token, name, csr: request.csrPem }), timeoutMs: 10_000, limit: 65_536 });
    enrolAgent.destroy();
    if (answer.status !== 200) throw new Error(`enrolment ${answer.status}: ${answer.body.toString()}`);
    const creds = JSON.parse(answer.body.toString()) as Credentials;
    sims.push({ name, agent: fleetAgent({ ca: authority.certPem, cert: creds.cert, key: request.keyPem }), hash: undefined, received: new Map() });
  }
  const enrolMs = performance.now() - enrolStart;

  let stopping = false;
  const polls = sims.map(async (sim) => {
    while (!stopping) {
      try {
        const answer = await call(sim.agent, base, 'GET', PATHS.config, { headers: sim.hash ? { 'if-none-match': `"${sim.hash}"` } : {}, timeoutMs: 90_000, limit: 16 * 1024 * 1024 });
        if (answer.status === 200) {
          const hash = hashText(answer.body.toString('utf8'));
          sim.received.set(hash, Date.now());
          sim.hash = hash;
        }
      } catch {
        if (!stopping) await new Promise((r) => setTimeout(r, 100));
      }
    }
  });
  const reports = setInterval(() => {
    for (const sim of sims) {
      void call(sim.agent, base, 'POST', PATHS.report, { body: JSON.stringify({ hash: sim.hash, version: 1, ready: true, requests: { '2xx': 1 }, started_at: new Date().toISOString() }), timeoutMs: 10_000, limit: 4096 }).catch(() => {});
    }
  }, 5_000);

  const until = async (check: () => boolean) => {
    while (!check()) await new Promise((r) => setTimeout(r, 2));
  };
  await until(() => sims.every((s) => s.hash !== undefined));
  const payload = (await call(sims[0]!.agent, base, 'GET', PATHS.config, { timeoutMs: 10_000, limit: 16 * 1024 * 1024 })).body.length;

  // Idle: every poll held open, reports flowing.
  await new Promise((r) => setTimeout(r, 1_000));
  const idleCpu0 = cpuMicros(pid);
  const idleT0 = performance.now();
  await new Promise((r) => setTimeout(r, 10_000));
  const idlePerSecondMs = (cpuMicros(pid) - idleCpu0) / 1000 / ((performance.now() - idleT0) / 1000);

  const fanOut: number[] = [];
  const endToEnd: number[] = [];
  const cpuPerPush: number[] = [];
  const spread: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    writeFileSync(cpFile, cpConfig(dir, round));
    const expected = round + 1; // revision 1 is the start
    const cpu0 = cpuMicros(pid);
    const sent = Date.now();
    process.kill(pid, 'SIGHUP');
    await until(() => pushedAt.has(expected));
    const pushed = pushedAt.get(expected)!;
    await until(() => sims.every((s) => [...s.received.values()].some((t) => t >= pushed)));
    cpuPerPush.push((cpuMicros(pid) - cpu0) / 1000);
    const times = sims.map((s) => Math.max(...s.received.values()));
    for (const t of times) {
      fanOut.push(t - pushed);
      endToEnd.push(t - sent);
    }
    spread.push(Math.max(...times) - Math.min(...times));
    await new Promise((r) => setTimeout(r, 500));
  }

  stopping = true;
  clearInterval(reports);
  for (const sim of sims) sim.agent.destroy();
  await Promise.all(polls);
  cp.kill('SIGTERM');

  const cpuSorted = [...cpuPerPush].sort((a, b) => a - b);
  console.log(`fleet bench: ${NODES} simulated data planes, ${ROUNDS} pushes of a ${(payload / 1024).toFixed(1)} KiB config (${CONSUMERS} consumers), node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}, ${new Date().toISOString()}`);
  console.log(`  enrolment (sequential, certificate issued each): ${(enrolMs / NODES).toFixed(1)} ms per node`);
  console.log(`  fan-out (pushed → received, every node):        ${describe(fanOut)}`);
  console.log(`  end to end (SIGHUP → received, with reload):    ${describe(endToEnd)}`);
  console.log(`  first to last node, per push:                   ${describe(spread)}`);
  console.log(`  control plane CPU per push (reload + fan-out):  p50 ${quantile(cpuSorted, 0.5).toFixed(1)} ms, max ${cpuSorted.at(-1)!.toFixed(1)} ms`);
  console.log(`  control plane CPU idle, ${NODES} polls held + reports every 5 s: ${idlePerSecondMs.toFixed(2)} ms per second`);
}

await main();

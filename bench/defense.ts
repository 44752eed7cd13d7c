/**
 * What automatic defense costs a request that triggers nothing, in ns of
 * CPU per request, measured on the hooks the handler calls (DefenseGate:
 * screen before routing, admit after the pipeline, ended when the request is
 * over) rather than end to end: on a shared 2-core machine a whole-proxy
 * bench moves by tens of µs between rounds, far more than the 2 µs bar.
 * Three cases against the same hooks with no `defense` section:
 *   - the five ready playbooks of docs/defense.md on, nothing in force;
 *   - the same with 1,000 addresses blocked and 100 consumer actions in force;
 * each for a proxied, key-authenticated GET answered 200 with no security event.
 * Run: npm run bench:defense
 */
import { cpuUsage } from 'node:process';
import pino from 'pino';
import type { RequestContext } from '../src/pipeline/context.js';
import { EventBus } from '../src/telemetry/event.js';
import { DynamicDenyList } from '../src/defense/deny-list.js';
import { DefenseEngine } from '../src/defense/engine.js';
import { DefenseGate } from '../src/defense/gate.js';
import { memoryStores } from '../src/stores/memory.js';
import type { DefenseConfig } from '../src/config/defense.js';
import { median } from './lib/stats.js';

const N = Number(process.env.BENCH_CALLS ?? 2_000_000);
const REPEATS = 7;
const logger = pino({ level: 'silent' });

const defense: DefenseConfig = {
  detections: [
    { name: 'brute-force', mode: 'enforce', match: { events: ['auth.invalid_credentials', 'auth.malformed_credentials'], statuses: [], routes: [] }, key: 'ip', threshold: { count: 20, window: '1m' }, playbook: 'p' },
    { name: 'stuffing', mode: 'enforce', match: { events: ['auth.invalid_credentials'], statuses: [], routes: [] }, key: 'ip', distinct: { of: 'attempted_credential', count: 50, window: '10m' }, playbook: 'p' },
    { name: 'scanner', mode: 'enforce', match: { events: [], statuses: [404], routes: [] }, key: 'ip', threshold: { count: 30, window: '1m' }, playbook: 'p' },
    { name: 'abusive', mode: 'enforce', match: { events: ['authz.*', 'rate_limit.exceeded'], statuses: [], routes: [] }, key: 'consumer', threshold: { count: 5, window: '10m' }, playbook: 'p' },
  ],
  playbooks: [{ name: 'p', actions: [{ block: { duration: '10m' } }] }],
  allowlist: { cidrs: ['10.0.0.0/8'], consumers: [] },
  notifiers: { webhooks: [], email: [] },
  ipv6_prefix: 64,
  max_actions: 10_000,
  max_actions_per_minute: 120,
  resync: '5s',
};

/** What the handler's RequestContext holds after a proxied, key-authenticated GET with no refusal. */
function context(i: number): RequestContext {
  return {
    clientIp: `198.51.100.${i % 250}`,
    routeName: 'api',
    path: '/api/orders',
    consumer: { name: `consumer-${i % 50}`, groups: [], metadata: {} },
    credentialId: `key-${i % 50}`,
    attemptedCredential: undefined,
    events: undefined,
    clientCertificate: undefined,
  } as unknown as RequestContext;
}

async function gateFor(config: DefenseConfig | undefined, inForce: boolean): Promise<DefenseGate> {
  const stores = memoryStores(logger);
  const denyList = new DynamicDenyList();
  const engine = new DefenseEngine({ stores: () => stores, denyList, events: new EventBus('bench'), audit: () => undefined, logger });
  await engine.configure(config);
  if (inForce) {
    for (let i = 0; i < 1000; i++) await engine.ban({ target: `203.0.${i >> 8}.${i & 255}`, duration: '1h' }, 'bench');
    for (let i = 0; i < 100; i++) await engine.ban({ kind: 'suspend', scope: 'consumer', target: `other-${i}`, duration: '1h' }, 'bench');
  }
  engine.ledger.stop();
  return new DefenseGate(engine, denyList, () => stores);
}

function cpuNsPerRequest(gate: DefenseGate, contexts: RequestContext[]): number {
  const samples: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const before = cpuUsage();
    for (let i = 0; i < N; i++) {
      const ctx = contexts[i & 1023]!;
      gate.screen(ctx);
      void gate.admit(ctx); // synchronous here: no tighter limit is in force
      gate.ended(ctx, 200);
    }
    const used = cpuUsage(before);
    samples.push(((used.user + used.system) * 1000) / N);
  }
  return median(samples);
}

const contexts = Array.from({ length: 1024 }, (_, i) => context(i));
const off = await gateFor(undefined, false);
const on = await gateFor(defense, false);
const busy = await gateFor(defense, true);
// Warm up every path before measuring.
for (const g of [off, on, busy]) cpuNsPerRequest(g, contexts);
const base = cpuNsPerRequest(off, contexts);
const idle = cpuNsPerRequest(on, contexts);
const loaded = cpuNsPerRequest(busy, contexts);
console.log(`defense hooks, per request that triggers nothing (median of ${REPEATS} x ${N}):`);
console.log(`  no defense section:                           ${base.toFixed(1)} ns`);
console.log(`  4 detections on, nothing in force:            ${idle.toFixed(1)} ns  (+${(idle - base).toFixed(1)} ns)`);
console.log(`  4 detections, 1,000 blocks + 100 suspensions: ${loaded.toFixed(1)} ns  (+${(loaded - base).toFixed(1)} ns)`);
process.exit(0);

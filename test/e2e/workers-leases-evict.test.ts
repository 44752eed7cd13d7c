/**
 * Red team (session 6): a key-spraying client against rate-limit leases
 * (src/cluster/workers/lease-host.ts) on a node of 2 workers (`portcullis
 * start`, PORTCULLIS_WORKERS=2, real upstream). The store's ordinary pool
 * evicts its oldest entry past max_keys; a client that sprays fresh keys
 * evicts a victim key's count while workers still hold leases lent from it.
 * The units those leases did not use were then credited back to the key's
 * NEW entry, which never counted them: every recall after the eviction
 * subtracted them again, so the node admitted a lease's worth more than the
 * limit on top of what the eviction itself restarts. Now a lease's unused
 * units go back only to the entry they were counted in.
 * In EXCLUSIVE (test/all.test.ts): three processes under load.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { startCli, type RunningCli } from '../helpers/cli.js';
import { writeConfig } from '../helpers/gateway.js';
import { freePort } from '../helpers/redis.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { LEND_SHARE, MAX_LEASE } from '../../src/cluster/workers/lease-host.js';

const SPAWN_MS = 120_000;
const LIMIT = 300;
const MAX_KEYS = 1000;

/** A window whose next boundary is at least a day away, so that no count restarts during the test. */
function window(): string {
  for (const days of [29, 30, 31]) {
    const ms = days * 86_400_000;
    if (ms - (Date.now() % ms) > 86_400_000) return `${days}d`;
  }
  throw new Error('unreachable: three window lengths cannot all end within a day');
}

function get(port: number, key: string, agent: Agent | false): Promise<number> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/spray', agent, headers: { 'x-key': key } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

async function load(port: number, keys: (i: number) => string, n: number, concurrency: number, agent: Agent | false): Promise<Record<number, number>> {
  const out: Record<number, number> = {};
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const status = await get(port, keys(next++), agent);
        out[status] = (out[status] ?? 0) + 1;
      }
    }),
  );
  return out;
}

describe('rate-limit leases over 2 workers: a key-spraying client evicting a leased key', () => {
  let upstream: TestUpstream;
  let node: RunningCli;
  let port: number;
  const agents: Agent[] = [];

  before(async () => {
    upstream = await startUpstream((_req, res) => res.end('ok'));
    port = await freePort();
    const file = writeConfig(`
gateway: { drain_delay: 0s, shutdown_timeout: 5s }
store: { kind: memory, max_keys: ${MAX_KEYS} }
listeners: [{ name: main, address: "127.0.0.1:${port}" }]
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: spray
    service: s
    public: true
    match: { paths: [/spray] }
    policies: [{ rate-limit: { limit: ${LIMIT}, window: ${window()}, algorithm: fixed-window, by: "header:x-key" } }]
`);
    node = startCli(['start', '-c', file], { env: { ...process.env, PORTCULLIS_WORKERS: '2' } });
    await node.waitFor('portcullis: 2 workers', SPAWN_MS);
  });
  after(async () => {
    for (const agent of agents) agent.destroy();
    node.child.kill('SIGKILL');
    await upstream.close();
  });

  it('admits no more after the eviction than a fresh count plus the units already counted by one lease', async () => {
    // The victim key first (the pool's oldest entry): one request on each of 8 new connections, so both workers are lent part of it.
    assert.deepEqual(await load(port, () => 'victim', 8, 8, false), { 200: 8 });
    // The spray: more fresh keys than the pool holds, so the victim's count is evicted while both leases are out.
    assert.deepEqual(await load(port, (i) => `spray-${i}`, MAX_KEYS + 50, 8, false), { 200: MAX_KEYS + 50 });
    // Then the victim on one connection (one worker): the fresh count admits LIMIT, and that worker may still use
    // what is left of its own lease (units counted before the eviction). The other worker's lease is recalled
    // when the fresh count is reached: its unused units were counted in the evicted entry, not in this one.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    const after = await load(port, () => 'victim', LIMIT + 150, 1, agent);
    const ownLease = Math.min(MAX_LEASE, Math.floor((LIMIT - 1) / LEND_SHARE));
    const admitted = after[200] ?? 0;
    assert.ok(admitted >= LIMIT, `admitted ${admitted}: the fresh count's ${LIMIT} at least`);
    assert.ok(admitted <= LIMIT + ownLease, `admitted ${admitted} after the eviction: more than ${LIMIT} + one lease (${ownLease})`);
  });
});

/**
 * Rate-limit leases across workers (src/cluster/workers/lease-host.ts), with
 * real processes: `portcullis start` with PORTCULLIS_WORKERS=2 and a real
 * upstream. A worker admits from units the supervisor lent it; the node
 * still admits exactly the limit: under concurrent load over both workers
 * (fixed and sliding windows), when one worker holds a lease and all the
 * rest of the traffic goes to the other (the lease is recalled before
 * anyone is refused), and after a worker holding a lease is SIGKILLed (its
 * unused units are lost: fewer admitted, by at most its lease, never more).
 * In EXCLUSIVE (test/all.test.ts): three processes under load.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { childCliPids, startCli, type RunningCli } from '../helpers/cli.js';
import { writeConfig } from '../helpers/gateway.js';
import { freePort } from '../helpers/redis.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { LEND_SHARE, MAX_LEASE } from '../../src/cluster/workers/lease-host.js';

const SPAWN_MS = 120_000;
const WORKERS = 2;

/** A window whose next boundary is at least a day away, so that no count restarts during the test. */
function window(): string {
  for (const days of [29, 30, 31]) {
    const ms = days * 86_400_000;
    if (ms - (Date.now() % ms) > 86_400_000) return `${days}d`;
  }
  throw new Error('unreachable: three window lengths cannot all end within a day');
}

/** One request; `agent: false` opens a connection of its own (node:cluster hands each new connection to the next worker). */
function get(port: number, path: string, agent: Agent | false): Promise<number> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/** `n` requests, `concurrency` at a time, over one keep-alive agent (or new connections); a tally by status. */
async function load(port: number, path: string, n: number, concurrency: number, agent: Agent | false): Promise<Record<number, number>> {
  const out: Record<number, number> = {};
  let left = n;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left > 0) {
        left--;
        const status = await get(port, path, agent);
        out[status] = (out[status] ?? 0) + 1;
      }
    }),
  );
  return out;
}


describe(`rate-limit leases over ${WORKERS} workers: the limit stays exact`, () => {
  let upstream: TestUpstream;
  let node: RunningCli;
  let port: number;
  const agents: Agent[] = [];
  const keepAlive = (sockets: number) => {
    const agent = new Agent({ keepAlive: true, maxSockets: sockets });
    agents.push(agent);
    return agent;
  };

  before(async () => {
    upstream = await startUpstream((_req, res) => res.end('ok'));
    port = await freePort();
    const w = window();
    const route = (name: string, limit: number, algorithm: string) => `
  - name: ${name}
    service: s
    public: true
    match: { paths: [/${name}] }
    policies: [{ rate-limit: { limit: ${limit}, window: ${w}, algorithm: ${algorithm}, by: route } }]`;
    const file = writeConfig(`
gateway: { drain_delay: 0s, shutdown_timeout: 5s }
listeners: [{ name: main, address: "127.0.0.1:${port}" }]
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes:${route('fixed', 300, 'fixed-window')}${route('sliding', 300, 'sliding-window')}${route('recall', 200, 'fixed-window')}${route('kill', 300, 'fixed-window')}
`);
    node = startCli(['start', '-c', file], { env: { ...process.env, PORTCULLIS_WORKERS: String(WORKERS) } });
    await node.waitFor(`portcullis: ${WORKERS} workers`, SPAWN_MS);
  });
  after(async () => {
    for (const agent of agents) agent.destroy();
    node.child.kill('SIGKILL');
    await upstream.close();
  });

  for (const kind of ['fixed', 'sliding']) {
    it(`admits exactly the limit under concurrent load over both workers (${kind} window)`, async () => {
      // 16 keep-alive connections, spread over both workers; 600 requests for a limit of 300.
      assert.deepEqual(await load(port, `/${kind}`, 600, 16, keepAlive(16)), { 200: 300, 429: 300 });
      assert.deepEqual(await load(port, `/${kind}`, 20, 4, false), { 429: 20 }, 'and nothing more on new connections');
    });
  }

  it('recalls a worker\'s lease when the key nears its limit, so the other worker admits the rest', async () => {
    // One request on each of 8 new connections: both workers ask and are lent part of the 200.
    assert.deepEqual(await load(port, '/recall', 8, 8, false), { 200: 8 });
    // Then everything on one connection, so one worker: it can only reach 200 if the other gives its lease back.
    assert.deepEqual(await load(port, '/recall', 250, 1, keepAlive(1)), { 200: 192, 429: 58 });
  });

  it('loses at most a SIGKILLed worker\'s unused lease, and never admits more than the limit', async () => {
    assert.deepEqual(await load(port, '/kill', 8, 8, false), { 200: 8 });
    const victim = childCliPids(node.child.pid!)[0];
    assert.ok(victim, 'a worker process of the supervisor');
    process.kill(victim, 'SIGKILL');
    await node.waitFor(new RegExp(`"pid":${victim},"reason":"SIGKILL"`), 20_000);
    // 400 more over new connections (the replacement worker and the survivor).
    const after = await load(port, '/kill', 400, 8, false);
    const admitted = 8 + (after[200] ?? 0);
    // The victim held one lease on the key: at most an eighth of what remained when it was lent (299), and at most MAX_LEASE.
    const bound = Math.min(MAX_LEASE, Math.floor(299 / LEND_SHARE));
    assert.ok(admitted <= 300, `admitted ${admitted}: never more than the limit`);
    assert.ok(admitted >= 300 - bound, `admitted ${admitted}: at most the victim's lease (${bound}) lost`);
    assert.equal((after[200] ?? 0) + (after[429] ?? 0), 400, JSON.stringify(after));
  });
});

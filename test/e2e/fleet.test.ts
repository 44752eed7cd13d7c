/**
 * A fleet: three gateway processes (the CLI, as deployed) sharing one real
 * redis-server. Under concurrent load spread over the three, a limit of L
 * admits exactly L in total, refused requests are not counted, and the
 * batched mode stays within its documented bound with fewer round trips.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { startCli, type RunningCli } from '../helpers/cli.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const NODES = 3;

interface Node {
  cli: RunningCli;
  pool: Pool;
}

/** Sends `total` requests, spread round-robin over the nodes, `concurrency` at a time; returns the statuses. */
async function load(nodes: Node[], path: string, total: number, concurrency: number, headers: Record<string, string>): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const res = await nodes[i % nodes.length]!.pool.request({ path, method: 'GET', headers });
      await res.body.dump();
      statuses.push(res.statusCode);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return statuses;
}

/** Status → how many, for messages that say what the unexpected answers were. */
function tally(statuses: number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
}

function evalshaCalls(info: string): number {
  const m = /cmdstat_evalsha:calls=(\d+)/.exec(info);
  return m ? Number(m[1]) : 0;
}

describe('a fleet of three gateways on one Redis', () => {
  let redis: TestRedis;
  let upstream: TestUpstream;
  const nodes: Node[] = [];
  const processes: RunningCli[] = [];

  before(async () => {
    redis = await startRedis();
    upstream = await startUpstream();
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-fleet-'));
    const config = join(dir, 'gateway.yaml');
    writeFileSync(
      config,
      `
gateway: { access_log: false }
listeners: [{ name: main, address: "127.0.0.1:0" }]
# The default store timeout (250ms) is about Redis being slow or gone; on a busy 2-core machine the
# three gateways, Redis and this test share the CPU, and a node that did not run for 250ms counted a reply
# already on its socket as a timeout (503 dependency_unavailable, see docs/fleet.md). What this file checks
# is exactness across nodes, so it gives Redis time enough to answer however busy the machine.
store: { kind: redis, url: "${redis.url}", timeout: 10s }
services: [{ name: api, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: exact
    service: api
    public: true
    match: { paths: [/exact] }
    policies:
      - rate-limit: { name: fleet, limit: 50, window: 1h, by: header:x-tenant }
  - name: batched
    service: api
    public: true
    match: { paths: [/batched] }
    policies:
      - rate-limit: { name: fleet-batched, limit: 60, window: 1h, by: header:x-tenant, batch: 10 }
`,
    );
    // Started together, and each killed in after() even when another failed to come up.
    const started = Array.from({ length: NODES }, (_, i) => startCli(['start', '-c', config, '--pid-file', join(dir, `node-${i}.pid`)]));
    processes.push(...started);
    for (const cli of started) {
      // A process start on a busy 2-core machine can take well over the default 20 s.
      const out = await cli.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/, 90_000);
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
      nodes.push({ cli, pool: new Pool(url, { connections: 16 }) });
    }
  });

  after(async () => {
    for (const n of nodes) await n.pool.close();
    for (const cli of processes) {
      if (cli.child.exitCode === null) cli.child.kill('SIGTERM');
      await cli.exited;
    }
    await upstream.close();
    await redis.close();
  });

  it('admits exactly the limit across the three nodes under concurrent load', async () => {
    const seenBefore = upstream.seen.length;
    const statuses = await load(nodes, '/exact', 300, 48, { 'x-tenant': 'acme' });
    assert.deepEqual(tally(statuses), { 200: 50, 429: 250 }, `statuses: ${JSON.stringify(tally(statuses))}\n${nodes.map((n) => n.cli.output()).join('')}`);
    assert.equal(upstream.seen.length - seenBefore, 50, 'the upstream saw exactly the admitted requests');
    // Refused requests were not counted: the shared count is the limit, not the number of attempts.
    const count = await redis.command('HGET portcullis:rl:fleet:sliding-window:50/3600000:h.x-tenant=acme 3600000:c');
    assert.equal(count, '$2\r\n50\r\n');
    // Another tenant has its own 50.
    const other = await load(nodes, '/exact', 60, 12, { 'x-tenant': 'globex' });
    assert.equal(other.filter((s) => s === 200).length, 50);
  });

  it('every node reports the shared count in its headers', async () => {
    for (const n of nodes) {
      const res = await n.pool.request({ path: '/exact', method: 'GET', headers: { 'x-tenant': 'acme' } });
      await res.body.dump();
      assert.equal(res.statusCode, 429);
      assert.equal(res.headers['x-ratelimit-remaining'], '0');
      assert.equal(res.headers['ratelimit-policy'], '"1h";q=50;w=3600');
    }
  });

  it('batched mode never admits more than the limit, at most nodes × (batch − 1) fewer, with fewer round trips', async (t) => {
    const before = evalshaCalls(await redis.command('INFO commandstats'));
    const statuses = await load(nodes, '/batched', 240, 48, { 'x-tenant': 'acme' });
    const calls = evalshaCalls(await redis.command('INFO commandstats')) - before;
    const admitted = statuses.filter((s) => s === 200).length;
    assert.ok(admitted <= 60, `admitted ${admitted} > 60`);
    assert.ok(admitted >= 60 - NODES * 9, `admitted ${admitted} < ${60 - NODES * 9}`);
    assert.equal(statuses.filter((s) => s === 429).length, 240 - admitted);
    t.diagnostic(`batch 10: ${admitted} admitted of 240, ${calls} store round trips`);
    assert.ok(calls < admitted, `${calls} round trips for ${admitted} admitted requests`);
  });
});

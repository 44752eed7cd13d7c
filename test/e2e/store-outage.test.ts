/**
 * Redis killed, restarted and frozen while requests keep coming: each
 * policy follows its fail mode (open: requests pass unlimited; closed: 503),
 * no request hangs, the outage is logged once per incident and shows in the
 * store's health, and limits come back by themselves with Redis.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Pool } from 'undici';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import type { TelemetryEvent } from '../../src/telemetry/event.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Outcome {
  path: string;
  status: number;
  code: string | undefined;
  limited: boolean;
}

describe('store outage under load', () => {
  let redis: TestRedis;
  let upstream: TestUpstream;
  let gw: TestGateway;
  let pool: Pool;

  before(async () => {
    redis = await startRedis();
    upstream = await startUpstream();
    gw = await startGateway(`
gateway: { access_log: false }
listeners: [{ name: main, address: "127.0.0.1:0" }]
store: { kind: redis, url: "${redis.url}", timeout: 200ms }
services: [{ name: api, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: open
    service: api
    public: true
    match: { paths: [/open] }
    policies:
      - rate-limit: { limit: 100000, window: 1h, by: ip, fail: open }
  - name: closed
    service: api
    public: true
    match: { paths: [/closed] }
    policies:
      - rate-limit: { limit: 100000, window: 1h, by: ip }
  - name: rollover
    service: api
    public: true
    match: { paths: [/rollover] }
    policies:
      - rate-limit: { algorithm: fixed-window, limit: 2, window: 1s, by: ip }
`);
    pool = new Pool(gw.url, { connections: 8 });
  });
  after(async () => {
    await pool.close();
    await gw.close();
    await upstream.close();
    await redis.close();
  });

  async function hit(path: string): Promise<Outcome> {
    const res = await pool.request({ path, method: 'GET', headersTimeout: 5000, bodyTimeout: 5000 });
    const text = await res.body.text();
    const code = res.statusCode >= 400 ? (JSON.parse(text) as { error: { code: string } }).error.code : undefined;
    return { path, status: res.statusCode, code, limited: res.headers['ratelimit'] !== undefined };
  }

  /** Keeps requests flowing to both routes in the background; every one must get an answer. */
  function background(): { outcomes: Outcome[]; stop(): Promise<void> } {
    const outcomes: Outcome[] = [];
    let running = true;
    const loops = [0, 1, 2, 3].map(async (i) => {
      while (running) {
        outcomes.push(await hit(i % 2 === 0 ? '/open' : '/closed'));
        await sleep(5);
      }
    });
    return {
      outcomes,
      stop: async () => {
        running = false;
        await Promise.all(loops);
      },
    };
  }

  async function until(check: () => Promise<boolean>, what: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`${what} did not happen`);
      await sleep(50);
    }
  }

  it('counts in Redis: a fixed window rolls over', async () => {
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await hit('/rollover')).status);
    // The three may straddle a second boundary; at least the limit passed and, once it is used, a refusal follows.
    assert.ok(statuses.filter((s) => s === 200).length >= 2, statuses.join(','));
    await sleep(2100);
    assert.equal((await hit('/rollover')).status, 200);
  });

  it('follows each policy\'s fail mode through a kill, a restart, a freeze and a thaw', async () => {
    const health = gw.gateway.stores.running!.health;
    assert.equal(health.state, 'up');
    const events: TelemetryEvent[] = [];
    const unsubscribe = gw.gateway.telemetry.events.subscribe((e) => events.push(e));
    const load = background();
    try {
      await sleep(300);
      await redis.kill();
      await until(async () => (await hit('/closed')).status === 503, 'fail closed');
      await sleep(500);
      const down = [await hit('/open'), await hit('/closed')];
      assert.deepEqual(down.map((o) => [o.status, o.code, o.limited]), [[200, undefined, false], [503, 'dependency_unavailable', false]]);
      assert.equal(health.state, 'down');

      await redis.restart();
      await until(async () => (await hit('/closed')).status === 200, 'recovery after restart');
      assert.equal(health.state, 'up');
      assert.equal((await hit('/closed')).limited, true, 'limits apply again');

      redis.freeze();
      try {
        await until(async () => (await hit('/closed')).status === 503, 'fail closed while frozen');
        assert.equal((await hit('/open')).status, 200);
      } finally {
        redis.thaw();
      }
      await until(async () => (await hit('/closed')).status === 200, 'recovery after thaw');
      await sleep(300);
    } finally {
      await load.stop();
      unsubscribe();
    }
    const outcomes = load.outcomes;
    assert.ok(outcomes.length > 50, `${outcomes.length} requests in the background`);
    for (const o of outcomes) {
      if (o.path === '/open') assert.equal(o.status, 200, 'fail open: always served');
      else assert.ok(o.status === 200 || (o.status === 503 && o.code === 'dependency_unavailable'), `closed: ${o.status} ${o.code}`);
    }
    assert.ok(outcomes.some((o) => o.path === '/closed' && o.status === 503));
    assert.equal(health.incidents, 2, 'two incidents: the kill and the freeze');
    assert.ok(health.failedOperations > 0);
    const unavailable = gw.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('store unavailable'));
    const recovered = gw.logs.filter((l) => l.msg === 'store recovered');
    assert.equal(unavailable.length, 2, 'one line per incident, not per request');
    assert.equal(recovered.length, 2);
    assert.equal(gw.logs.filter((l) => l.msg === 'policy failed').length, 0, 'no error line per request');
    // The event stream says the same, once per incident, and each refusal on the way says why.
    const outages = events.filter((e) => e.type === 'store.unavailable');
    const recoveries = events.filter((e) => e.type === 'store.recovered');
    assert.deepEqual([outages.length, recoveries.length], [2, 2]);
    assert.deepEqual([outages[0]!.category, outages[0]!.action, outages[0]!.details?.store], ['store', 'observed', 'redis']);
    assert.ok(Number(recoveries[0]!.details?.down_ms) >= 0);
    const refusals = events.filter((e) => e.type === 'dependency.unavailable');
    assert.ok(refusals.length > 0, JSON.stringify([...new Set(events.map((e) => `${e.type}:${e.reason}:${e.code}`))]));
    assert.deepEqual(new Set(refusals.map((e) => `${e.reason}:${e.request?.route}:${e.request?.status}`)), new Set(['store_unreachable:closed:503']));
  });
});

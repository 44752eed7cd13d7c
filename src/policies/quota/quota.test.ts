/** quota over real sockets: allowances per consumer, headers, 429 until the period ends, persistence in Redis. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { send, startGateway, type TestGateway } from '../../../test/helpers/gateway.js';
import { startRedis, type TestRedis } from '../../../test/helpers/redis.js';
import { startUpstream, type TestUpstream } from '../../../test/helpers/upstream.js';
import { compilePeriod } from './period.js';

function config(upstream: string, store: string): string {
  return `
listeners: [{ name: main, address: "127.0.0.1:0" }]
store: ${store}
services: [{ name: api, targets: [{ url: "${upstream}" }] }]
routes:
  - name: api
    service: api
    policies:
      - key-auth: {}
      - quota: { limit: 3, period: month, consumers: { bigco: 5, blocked: 0 } }
consumers:
  - { name: alice, credentials: { key-auth: [{ key: alice-key }] } }
  - { name: bob, credentials: { key-auth: [{ key: bob-key }] } }
  - { name: bigco, credentials: { key-auth: [{ key: bigco-key }] } }
  - { name: blocked, credentials: { key-auth: [{ key: blocked-key }] } }
`;
}

describe('quota', () => {
  let upstream: TestUpstream;
  let redis: TestRedis;
  const gateways: TestGateway[] = [];

  before(async () => {
    upstream = await startUpstream();
    redis = await startRedis();
  });
  after(async () => {
    for (const g of gateways) await g.close();
    await upstream.close();
    await redis.close();
  });

  it('gives each consumer its allowance, with remaining quota in the headers, then 429 until the period ends', async () => {
    const gw = await startGateway(config(upstream.url, '{ kind: memory }'));
    gateways.push(gw);
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await send(gw.url, '/', { headers: { 'x-api-key': 'alice-key' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-quota-limit'], '3');
      remaining.push(String(res.headers['x-quota-remaining']));
      assert.equal(res.headers['ratelimit-policy'], '"quota-month";q=3;w=2592000');
    }
    assert.deepEqual(remaining, ['2', '1', '0']);
    const spent = await send(gw.url, '/', { headers: { 'x-api-key': 'alice-key' } });
    assert.equal(spent.status, 429);
    assert.equal(spent.json<{ error: { code: string } }>().error.code, 'quota_exceeded');
    const untilNextMonth = (compilePeriod('month').periodOf(Date.now()).end - Date.now()) / 1000;
    const retryAfter = Number(spent.headers['retry-after']);
    assert.ok(Math.abs(retryAfter - untilNextMonth) < 60, `Retry-After ${retryAfter}, next month in ${untilNextMonth}`);
    assert.match(String(spent.headers.ratelimit), /^"quota-month";r=0;t=\d+$/);
    assert.equal((await send(gw.url, '/', { headers: { 'x-api-key': 'bob-key' } })).status, 200, 'bob has his own allowance');
    const big = [];
    for (let i = 0; i < 6; i++) big.push((await send(gw.url, '/', { headers: { 'x-api-key': 'bigco-key' } })).status);
    assert.deepEqual(big, [200, 200, 200, 200, 200, 429], 'a per-consumer allowance replaces the limit');
    assert.equal((await send(gw.url, '/', { headers: { 'x-api-key': 'blocked-key' } })).status, 429, 'an allowance of 0 refuses');
  });

  it('survives a gateway restart when kept in Redis', async () => {
    const yaml = config(upstream.url, `{ kind: redis, url: "${redis.url}" }`);
    const first = await startGateway(yaml);
    for (let i = 0; i < 2; i++) assert.equal((await send(first.url, '/', { headers: { 'x-api-key': 'alice-key' } })).status, 200);
    await first.close();
    const second = await startGateway(yaml);
    gateways.push(second);
    const third = await send(second.url, '/', { headers: { 'x-api-key': 'alice-key' } });
    assert.equal(third.status, 200);
    assert.equal(third.headers['x-quota-remaining'], '0', 'the count from before the restart is still there');
    assert.equal((await send(second.url, '/', { headers: { 'x-api-key': 'alice-key' } })).status, 429);
  });

  it('computes UTC periods: weeks start on Monday, months have their own length', () => {
    const week = compilePeriod('week').periodOf(Date.UTC(2026, 4, 21, 15)); // a Thursday
    assert.equal(new Date(week.start).toISOString(), '2026-05-18T00:00:00.000Z');
    assert.equal(week.end - week.start, 7 * 86_400_000);
    const feb = compilePeriod('month').periodOf(Date.UTC(2028, 1, 29, 23, 59));
    assert.equal(new Date(feb.start).toISOString(), '2028-02-01T00:00:00.000Z');
    assert.equal(new Date(feb.end).toISOString(), '2028-03-01T00:00:00.000Z');
    const dec = compilePeriod('month').periodOf(Date.UTC(2026, 11, 31, 12));
    assert.equal(new Date(dec.end).toISOString(), '2027-01-01T00:00:00.000Z');
    assert.notEqual(compilePeriod('day').periodOf(Date.UTC(2026, 0, 1, 23, 59)).id, compilePeriod('day').periodOf(Date.UTC(2026, 0, 2)).id);
  });
});

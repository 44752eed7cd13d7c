/**
 * Metrics over real sockets: a gateway with an admin listener, requests a
 * user would send (allowed, refused by key-auth, rate-limited, blocked by the
 * waf, to an upstream that is down), then GET /metrics on the admin listener
 * over HTTP, read as Prometheus reads it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { scrape } from '../helpers/prometheus.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { makePki } from '../helpers/tls.js';

async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

export function metricsConfig(upstream: string, downPort: number, extra = ''): string {
  return `
admin: { address: "127.0.0.1:0" }
telemetry:
  metrics:
    consumer_labels: { enabled: true, max: 2 }
listeners: [{ name: main, address: "127.0.0.1:0" }]
services:
  - name: api
    targets: [{ url: "${upstream}" }]
  - name: gone
    targets: [{ url: "http://127.0.0.1:${downPort}" }]
    retries: { attempts: 1, on: [connect-failure] }
    breaker: { failures: 2, open_for: 1m }
    health: { passive: { failures: 2, cooldown: 1m } }
routes:
  - name: keyed
    service: api
    match: { paths: [/keyed] }
    policies:
      - key-auth: {}
      - rate-limit: { limit: 3, window: 1m, by: consumer }
  - name: search
    service: api
    public: true
    match: { paths: [/search] }
    policies: [{ waf: {} }]
  - name: broken
    service: gone
    public: true
    match: { paths: [/broken] }
consumers:
  - { name: alice, credentials: { key-auth: [{ key: alice-key-0123456789 }] } }
  - { name: bob, credentials: { key-auth: [{ key: bob-key-0123456789ab }] } }
  - { name: carol, credentials: { key-auth: [{ key: carol-key-0123456789 }] } }
${extra}`;
}

describe('metrics on the admin listener', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let admin: string;
  let downPort: number;

  before(async () => {
    upstream = await startUpstream();
    downPort = await deadPort();
    gw = await startGateway(metricsConfig(upstream.url, downPort));
    admin = gw.gateway.admin.url!;
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('counts allowed, refused, rate-limited, waf-blocked and failed requests with the labels a user queries', async () => {
    const key = { 'x-api-key': 'alice-key-0123456789' };
    for (let i = 0; i < 3; i++) assert.equal((await send(gw.url, '/keyed', { headers: key })).status, 200);
    assert.equal((await send(gw.url, '/keyed', { headers: key })).status, 429, 'the fourth is over the limit');
    assert.equal((await send(gw.url, '/keyed')).status, 401, 'no key');
    assert.equal((await send(gw.url, '/keyed', { headers: { 'x-api-key': 'wrong-key-0123456789' } })).status, 401, 'a wrong key');
    assert.equal((await send(gw.url, "/search?q=1'%20OR%20'1'='1")).status, 403, 'the waf blocks');
    assert.equal((await send(gw.url, '/broken')).status, 502, 'the upstream is down');
    assert.equal((await send(gw.url, '/nowhere')).status, 404, 'no route');
    await send(gw.url, '/search', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });

    const m = await scrape(admin);
    assert.equal(m.status, 200);
    assert.match(m.contentType ?? '', /^text\/plain; version=0\.0\.4/);

    assert.equal(m.value('portcullis_requests_total', { route: 'keyed', service: 'api', method: 'GET', status_class: '2xx' }), 3);
    assert.equal(m.value('portcullis_requests_total', { route: 'keyed', method: 'GET', status_class: '4xx' }), 3);
    assert.equal(m.value('portcullis_requests_total', { route: 'search', status_class: '4xx' }), 1);
    assert.equal(m.value('portcullis_requests_total', { route: 'search', method: 'POST', status_class: '2xx' }), 1);
    assert.equal(m.value('portcullis_requests_total', { route: 'broken', service: 'gone', status_class: '5xx' }), 1);
    assert.equal(m.value('portcullis_requests_total', { route: '_none', service: '_none', status_class: '4xx' }), 1);

    assert.equal(m.value('portcullis_refusals_total', { route: 'keyed', policy: 'rate-limit', code: 'rate_limited', action: 'blocked' }), 1);
    assert.equal(m.value('portcullis_refusals_total', { route: 'keyed', policy: 'key-auth', action: 'blocked' }), 2);
    assert.equal(m.value('portcullis_refusals_total', { route: 'search', policy: 'waf', action: 'blocked' }), 1);
    assert.equal(m.value('portcullis_auth_failures_total', { method: 'key-auth', action: 'blocked' }), 2);
    assert.equal(m.samples.filter((s) => s.name === 'portcullis_auth_failures_total' && s.labels.method === 'key-auth').length, 2, 'missing and invalid are two reasons');
    assert.equal(m.value('portcullis_waf_hits_total', { category: 'sqli', action: 'blocked' }), 1);

    // Latency: every request observed once, the upstream histogram only for requests that reached it.
    assert.equal(m.value('portcullis_request_duration_seconds_count', { route: 'keyed' }), 6);
    assert.equal(m.value('portcullis_request_duration_seconds_bucket', { route: 'keyed', le: '+Inf' }), 6);
    assert.equal(m.value('portcullis_upstream_duration_seconds_count', { route: 'keyed' }), 3);
    assert.ok(m.value('portcullis_request_duration_seconds_sum', { route: 'keyed' }) > 0);
    assert.ok(m.value('portcullis_response_bytes_total', { route: 'keyed' }) > 0);
    assert.equal(m.value('portcullis_request_bytes_total', { route: 'search' }), 5, 'the POST body');

    // The upstream that is down: one retry; two failures opened the breaker and took the target out (passive health).
    assert.equal(m.value('portcullis_upstream_retries_total', { route: 'broken', service: 'gone' }), 1);
    assert.equal(m.value('portcullis_upstream_breaker_state', { service: 'gone', state: 'open' }), 1);
    assert.equal(m.value('portcullis_upstream_breaker_state', { service: 'gone', state: 'closed' }), 0);
    assert.ok(m.has('portcullis_upstream_target_up', { service: 'gone', target: `http://127.0.0.1:${downPort}` }));
    assert.equal(m.value('portcullis_upstream_target_up', { service: 'gone' }), 0);
    assert.equal(m.value('portcullis_upstream_target_up', { service: 'api' }), 1);

    // Scrape-time families.
    assert.equal(m.value('portcullis_store_up', { store: 'memory' }), 1);
    assert.equal(m.value('portcullis_config_version'), 1);
    assert.ok(m.has('portcullis_shed_requests_total'));
    assert.ok(m.has('portcullis_event_loop_lag_seconds'));
    assert.ok(m.has('process_cpu_user_seconds_total'), 'the default process metrics');
    assert.ok(!m.text.includes('alice-key'), 'no credential in the scrape');
  });

  it('caps consumer labels: names past the cap count as "_other"', async () => {
    for (const k of ['bob-key-0123456789ab', 'carol-key-0123456789']) {
      assert.equal((await send(gw.url, '/keyed', { headers: { 'x-api-key': k } })).status, 200);
    }
    const m = await scrape(admin);
    const consumers = new Set(m.samples.filter((s) => s.name === 'portcullis_consumer_requests_total').map((s) => s.labels.consumer));
    // alice and bob came first (max: 2); carol is "_other"; the unauthenticated requests are "_none".
    assert.deepEqual([...consumers].sort(), ['_none', '_other', 'alice', 'bob']);
    assert.equal(m.value('portcullis_consumer_requests_total', { consumer: '_other', status_class: '2xx' }), 1);
  });

  it('counts reloads by outcome and shows the config version', async () => {
    const before = await scrape(admin);
    const ok = await gw.reload(metricsConfig(upstream.url, downPort, '# a comment: a new version'));
    assert.equal(ok.ok, true);
    const bad = await gw.reload('listeners: [');
    assert.equal(bad.ok, false);
    const m = await scrape(admin);
    assert.equal(m.value('portcullis_config_reloads_total', { outcome: 'success' }), before.value('portcullis_config_reloads_total', { outcome: 'success' }) + 1);
    assert.equal(m.value('portcullis_config_reloads_total', { outcome: 'failure' }), before.value('portcullis_config_reloads_total', { outcome: 'failure' }) + 1);
    assert.equal(m.value('portcullis_config_version'), 2);
    assert.equal(m.value('portcullis_requests_total', { route: 'keyed', status_class: '2xx' }), 5, 'counts survive a reload');
    assert.equal(gw.gateway.admin.url, admin, 'the same admin address keeps the same listener');
  });

  it('answers /healthz, 404 elsewhere, 405 for other methods', async () => {
    assert.equal((await send(admin, '/healthz')).status, 200);
    assert.equal((await send(admin, '/keyed')).status, 404, 'routes are not on the admin listener');
    const post = await send(admin, '/metrics', { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  });
});

describe('state store metrics, with a real Redis', () => {
  let redis: TestRedis;
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    redis = await startRedis();
    upstream = await startUpstream();
    gw = await startGateway(`
admin: { address: "127.0.0.1:0" }
listeners: [{ name: main, address: "127.0.0.1:0" }]
store: { kind: redis, url: "${redis.url}", timeout: 200ms }
services: [{ name: api, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: limited
    service: api
    public: true
    match: { paths: [/] }
    policies: [{ rate-limit: { limit: 1000, window: 1m, by: ip, fail: open } }]
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
    await redis.close();
  });

  it('times the Redis round trips, and counts the errors and the outage while Redis is down', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await send(gw.url, '/a')).status, 200);
    const admin = gw.gateway.admin.url!;
    const up = await scrape(admin);
    assert.equal(up.value('portcullis_store_up', { store: 'redis' }), 1);
    assert.equal(up.value('portcullis_store_operation_duration_seconds_count', { store: 'redis' }), 5, 'one round trip per request');
    assert.equal(up.value('portcullis_store_errors_total', { store: 'redis' }), 0);

    await redis.kill();
    for (let i = 0; i < 3; i++) assert.equal((await send(gw.url, '/a')).status, 200, 'fail: open lets requests pass');
    const down = await scrape(admin);
    assert.equal(down.value('portcullis_store_up', { store: 'redis' }), 0);
    assert.ok(down.value('portcullis_store_errors_total', { store: 'redis' }) >= 3);
    assert.equal(down.value('portcullis_store_outages_total', { store: 'redis' }), 1);
    assert.equal(down.value('portcullis_refusals_total', { policy: 'rate-limit' }), 0, 'failing open refuses nothing');
    await redis.restart();
  });
});

describe('certificate expiry metric', () => {
  it('shows the days left of the listener certificate', async () => {
    const pki = await makePki();
    const issued = await pki.issue('server', { dns: ['localhost'], ttlMs: 10 * 86_400_000 });
    const gw = await startGateway(
      `
admin: { address: "127.0.0.1:0" }
listeners: [{ name: public, address: "127.0.0.1:0", protocol: https, tls: { certificates: [{ cert: server.crt, key: server.key }] } }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes: [{ name: r, service: s, public: true }]
`,
      { dir: pki.dir },
    );
    try {
      const m = await scrape(gw.gateway.admin.url!);
      const days = m.samples.find((s) => s.name === 'portcullis_certificate_expiry_days' && s.labels.source === 'listener:public');
      assert.ok(days, m.text.split('\n').filter((l) => l.includes('certificate')).join('\n'));
      assert.equal(days.labels.role, 'server');
      assert.equal(days.labels.serial, issued.serial);
      assert.ok(days.value > 9.9 && days.value <= 10, `${days.value} days`);
    } finally {
      await gw.close();
    }
  });
});

/** rate-limit over real sockets, memory store: counts, headers, keys, refusals, windows. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { send, startGateway, type TestGateway } from '../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../test/helpers/upstream.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('rate-limit', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;

  const config = (store = '{ kind: memory }') => `
listeners: [{ name: main, address: "127.0.0.1:0" }]
store: ${store}
services: [{ name: api, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: minute
    service: api
    public: true
    match: { paths: [/minute] }
    policies:
      - rate-limit: { limit: 3, window: 1m, by: header:x-tenant }
  - name: multi
    service: api
    public: true
    match: { paths: [/multi] }
    policies:
      - rate-limit:
          by: ip
          limits:
            - { limit: 2, window: 1s, name: per-second }
            - { limit: 5, window: 1h, name: per-hour }
  - name: bucket
    service: api
    public: true
    match: { paths: [/bucket] }
    policies:
      - rate-limit: { algorithm: token-bucket, limit: 2, window: 1s, burst: 3, by: ip }
  - name: fixed
    service: api
    public: true
    match: { paths: [/fixed] }
    policies:
      - rate-limit: { algorithm: fixed-window, limit: 2, window: 1s, by: ip, headers: false }
  - name: watch
    service: api
    public: true
    match: { paths: [/watch] }
    policies:
      - rate-limit: { limit: 1, window: 1m, by: ip, mode: monitor }
`;

  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(config());
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('admits the limit with RateLimit headers, then answers 429 with Retry-After and the JSON error', async () => {
    const seenBefore = upstream.seen.length;
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await send(gw.url, '/minute', { headers: { 'x-tenant': 'acme' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers['ratelimit-policy'], '"1m";q=3;w=60');
      assert.match(String(res.headers.ratelimit), /^"1m";r=\d;t=\d+$/);
      assert.equal(res.headers['x-ratelimit-limit'], '3');
      remaining.push(String(res.headers['x-ratelimit-remaining']));
    }
    assert.deepEqual(remaining, ['2', '1', '0']);
    const refused = await send(gw.url, '/minute', { headers: { 'x-tenant': 'acme' } });
    assert.equal(refused.status, 429);
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 120, `Retry-After ${String(refused.headers['retry-after'])}`);
    assert.equal(refused.headers['x-ratelimit-remaining'], '0');
    assert.match(String(refused.headers.ratelimit), /^"1m";r=0;t=\d+$/);
    const body = refused.json<{ error: { status: number; code: string; request_id: string } }>();
    assert.equal(body.error.status, 429);
    assert.equal(body.error.code, 'rate_limited');
    assert.equal(upstream.seen.length - seenBefore, 3, 'the refused request never reached the upstream');
  });

  it('counts each key apart; a request without the header is counted under its client IP', async () => {
    assert.equal((await send(gw.url, '/minute', { headers: { 'x-tenant': 'globex' } })).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await send(gw.url, '/minute')).status, 200);
    assert.equal((await send(gw.url, '/minute')).status, 429, 'no header: the IP has its own limit of 3');
    assert.equal((await send(gw.url, '/minute', { headers: { 'x-tenant': '' } })).status, 429, 'an empty header is no header');
  });

  it('checks several windows at once and reports each; a refused request does not use up the longer window', async () => {
    const responses = [];
    for (let i = 0; i < 4; i++) responses.push(await send(gw.url, '/multi'));
    assert.deepEqual(responses.map((r) => r.status), [200, 200, 429, 429]);
    const last = responses[3]!;
    assert.equal(last.headers['ratelimit-policy'], '"per-second";q=2;w=1, "per-hour";q=5;w=3600');
    assert.match(String(last.headers.ratelimit), /^"per-second";r=0;t=\d+, "per-hour";r=3;t=\d+$/);
    assert.equal(last.headers['x-ratelimit-remaining-per-hour'], '3', 'the two refusals were not counted');
    assert.equal(last.headers['x-ratelimit-limit-per-second'], '2');
    // Two seconds on, the per-second window is free again and the hour has 3 left.
    await sleep(2100);
    const again = await send(gw.url, '/multi');
    assert.equal(again.status, 200);
    assert.equal(again.headers['x-ratelimit-remaining-per-hour'], '2');
  });

  it('token bucket: the burst passes at once, then requests are refused until tokens refill', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await send(gw.url, '/bucket')).status);
    assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
    assert.ok(statuses.slice(3).includes(429), `after the burst of 3: ${statuses.join(',')}`);
    // Two per second: a token every 500 ms, slow enough that the five requests above, sent one after
    // another on a busy machine, still meet an empty bucket.
    await sleep(600);
    assert.equal((await send(gw.url, '/bucket')).status, 200);
  });

  it('fixed window: a new window admits again; headers can be turned off', async () => {
    // Windows start on multiples of the window since the epoch: begin at the start of one, so the three
    // requests below fall in one window however slowly a busy machine sends them.
    await sleep(1000 - (Date.now() % 1000) + 20);
    assert.equal((await send(gw.url, '/fixed')).status, 200);
    assert.equal((await send(gw.url, '/fixed')).status, 200);
    const refused = await send(gw.url, '/fixed');
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['ratelimit-policy'], undefined);
    assert.equal(refused.headers['x-ratelimit-limit'], undefined);
    assert.ok(refused.headers['retry-after']);
    await sleep(1100);
    assert.equal((await send(gw.url, '/fixed')).status, 200);
  });

  it('monitor mode records the excess and lets it through', async () => {
    assert.equal((await send(gw.url, '/watch')).status, 200);
    assert.equal((await send(gw.url, '/watch')).status, 200);
    const line = await gw.waitForLog((l) => l.type === 'access' && l.path === '/watch' && Array.isArray(l.events));
    assert.deepEqual(line.events, ['monitored:rate_limit.exceeded']);
  });

  it('keeps the counts across a reload that leaves the store unchanged; a changed store starts afresh', async () => {
    assert.equal((await send(gw.url, '/minute', { headers: { 'x-tenant': 'acme' } })).status, 429);
    assert.equal((await gw.reload(config())).ok, true);
    assert.equal((await send(gw.url, '/minute', { headers: { 'x-tenant': 'acme' } })).status, 429, 'same store: acme is still over its limit');
    assert.equal((await gw.reload(config('{ kind: memory, max_keys: 5000 }'))).ok, true);
    assert.equal((await send(gw.url, '/minute', { headers: { 'x-tenant': 'acme' } })).status, 200, 'a new store has no counts');
  });

  it('refuses contradictory settings at load with the path', async () => {
    const result = await gw.reload(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: api, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: r
    service: api
    public: true
    policies:
      - rate-limit: { limit: 5, limits: [{ limit: 1, window: 1s }] }
      - rate-limit: { algorithm: token-bucket, limits: [{ limit: 1, window: 1s }, { limit: 9, window: 1m }] }
`);
    assert.equal(result.ok, false);
    const messages = result.ok ? [] : result.issues.map((i) => `${i.line}: ${i.path}: ${i.message}`);
    assert.ok(messages.some((m) => m.startsWith('9: routes[0].policies[0].rate-limit.limits: give either')), messages.join('\n'));
    assert.ok(messages.some((m) => m.startsWith('10: routes[0].policies[1].rate-limit.limits: token-bucket takes one limit')), messages.join('\n'));
    const typo = await gw.reload(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: api, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: r, service: api, public: true, policies: [{ rate-limit: { limit: 5, window: 1x } }] }
`);
    assert.equal(typo.ok, false);
    assert.match(typo.ok ? '' : typo.issues[0]!.path, /^routes\[0\]\.policies\[0\]\.rate-limit\.window$/);
    assert.equal((await send(gw.url, '/minute', { headers: { 'x-tenant': 'fresh' } })).status, 200, 'the running config keeps serving');
  });
});

describe('rate-limit keys', () => {
  const SECRET = 'a-test-hmac-secret-of-at-least-32-bytes!';
  const ISSUER = 'https://issuer.test';
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
gateway: { trusted_proxies: [127.0.0.1/32] }
services:
  - { name: api, targets: [{ url: "${upstream.url}" }] }
  - { name: other, targets: [{ url: "${upstream.url}" }] }
routes:
  - { name: by-consumer, service: api, match: { paths: [/consumer] }, policies: [{ key-auth: {} }, { rate-limit: { limit: 2, window: 1h, by: consumer } }] }
  - { name: by-credential, service: api, match: { paths: [/credential] }, policies: [{ key-auth: {} }, { rate-limit: { limit: 1, window: 1h, by: credential } }] }
  - { name: by-ip, service: api, public: true, match: { paths: [/ip] }, policies: [{ rate-limit: { limit: 1, window: 1h, by: ip } }] }
  - { name: by-route-a, service: api, public: true, match: { paths: [/route-a] }, policies: [{ rate-limit: { limit: 1, window: 1h, by: route } }] }
  - { name: by-route-b, service: api, public: true, match: { paths: [/route-b] }, policies: [{ rate-limit: { limit: 1, window: 1h, by: route } }] }
  - { name: other-a, service: other, public: true, match: { paths: [/other-a] }, policies: [{ rate-limit: { name: per-service, limit: 2, window: 1h, by: service } }] }
  - { name: other-b, service: other, public: true, match: { paths: [/other-b] }, policies: [{ rate-limit: { name: per-service, limit: 2, window: 1h, by: service } }] }
  - { name: api-c, service: api, public: true, match: { paths: [/api-c] }, policies: [{ rate-limit: { name: per-service, limit: 2, window: 1h, by: service } }] }
  - name: by-claim
    service: api
    match: { paths: [/claim] }
    policies:
      - jwt: { issuers: [{ issuer: "${ISSUER}", algorithms: [HS256], keys: [{ kid: k1, secret: "${SECRET}" }] }] }
      - rate-limit: { limit: 1, window: 1h, by: claim:tenant }
  - { name: combined, service: api, match: { paths: [/combined] }, policies: [{ key-auth: {} }, { rate-limit: { limit: 1, window: 1h, by: [consumer, header:x-region] } }] }
consumers:
  - { name: alice, credentials: { key-auth: [{ key: alice-key-one-0123 }, { key: alice-key-two-0123 }] } }
  - { name: bob, credentials: { key-auth: [{ key: bob-key-0123456789 }] } }
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  const status = async (path: string, headers: Record<string, string> = {}) => (await send(gw.url, path, { headers })).status;
  const key = (k: string, extra: Record<string, string> = {}) => ({ 'x-api-key': k, ...extra });
  const token = async (claims: Record<string, unknown>) => {
    const { SignJWT } = await import('jose');
    const jwt = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).setIssuer(ISSUER).setExpirationTime('5m').sign(Buffer.from(SECRET));
    return { authorization: `Bearer ${jwt}` };
  };

  it('by consumer: every credential of a consumer shares one count; another consumer has its own', async () => {
    assert.equal(await status('/consumer', key('alice-key-one-0123')), 200);
    assert.equal(await status('/consumer', key('alice-key-two-0123')), 200);
    assert.equal(await status('/consumer', key('alice-key-one-0123')), 429);
    assert.equal(await status('/consumer', key('alice-key-two-0123')), 429);
    assert.equal(await status('/consumer', key('bob-key-0123456789')), 200);
  });

  it('by credential: each key of a consumer has its own count', async () => {
    assert.equal(await status('/credential', key('alice-key-one-0123')), 200);
    assert.equal(await status('/credential', key('alice-key-one-0123')), 429);
    assert.equal(await status('/credential', key('alice-key-two-0123')), 200);
  });

  it('by ip: the client behind a trusted proxy, as X-Forwarded-For names it', async () => {
    assert.equal(await status('/ip', { 'x-forwarded-for': '203.0.113.1' }), 200);
    assert.equal(await status('/ip', { 'x-forwarded-for': '203.0.113.1' }), 429);
    assert.equal(await status('/ip', { 'x-forwarded-for': '203.0.113.2' }), 200);
  });

  it('by route: each route counts apart, whoever calls', async () => {
    assert.equal(await status('/route-a', { 'x-forwarded-for': '203.0.113.3' }), 200);
    assert.equal(await status('/route-a', { 'x-forwarded-for': '203.0.113.4' }), 429);
    assert.equal(await status('/route-b', { 'x-forwarded-for': '203.0.113.5' }), 200);
  });

  it('by service (one named limit on several routes): the routes of a service share one count, another service has its own', async () => {
    assert.equal(await status('/other-a'), 200);
    assert.equal(await status('/other-b'), 200);
    assert.equal(await status('/other-a'), 429);
    assert.equal(await status('/other-b'), 429);
    assert.equal(await status('/api-c'), 200, 'the same named limit counts service api apart');
  });

  it('by a JWT claim: one count per claim value, whoever holds the token', async () => {
    assert.equal(await status('/claim', await token({ sub: 'u1', tenant: 'acme' })), 200);
    assert.equal(await status('/claim', await token({ sub: 'u2', tenant: 'acme' })), 429);
    assert.equal(await status('/claim', await token({ sub: 'u1', tenant: 'globex' })), 200);
  });

  it('by a combination: consumer and header together', async () => {
    assert.equal(await status('/combined', key('bob-key-0123456789', { 'x-region': 'eu' })), 200);
    assert.equal(await status('/combined', key('bob-key-0123456789', { 'x-region': 'eu' })), 429);
    assert.equal(await status('/combined', key('bob-key-0123456789', { 'x-region': 'us' })), 200);
    assert.equal(await status('/combined', key('alice-key-one-0123', { 'x-region': 'eu' })), 200);
  });
});

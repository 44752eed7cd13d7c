/**
 * hmac-auth's replay memory is security state: a flood of keys an
 * unauthenticated caller creates cannot evict it (issue 10, item 11), and a
 * covered Content-Digest is checked against the body even with
 * `require_digest: false` (item 12).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { send, startGateway, type TestGateway } from '../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../test/helpers/upstream.js';
import { startRedis, type TestRedis } from '../../../test/helpers/redis.js';

const SECRET = 'hmac-shared-secret-for-the-tests-0123456789';

/** Signs method, authority, path, an empty query and, given `digestOf`, content-digest (RFC 9421 §2.5), by hand. */
function signed(authority: string, method: string, path: string, digestOf?: string): Record<string, string> {
  const headers: Record<string, string> = {};
  const components = ['@method', '@authority', '@path', '@query'];
  if (digestOf !== undefined) {
    headers['content-digest'] = `sha-256=:${createHash('sha256').update(digestOf).digest('base64')}:`;
    components.push('content-digest');
  }
  const value: Record<string, string | undefined> = { '@method': method, '@authority': authority, '@path': path, '@query': '?', 'content-digest': headers['content-digest'] };
  const params = `(${components.map((c) => `"${c}"`).join(' ')});created=${Math.floor(Date.now() / 1000)};keyid="client-1";alg="hmac-sha256"`;
  const base = [...components.map((c) => `"${c}": ${value[c]}`), `"@signature-params": ${params}`].join('\n');
  headers['signature-input'] = `sig1=${params}`;
  headers.signature = `sig1=:${createHmac('sha256', SECRET).update(base).digest('base64')}:`;
  return headers;
}

const consumers = `
consumers:
  - { name: partner, credentials: { hmac-auth: [{ key_id: client-1, secret: "${SECRET}" }] } }
`;

describe('hmac-auth replay memory cannot be evicted by a key flood (memory store)', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let authority: string;

  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
store: { kind: memory, max_keys: 1000 }
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: public, service: echo, public: true, match: { paths: [/public] }, policies: [{ rate-limit: { limit: 100, window: 1m, by: "header:x-client" } }] }
  - { name: signed, service: echo, match: { paths: [/signed] }, policies: [{ hmac-auth: { max_age: 2m, clock_skew: 10s } }] }
${consumers}`);
    authority = new URL(gw.url).host;
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('still refuses a captured signature after 1,100 unauthenticated requests with distinct rate-limit keys', async () => {
    const headers = signed(authority, 'GET', '/signed/captured');
    assert.equal((await send(gw.url, '/signed/captured', { headers })).status, 200);
    for (let i = 0; i < 1100; i++) {
      const res = await send(gw.url, '/public/x', { headers: { 'x-client': `flood-${i}` } });
      assert.equal(res.status, 200);
    }
    const replay = await send(gw.url, '/signed/captured', { headers });
    assert.equal(replay.status, 401, 'the replay is refused');
    const line = await gw.waitForLog((l) => l.type === 'access' && l.request_id === replay.headers['x-request-id']);
    assert.deepEqual(line.events, ['blocked:auth.replayed_signature']);
  });
});

describe('hmac-auth when the replay memory is full (memory store)', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let authority: string;

  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
store: { kind: memory, max_keys: 1000 }
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: signed, service: echo, match: { paths: [/signed] }, policies: [{ hmac-auth: { max_age: 2m, clock_skew: 10s } }] }
${consumers}`);
    authority = new URL(gw.url).host;
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('refuses new signatures with 503 rather than forgetting accepted ones, and still refuses their replays', async () => {
    const first = signed(authority, 'GET', '/signed/0');
    assert.equal((await send(gw.url, '/signed/0', { headers: first })).status, 200);
    for (let i = 1; i < 1000; i++) assert.equal((await send(gw.url, `/signed/${i}`, { headers: signed(authority, 'GET', `/signed/${i}`) })).status, 200);
    const before = upstream.seen.length;
    const refused = await send(gw.url, '/signed/new', { headers: signed(authority, 'GET', '/signed/new') });
    assert.equal(refused.status, 503, 'no room to remember it: refused, fail closed');
    assert.equal(refused.json().error.code, 'dependency_unavailable');
    assert.equal(upstream.seen.length, before, 'nothing forwarded');
    assert.equal((await send(gw.url, '/signed/0', { headers: first })).status, 401, 'the oldest accepted signature is still remembered');
    assert.ok(gw.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('security state full')), 'logged');
  });
});

describe('hmac-auth with require_digest: false still checks a covered Content-Digest', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let authority: string;

  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: loose, service: echo, match: { paths: [/loose] }, policies: [{ hmac-auth: { require_digest: false } }] }
${consumers}`);
    authority = new URL(gw.url).host;
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('refuses a body other than the one the signed digest covers, forwarding nothing', async () => {
    const before = upstream.seen.length;
    const headers = signed(authority, 'POST', '/loose/pay', '{"amount":10}');
    const res = await send(gw.url, '/loose/pay', { method: 'POST', headers, body: '{"amount":99999}' });
    assert.equal(res.status, 401);
    assert.equal(upstream.seen.length, before);
  });

  it('refuses a covered digest sent with no body at all (the digest is of the empty body, or it fails)', async () => {
    const headers = signed(authority, 'POST', '/loose/empty', '{"amount":10}');
    const res = await send(gw.url, '/loose/empty', { method: 'POST', headers });
    assert.equal(res.status, 401);
  });

  it('accepts the body the signed digest covers', async () => {
    const headers = signed(authority, 'POST', '/loose/ok', '{"amount":10}');
    const res = await send(gw.url, '/loose/ok', { method: 'POST', headers, body: '{"amount":10}' });
    assert.equal(res.status, 200);
    assert.equal(res.json().body, '{"amount":10}');
  });

  it('still lets a signature leave the digest out (that is what require_digest: false allows)', async () => {
    const headers = signed(authority, 'POST', '/loose/unsigned-body');
    const res = await send(gw.url, '/loose/unsigned-body', { method: 'POST', headers, body: 'anything' });
    assert.equal(res.status, 200);
  });
});

describe('hmac-auth replay memory on Redis is kept under the security-state prefix', () => {
  let redis: TestRedis;
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    redis = await startRedis();
    upstream = await startUpstream();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
store: { kind: redis, url: "${redis.url}" }
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: signed, service: echo, match: { paths: [/signed] }, policies: [{ hmac-auth: {} }] }
${consumers}`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
    await redis.close();
  });

  it('stores the accepted signature as portcullis:secure:hmac-auth:replay:*, with a TTL', async () => {
    const headers = { host: 'api.example.test', ...signed('api.example.test', 'GET', '/signed/r') };
    assert.equal((await send(gw.url, '/signed/r', { headers })).status, 200);
    const keys = await redis.command('KEYS portcullis:*');
    assert.match(keys, /portcullis:secure:hmac-auth:replay:/);
    assert.ok(!/portcullis:hmac-auth:replay:/.test(keys), keys);
    assert.equal((await send(gw.url, '/signed/r', { headers })).status, 401);
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { send, startGateway, type TestGateway } from '../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../test/helpers/upstream.js';

describe('cors through the gateway', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    // The upstream sends its own permissive CORS headers: the gateway's policy must win.
    upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*', vary: 'Accept-Encoding' });
      res.end('{}');
    });
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: api
    service: echo
    match: { paths: [/api] }
    policies:
      - cors:
          origins: ["https://app.example.com", "~ ^https://[a-z0-9-]+\\\\.preview\\\\.example\\\\.com$"]
          credentials: true
          headers: [authorization, content-type, x-api-key]
          expose_headers: [x-request-id]
          max_age: 1h
      - key-auth: {}
  - name: public
    service: echo
    public: true
    match: { paths: [/public] }
    policies: [{ cors: { origins: ["*"] } }]
consumers:
  - { name: web, credentials: { key-auth: [{ key: web-key-123 }] } }
`);
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  const preflight = (origin: string, method = 'PUT', headers = 'content-type, x-api-key') => ({
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
  });

  it('answers an allowed preflight itself, before authentication, without calling the upstream', async () => {
    const before = upstream.seen.length;
    const res = await send(gw.url, '/api/orders', preflight('https://app.example.com'));
    assert.equal(res.status, 204);
    assert.equal(res.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
    assert.equal(res.headers['access-control-allow-methods'], 'GET, HEAD, POST, PUT, PATCH, DELETE');
    assert.equal(res.headers['access-control-allow-headers'], 'authorization, content-type, x-api-key');
    assert.equal(res.headers['access-control-max-age'], '3600');
    assert.match(String(res.headers.vary), /Origin/);
    assert.equal(res.text, '');
    assert.equal(upstream.seen.length, before);
  });

  it('matches origins by RE2 pattern', async () => {
    const res = await send(gw.url, '/api/orders', preflight('https://pr-42.preview.example.com'));
    assert.equal(res.status, 204);
    assert.equal(res.headers['access-control-allow-origin'], 'https://pr-42.preview.example.com');
    assert.equal((await send(gw.url, '/api/orders', preflight('https://evil.com/.preview.example.com'))).status, 403);
  });

  it('refuses a preflight from another origin, for another method or header, without CORS headers', async () => {
    for (const req of [preflight('https://evil.example.net'), preflight('https://app.example.com', 'TRACE'), preflight('https://app.example.com', 'GET', 'x-evil')]) {
      const res = await send(gw.url, '/api/orders', req);
      assert.equal(res.status, 403);
      assert.equal(res.json().error.code, 'cors_rejected');
      assert.equal(res.headers['access-control-allow-origin'], undefined);
    }
  });

  it('sets the allowed origin on real responses, replaces the upstream\'s, and adds Vary: Origin', async () => {
    const res = await send(gw.url, '/api/orders', { headers: { origin: 'https://app.example.com', 'x-api-key': 'web-key-123' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
    assert.equal(res.headers['access-control-expose-headers'], 'x-request-id');
    assert.equal(res.headers.vary, 'Accept-Encoding, Origin');
    const other = await send(gw.url, '/api/orders', { headers: { origin: 'https://evil.example.net', 'x-api-key': 'web-key-123' } });
    assert.equal(other.headers['access-control-allow-origin'], undefined, "the upstream's '*' is not passed on");
  });

  it('puts CORS headers on the gateway\'s own errors so the application can read them', async () => {
    const res = await send(gw.url, '/api/orders', { headers: { origin: 'https://app.example.com' } });
    assert.equal(res.status, 401);
    assert.equal(res.headers['access-control-allow-origin'], 'https://app.example.com');
  });

  it('answers "*" without credentials for a public route', async () => {
    const res = await send(gw.url, '/public/x', preflight('https://anyone.example', 'GET', ''));
    assert.equal(res.status, 204);
    assert.equal(res.headers['access-control-allow-origin'], '*');
    assert.equal(res.headers['access-control-allow-credentials'], undefined);
  });

  it('refuses "*" with credentials, and "null", at load', async () => {
    for (const [origins, message] of [
      ['["*"]', /"\*" cannot be used with credentials: true/],
      ['["null"]', /"null" is the origin of sandboxed frames/],
      ['["https://app.example.com/path"]', /is not an origin/],
    ] as const) {
      await assert.rejects(
        startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: r, service: echo, public: true, policies: [{ cors: { origins: ${origins}, credentials: true } }] }]
`),
        message,
      );
    }
  });
});

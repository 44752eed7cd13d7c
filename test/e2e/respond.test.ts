/**
 * The response owner (src/server/respond.ts): a route's response hooks shape
 * every answer of the route, including a refusal made by a policy that runs
 * before the one with the hook.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

describe('response hooks and refusals of earlier policies', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
    // ip-restriction refuses before cors runs (same phase, config order); key-auth refuses after it.
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: walled
    service: echo
    public: true
    match: { paths: [/walled] }
    policies:
      - ip-restriction: { deny: [127.0.0.0/8, "::1/128"] }
      - cors: { origins: ["https://app.example.com"] }
  - name: keyed
    service: echo
    match: { paths: [/keyed] }
    policies:
      - cors: { origins: ["https://app.example.com"] }
      - key-auth: {}
consumers:
  - { name: web, credentials: { key-auth: [{ key: web-key-123 }] } }
`);
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  const fromApp = { headers: { origin: 'https://app.example.com' } };

  it('lets a cors policy placed after the refusing policy shape its 403', async () => {
    const res = await send(gw.url, '/walled/x', fromApp);
    assert.equal(res.status, 403);
    assert.equal(res.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.ok(res.headers['x-request-id'], 'the request id is on the refusal');
  });

  it('lets a cors policy placed before authentication shape its 401', async () => {
    const res = await send(gw.url, '/keyed/x', fromApp);
    assert.equal(res.status, 401);
    assert.equal(res.headers['access-control-allow-origin'], 'https://app.example.com');
  });

  it('gives a refusal made before routing (404) no policy headers', async () => {
    const res = await send(gw.url, '/nowhere', fromApp);
    assert.equal(res.status, 404);
    assert.equal(res.headers['access-control-allow-origin'], undefined);
  });
});

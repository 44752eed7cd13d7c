/**
 * Header hygiene at the proxy boundary: upstream headers that reveal what
 * runs behind the gateway are removed by default, and a method a route does
 * not accept gets 405 with Allow (RFC 9110) instead of 404.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

describe('header hygiene', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  const config = (hide: string) => `
gateway: { ${hide} }
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: app, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: read, service: app, public: true, match: { paths: [/items], methods: [GET] } }
  - { name: write, service: app, public: true, match: { paths: [/items], methods: [POST, PUT] } }
  - { name: other, service: app, public: true, match: { paths: [/other] } }
`;

  before(async () => {
    upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { server: 'Apache/2.4.41 (Ubuntu)', 'x-powered-by': 'PHP/7.4.3', 'x-aspnet-version': '4.0.30319', 'content-type': 'text/plain' });
      res.end('ok');
    });
    gw = await startGateway(config(''));
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  it('removes Server, X-Powered-By and X-AspNet-Version from upstream responses by default', async () => {
    const res = await send(gw.url, '/items');
    assert.equal(res.status, 200);
    assert.equal(res.headers.server, undefined);
    assert.equal(res.headers['x-powered-by'], undefined);
    assert.equal(res.headers['x-aspnet-version'], undefined);
  });

  it('keeps them when told to', async () => {
    assert.equal((await gw.reload(config('hide_response_headers: []'))).ok, true);
    const res = await send(gw.url, '/items');
    assert.equal(res.headers.server, 'Apache/2.4.41 (Ubuntu)');
    assert.equal(res.headers['x-powered-by'], 'PHP/7.4.3');
    assert.equal((await gw.reload(config(''))).ok, true);
  });

  it('answers a method no route on the path accepts with 405 and Allow', async () => {
    const res = await send(gw.url, '/items/7', { method: 'DELETE' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.allow, 'GET, HEAD, POST, PUT');
    assert.equal(res.json().error.code, 'method_not_allowed');
    assert.equal((await send(gw.url, '/nowhere', { method: 'DELETE' })).status, 404);
    assert.equal((await send(gw.url, '/other', { method: 'DELETE' })).status, 200);
  });
});

/**
 * An http listener with redirect_to answers every request with 308 to the
 * same host and target on the https listener, and refuses a Host it cannot
 * safely write into a Location.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { rawExchange } from '../helpers/raw.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { makePki } from '../helpers/tls.js';

describe('redirect listener', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let httpsPort: number;
  let plainPort: number;

  before(async () => {
    const pki = await makePki();
    await pki.issue('server', { dns: ['localhost', 'api.example.com'] });
    upstream = await startUpstream();
    gw = await startGateway(
      `
listeners:
  - { name: plain, address: "127.0.0.1:0", redirect_to: secure }
  - { name: mapped, address: "127.0.0.1:0", redirect_to: secure, redirect_port: 443 }
  - { name: secure, address: "127.0.0.1:0", protocol: https, tls: { certificates: [{ cert: server.crt, key: server.key }] } }
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: all, service: echo, public: true }]
`,
      { dir: pki.dir },
    );
    plainPort = Number(new URL(gw.gateway.url('plain')).port);
    httpsPort = Number(new URL(gw.gateway.url('secure')).port);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('answers 308 to the same host, path and query on the https listener, whatever the method', async () => {
    for (const method of ['GET', 'POST', 'DELETE']) {
      const reply = await rawExchange(plainPort, `${method} /v1/orders/7?expand=items&x=%2F HTTP/1.1\r\nHost: api.example.com:8080\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      assert.equal(reply.status, 308, reply.text);
      assert.match(reply.text, new RegExp(`\\r\\nlocation: https://api\\.example\\.com:${httpsPort}/v1/orders/7\\?expand=items&x=%2F\\r\\n`, 'i'));
      assert.match(reply.text, /\r\ncontent-length: 0\r\n/i);
    }
    assert.equal(upstream.seen.length, 0, 'nothing is proxied from the redirect listener');
    const logged = await gw.waitForLog((l) => l.type === 'access' && l.status === 308);
    assert.equal(logged.path, '/v1/orders/7');
  });

  it('leaves the port out when clients reach the https listener on 443 (redirect_port)', async () => {
    const reply = await rawExchange(Number(new URL(gw.gateway.url('mapped')).port), 'GET / HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n\r\n');
    assert.match(reply.text, /\r\nlocation: https:\/\/api\.example\.com\/\r\n/i);
  });

  it('refuses a Host that is not a host name', async () => {
    for (const host of ['evil.example.com/@x', 'a b', 'user@evil.example.com']) {
      const reply = await rawExchange(plainPort, `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      assert.equal(reply.status, 400, `${host}: ${reply.text}`);
      assert.doesNotMatch(reply.text, /location:/i);
    }
  });

  it('keeps the strict HTTP/1.1 checks: a smuggling attempt is refused, not redirected', async () => {
    const reply = await rawExchange(plainPort, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG');
    assert.equal(reply.status, 400);
    assert.ok(reply.closed);
  });
});

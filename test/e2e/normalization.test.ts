/**
 * A route that protects /admin must not be reachable by another spelling of
 * /admin, and the upstream must receive the path the gateway checked.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { rawExchange } from '../helpers/raw.js';

const config = (upstream: string, extra = '') => `
listeners: [{ name: main, address: "127.0.0.1:0" }]
${extra}
services: [{ name: echo, targets: [{ url: "${upstream}" }] }]
routes:
  - { name: public, service: echo, public: true, match: { paths: [/public, /repos] } }
  - name: admin
    service: echo
    match: { paths: [/admin] }
    policies: [{ key-auth: {} }]
  - { name: app, service: echo, public: true, match: { paths: [/app] } }
  - name: app-admin
    service: echo
    match: { paths: [/app/admin] }
    policies: [{ key-auth: {} }]
consumers:
  - { name: ops, credentials: { key-auth: [{ key: ops-key }] } }
`;

async function get(port: number, target: string, headers = '') {
  const reply = await rawExchange(port, `GET ${target} HTTP/1.1\r\nHost: x\r\n${headers}Connection: close\r\n\r\n`);
  const body = reply.text.slice(reply.text.indexOf('\r\n\r\n') + 4);
  return { status: reply.status, body };
}

describe('path normalization at the gateway', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(config(upstream.url));
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  for (const spelling of ['/admin', '/%61dmin', '/%61%64%6d%69%6e/users', '/./admin', '//admin', '/public/../admin', '/public/%2e%2e/admin', '/public/%2E%2E/admin/', '/public/./../admin']) {
    it(`treats ${spelling} as the protected /admin route`, async () => {
      const before = upstream.seen.length;
      const res = await get(gw.port, spelling);
      assert.equal(res.status, 401);
      assert.equal(upstream.seen.length, before, 'nothing reached the upstream');
    });
  }

  it('forwards the normalized path, not the spelling the client used', async () => {
    const res = await get(gw.port, '/public/a/../%62//c/./d?x=%2e%2e', 'x-api-key: ops-key\r\n');
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).url, '/public/b/c/d?x=%2e%2e');
    const admin = await get(gw.port, '/public/../%61dmin/x', 'x-api-key: ops-key\r\n');
    assert.equal(admin.status, 200);
    assert.equal(JSON.parse(admin.body).url, '/admin/x');
  });

  for (const [target, why] of [
    ['/public/..;/admin', 'dot segment with a parameter'],
    ['/public/..%2fadmin', 'encoded slash'],
    ['/public/..%5cadmin', 'encoded backslash'],
    ['/public/%00', 'NUL'],
    ['/public/%zz', 'malformed escape'],
    ['/../admin', '.. above the root'],
    ['/app/admin;x', 'a path parameter: Tomcat serves /app/admin;x as /app/admin'],
    ['/app/admin;jsessionid=0/users', 'a path parameter inside the path'],
    ['/app/admin#x', 'a fragment: upstreams cut the path at "#" and serve /app/admin'],
  ] as const) {
    it(`refuses ${target} (${why}) with 400 invalid_path`, async () => {
      const before = upstream.seen.length;
      const res = await get(gw.port, target);
      assert.equal(res.status, 400);
      assert.equal(JSON.parse(res.body).error.code, 'invalid_path');
      assert.equal(upstream.seen.length, before);
    });
  }

  it('forwards path parameters unchanged when path_parameters is keep, matching routes literally', async () => {
    const keep = await startGateway(config(upstream.url, 'gateway: { path_parameters: keep }'));
    try {
      const res = await get(keep.port, '/public/items;jsessionid=0A1B/view');
      assert.equal(res.status, 200);
      assert.equal(JSON.parse(res.body).url, '/public/items;jsessionid=0A1B/view');
      assert.equal((await get(keep.port, '/app/admin/x')).status, 401);
    } finally {
      await keep.close();
    }
  });

  it('forwards encoded slashes unchanged when escaped_slashes is keep', async () => {
    const keep = await startGateway(config(upstream.url, 'gateway: { escaped_slashes: keep }'));
    try {
      const res = await get(keep.port, '/repos/group%2fproject/issues');
      assert.equal(res.status, 200);
      assert.equal(JSON.parse(res.body).url, '/repos/group%2Fproject/issues');
      assert.equal((await get(keep.port, '/public/..%2fadmin')).status, 200, 'stays on the public route, never becomes /admin');
    } finally {
      await keep.close();
    }
  });
});

/**
 * Request methods as a lenient real upstream reads them (issue 10, items 1
 * and 6). Werkzeug upper-cases the method, so an HTTP/2 `post` that missed the
 * protected POST route and fell to the public one ran Werkzeug's POST handler
 * with no consumer; a HEAD that missed a GET-only protected route ran its GET
 * handler unauthenticated. The gateway refuses a method that is not an
 * upper-case token (400) on both HTTP versions, and HEAD takes GET's routes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ClientHttp2Session } from 'node:http2';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { h2Request, h2Session, httpsGet, makePki, rawTlsExchange, type Pki } from '../helpers/tls.js';
import { startWerkzeugUpstream, type WerkzeugUpstream } from '../helpers/werkzeug-upstream.js';

describe('request methods against a Werkzeug upstream', () => {
  let pki: Pki;
  let upstream: WerkzeugUpstream;
  let gw: TestGateway;
  let session: ClientHttp2Session;
  const KEY = 'alice-key-0123456789';

  before(async () => {
    pki = await makePki();
    await pki.issue('server', { dns: ['localhost'], ips: ['127.0.0.1'] });
    upstream = await startWerkzeugUpstream();
    gw = await startGateway(
      `
listeners:
  - name: main
    address: "127.0.0.1:0"
    protocol: https
    tls: { certificates: [{ cert: server.crt, key: server.key }] }
services: [{ name: flask, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: docs-public, service: flask, public: true, match: { paths: [/docs] } }
  - { name: docs-write, service: flask, match: { paths: [/docs], methods: [POST, PUT, PATCH, DELETE] }, policies: [{ key-auth: {} }] }
  - { name: report, service: flask, match: { paths: [/report], methods: [GET] }, policies: [{ key-auth: {} }] }
  - { name: catch-all, service: flask, public: true, match: { paths: [/] } }
consumers:
  - { name: alice, credentials: { key-auth: [{ key: ${KEY} }] } }
`,
      { dir: pki.dir },
    );
    session = await h2Session(gw.url, { ca: pki.caPem });
  });
  after(async () => {
    session.close();
    await gw.close();
    await upstream.close();
  });

  it('refuses a lower-case or mixed-case method over HTTP/2 with 400, and the upstream runs nothing', async () => {
    const before = (await upstream.seen()).length;
    for (const [method, path] of [
      ['post', '/docs/item'],
      ['Post', '/docs/item'],
      ['delete', '/docs/item'],
      ['get', '/report'],
      ['head', '/report'],
    ] as const) {
      const res = await h2Request(session, { ':method': method, ':path': path }, method.toUpperCase() === 'POST' ? '{}' : undefined);
      assert.equal(res.status, 400, `${method} ${path}`);
      if (method !== 'head') assert.equal(JSON.parse(res.text).error.code, 'bad_request');
    }
    assert.deepEqual((await upstream.seen()).slice(before), [], 'Werkzeug ran no handler');
    const logged = await gw.waitForLog((l) => l.type === 'access' && l.method === 'post');
    assert.equal(logged.status, 400);
  });

  it('refuses a lower-case method over HTTP/1.1 too, so both versions agree', async () => {
    const before = (await upstream.seen()).length;
    for (const method of ['post', 'Post', 'get']) {
      const res = await rawTlsExchange(gw.port, `${method} /docs/item HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}`, { ca: pki.caPem, waitMs: 500 });
      assert.equal(res.status, 400, method);
    }
    assert.deepEqual((await upstream.seen()).slice(before), []);
  });

  it('runs the protected POST handler only for an authenticated caller', async () => {
    const refused = await h2Request(session, { ':method': 'POST', ':path': '/docs/item' }, '{}');
    assert.equal(refused.status, 401);
    const allowed = await h2Request(session, { ':method': 'POST', ':path': '/docs/item', 'x-api-key': KEY }, '{}');
    assert.equal(allowed.status, 200);
    assert.deepEqual(JSON.parse(allowed.text), { handler: 'write_item', method: 'POST', consumer: 'alice' });
    const read = await h2Request(session, { ':path': '/docs/item' });
    assert.equal(JSON.parse(read.text).handler, 'read_item', 'GET still takes the public route');
  });

  it('holds HEAD to the GET-only protected route, over HTTP/2 and HTTP/1.1', async () => {
    const before = (await upstream.seen()).length;
    const h2 = await h2Request(session, { ':method': 'HEAD', ':path': '/report' });
    assert.equal(h2.status, 401);
    assert.equal(h2.headers['x-handler'], undefined);
    const h1 = await httpsGet(gw.url, '/report', { ca: pki.caPem, method: 'HEAD' });
    assert.equal(h1.status, 401);
    assert.equal(h1.headers['x-handler'], undefined);
    assert.deepEqual((await upstream.seen()).slice(before), [], 'the report handler never ran');
    const allowed = await h2Request(session, { ':method': 'HEAD', ':path': '/report', 'x-api-key': KEY });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers['x-handler'], 'report');
    const logged = await gw.waitForLog((l) => l.type === 'access' && l.method === 'HEAD' && l.status === 200);
    assert.equal(logged.route, 'report');
  });
});

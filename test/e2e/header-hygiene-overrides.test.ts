/**
 * Headers that change what the upstream believes about the request (red-team
 * review of issue 10, F2): method overrides, path overrides and the identity
 * headers of authenticating proxies. Against a real Werkzeug upstream with
 * the method-override middleware many Flask apps copy, a GET on a public
 * route carrying `X-HTTP-Method-Override: delete` ran the protected DELETE
 * handler with no consumer. The gateway removes these headers from every
 * client.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startWerkzeugUpstream, type WerkzeugUpstream } from '../helpers/werkzeug-upstream.js';

describe('method, path and identity override headers', () => {
  let upstream: WerkzeugUpstream;
  let gw: TestGateway;

  before(async () => {
    upstream = await startWerkzeugUpstream({ methodOverride: true, echoHeaders: true });
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: flask, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: docs-read, service: flask, public: true, match: { paths: [/docs], methods: [GET] } }
  - { name: docs-write, service: flask, match: { paths: [/docs], methods: [POST, PUT, PATCH, DELETE] }, policies: [{ key-auth: {} }] }
consumers:
  - { name: alice, credentials: { key-auth: [{ key: alice-key-0123456789 }] } }
`);
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  it('a method override on a public GET never runs the protected write handler', async () => {
    assert.equal((await send(gw.url, '/docs/item', { method: 'DELETE' })).status, 401);
    for (const name of ['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override', 'X-Original-Method', 'x_http_method_override']) {
      const before = (await upstream.seen()).length;
      const res = await send(gw.url, '/docs/item', { headers: { [name]: 'delete' } });
      assert.equal(res.status, 200, name);
      const body = res.json();
      assert.equal(body.handler, 'read_item', `${name}: ${res.text}`);
      assert.equal(body.method, 'GET', name);
      assert.deepEqual((await upstream.seen()).slice(before), ['GET /docs/item'], name);
    }
  });

  it('removes path overrides and auth-proxy identity headers a client sends', async () => {
    const sent: Record<string, string> = {};
    for (const name of [
      'x-original-uri',
      'x-forwarded-uri',
      'x-forwarded-path',
      'x-forwarded-prefix',
      'x-original-url',
      'x-rewrite-url',
      'x-envoy-original-path',
      'x-forwarded-user',
      'x-forwarded-email',
      'x-forwarded-groups',
      'x-forwarded-preferred-username',
      'x-auth-request-user',
      'x-auth-request-email',
      'x-auth-request-groups',
      'x-remote-user',
      'remote-user',
      'x-user',
      'x-authenticated-user',
      'x-webauth-user',
      'client-ip',
      'x-remote-addr',
      'x-host',
      'x-scheme',
    ])
      sent[name] = name.includes('uri') || name.includes('url') || name.includes('path') || name.includes('prefix') ? '/admin' : 'admin';
    const res = await send(gw.url, '/docs/item', { headers: { ...sent, 'x-kept': 'yes' } });
    assert.equal(res.status, 200);
    const received = res.json().headers as Record<string, string>;
    assert.equal(received['x-kept'], 'yes', 'an ordinary header still passes');
    const leaked = Object.keys(sent).filter((name) => received[name] !== undefined);
    assert.deepEqual(leaked, []);
  });
});

/**
 * Identity headers as a CGI-style upstream reads them. Such servers (WSGI,
 * Rack, PHP, CGI) fold "_" and "-" together, so a client header spelled
 * X_Consumer_Name lands in the same variable as the gateway's X-Consumer-Name.
 * The upstream here is Python's wsgiref, not a stand-in.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startWsgiUpstream, type WsgiUpstream } from '../helpers/wsgi.js';

const FORGED = {
  x_consumer_name: 'admin',
  x_consumer_groups: 'admins',
  x_credential_id: 'forged',
  x_authenticated_scopes: 'admin:all',
  x_forwarded_client_cert: 'Hash=forged;Subject="CN=admin"',
  x_forwarded_for: '10.9.8.7',
  x_request_id: 'forged-id',
};

describe('identity headers spelled with underscores, against a WSGI upstream', () => {
  let upstream: WsgiUpstream;
  let gw: TestGateway;

  before(async () => {
    upstream = await startWsgiUpstream();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: wsgi, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: open, service: wsgi, public: true, match: { paths: [/open] } }
  - { name: api, service: wsgi, anonymous: guest, match: { paths: [/api] }, policies: [{ key-auth: {} }] }
consumers:
  - { name: guest, groups: [public] }
  - { name: alice, groups: [staff], credentials: { key-auth: [{ key: alice-key-0123456789 }] } }
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('never lets a client name the consumer on a public route', async () => {
    const res = await send(gw.url, '/open', { headers: FORGED });
    assert.equal(res.status, 200);
    const env = res.json<Record<string, string>>();
    assert.equal(env.HTTP_X_CONSUMER_NAME, undefined);
    assert.equal(env.HTTP_X_CONSUMER_GROUPS, undefined);
    assert.equal(env.HTTP_X_CREDENTIAL_ID, undefined);
    assert.equal(env.HTTP_X_AUTHENTICATED_SCOPES, undefined);
    assert.equal(env.HTTP_X_FORWARDED_CLIENT_CERT, undefined);
    assert.equal(env.HTTP_X_FORWARDED_FOR, '127.0.0.1');
    assert.equal(env.HTTP_X_REQUEST_ID, res.headers['x-request-id']);
  });

  it('shows the upstream only the identity the gateway established', async () => {
    const anonymous = (await send(gw.url, '/api', { headers: FORGED })).json<Record<string, string>>();
    assert.equal(anonymous.HTTP_X_CONSUMER_NAME, 'guest');
    assert.equal(anonymous.HTTP_X_CONSUMER_GROUPS, 'public');
    assert.equal(anonymous.HTTP_X_CREDENTIAL_ID, undefined);
    const alice = (await send(gw.url, '/api', { headers: { ...FORGED, 'x-api-key': 'alice-key-0123456789' } })).json<Record<string, string>>();
    assert.equal(alice.HTTP_X_CONSUMER_NAME, 'alice');
    assert.equal(alice.HTTP_X_CONSUMER_GROUPS, 'staff');
    assert.equal(alice.HTTP_X_CREDENTIAL_ID, 'alice/key-auth/0');
    assert.equal(alice.HTTP_X_AUTHENTICATED_SCOPES, undefined);
  });

  it('still forwards ordinary headers with underscores', async () => {
    const env = (await send(gw.url, '/open', { headers: { x_tenant_id: 't-42' } })).json<Record<string, string>>();
    assert.equal(env.HTTP_X_TENANT_ID, 't-42');
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { send, startGateway, type TestGateway } from '../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../test/helpers/upstream.js';
import { API_RESOURCE, GATEWAY_CLIENT, OPAQUE_RESOURCE, SVC, startIdp, type TestIdp } from '../../../test/helpers/idp.js';

describe('oauth2-introspection', () => {
  let upstream: TestUpstream;
  let idp: TestIdp;
  let shortIdp: TestIdp;
  let gw: TestGateway;
  const opaque = (provider: TestIdp = idp, scope = 'read') => provider.token({ resource: OPAQUE_RESOURCE, scope });
  const call = (path: string, token?: string) => send(gw.url, path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const introspections = (provider: TestIdp) => provider.hits.filter((h) => h.startsWith('/token/introspection')).length;

  before(async () => {
    upstream = await startUpstream();
    idp = await startIdp();
    shortIdp = await startIdp({ accessTokenTtl: 2 });
    const policy = (extra: string) =>
      `{ oauth2-introspection: { issuer: "${idp.issuer}", client_id: ${GATEWAY_CLIENT.client_id}, client_secret: ${GATEWAY_CLIENT.client_secret}, audiences: [opaque-api], consumer: { claim: [sub, client_id] }${extra} } }`;
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: closed, service: echo, match: { paths: [/closed] }, policies: [${policy('')}] }
  - { name: cookie, service: echo, match: { paths: [/cookie] }, policies: [${policy(', token: { cookie: at }')}] }
  - { name: public, service: echo, public: true, match: { paths: [/public] } }
  - { name: open, service: echo, anonymous: guest, match: { paths: [/open] }, policies: [${policy(', fail: open')}] }
  - name: post
    service: echo
    match: { paths: [/post] }
    policies:
      - oauth2-introspection:
          endpoint: "${shortIdp.issuer}/token/introspection"
          auth_method: client_secret_post
          client_id: ${GATEWAY_CLIENT.client_id}
          client_secret: ${GATEWAY_CLIENT.client_secret}
          consumer: { claim: client_id, mapping: { svc: billing }, known_only: true }
  - name: bad-client
    service: echo
    match: { paths: [/bad-client] }
    policies: [{ oauth2-introspection: { endpoint: "${idp.issuer}/token/introspection", client_id: gateway, client_secret: wrong-secret } }]
consumers:
  - { name: guest, groups: [anonymous] }
  - { name: billing, groups: [finance] }
`);
  });
  after(async () => {
    await gw.close();
    await idp.close();
    await shortIdp.close();
    await upstream.close();
  });

  it('accepts an active token, passes its scopes, and asks the provider once per token', async () => {
    const token = await opaque(idp, 'read write');
    const before = introspections(idp);
    const res = await call('/closed/a', token);
    assert.equal(res.status, 200);
    const seen = res.json();
    assert.equal(seen.headers['x-consumer-name'], SVC.client_id);
    assert.equal(seen.headers['x-authenticated-scopes'], 'read write');
    assert.equal(seen.headers['x-credential-id'], 'introspection:svc');
    assert.equal(seen.headers.authorization, undefined);
    assert.equal((await call('/closed/b', token)).status, 200);
    assert.equal(introspections(idp) - before, 1);
  });

  it('reads a token from its cookie, and no other route\'s upstream ever receives that cookie', async () => {
    const token = await opaque(idp);
    const cookie = `theme=dark; at=${token}`;
    const own = await send(gw.url, '/cookie/x', { headers: { cookie } });
    assert.equal(own.status, 200);
    assert.equal(own.json().headers.cookie, 'theme=dark');
    const other = await send(gw.url, '/public/x', { headers: { cookie } });
    assert.equal(other.status, 200);
    assert.equal(other.json().headers.cookie, 'theme=dark', 'the public route\'s upstream never sees the token');
  });

  it('authenticates to the endpoint with client_secret_post and maps the client to a consumer', async () => {
    const res = await call('/post', await opaque(shortIdp));
    assert.equal(res.status, 200);
    assert.equal(res.json().headers['x-consumer-name'], 'billing');
    assert.equal(res.json().headers['x-consumer-groups'], 'finance');
  });

  it('refuses revoked, unknown and JWT tokens the provider calls inactive', async () => {
    const revoked = await opaque();
    const r = await fetch(`${idp.issuer}/token/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${SVC.client_id}:${SVC.client_secret}`).toString('base64')}` },
      body: new URLSearchParams({ token: revoked }).toString(),
    });
    assert.equal(r.status, 200);
    const before = upstream.seen.length;
    for (const token of [revoked, 'made-up-token-value-0123456789', await idp.token()]) {
      const res = await call('/closed', token);
      assert.equal(res.status, 401);
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="portcullis", error="invalid_token"');
    }
    assert.equal(upstream.seen.length, before);
  });

  it('never keeps an active answer past the token\'s exp', async () => {
    const token = await opaque(shortIdp);
    assert.equal((await call('/post', token)).status, 200);
    await new Promise((r) => setTimeout(r, 2100));
    assert.equal((await call('/post', token)).status, 401);
  });

  it('answers 503 when its own client credentials are refused', async () => {
    const res = await call('/bad-client', await opaque());
    assert.equal(res.status, 503);
    assert.equal(res.json().error.code, 'dependency_unavailable');
  });

  it('follows the fail mode when the provider is down, and cached answers keep working', async () => {
    const cached = await opaque();
    assert.equal((await call('/closed', cached)).status, 200);
    const fresh = await opaque();
    await idp.stop();
    assert.equal((await call('/closed', cached)).status, 200);
    const closed = await call('/closed', fresh);
    assert.equal(closed.status, 503);
    assert.equal(closed.json().error.code, 'dependency_unavailable');
    const open = await call('/open', fresh);
    assert.equal(open.status, 200);
    assert.equal(open.json().headers['x-consumer-name'], 'guest');
  });
});

describe('oauth2-introspection next to a jwt policy of another issuer: each names its own consumers', () => {
  let upstream: TestUpstream;
  let corp: TestIdp;
  let partner: TestIdp;
  let gw: TestGateway;
  const BILLING = { client_id: 'billing-service', client_secret: 'billing-secret-for-tests-01234', grant_types: ['client_credentials'], redirect_uris: [], response_types: [] };
  const call = (token: string) => send(gw.url, '/mixed', { headers: { authorization: `Bearer ${token}` } });
  const routes = (prefix: string) => `
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: mixed
    service: echo
    match: { paths: [/mixed] }
    policies:
      - jwt: { issuers: [{ issuer: "${corp.issuer}", name: corp, discovery: true, algorithms: [RS256], audiences: ["${API_RESOURCE}"] }], consumer: { claim: [sub, client_id], mapping: { billing-service: billing }, groups_claim: groups } }
      - oauth2-introspection: { issuer: "${partner.issuer}", client_id: ${GATEWAY_CLIENT.client_id}, client_secret: ${GATEWAY_CLIENT.client_secret}, audiences: [opaque-api], consumer: { claim: [sub, client_id]${prefix} } }
      - acl: { allow: [finance, partners] }
consumers:
  - { name: billing, groups: [finance] }
`;

  before(async () => {
    upstream = await startUpstream();
    // Every token of both providers claims groups: [finance]; only corp's groups_claim is configured.
    const groups = { svc: { groups: ['finance'] }, 'billing-service': { groups: ['finance'] } };
    corp = await startIdp({ clients: [BILLING], tokenClaims: groups });
    partner = await startIdp({ clients: [BILLING], tokenClaims: groups });
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: placeholder, service: echo, public: true }]
`);
  });
  after(async () => {
    await gw.close();
    await corp.close();
    await partner.close();
    await upstream.close();
  });

  it('refuses at load two methods of one route that would name the same subject of two issuers alike', async () => {
    const res = await gw.reload(routes(''));
    assert.equal(res.ok, false);
    assert.match(JSON.stringify(res), /routes\[0\]\.policies.*jwt \(http:\/\/127\.0\.0\.1:\d+\) and oauth2-introspection \(http:\/\/127\.0\.0\.1:\d+\) both name consumers \\"<subject>\\".*consumer\.prefix/);
  });

  it("keeps a partner's billing-service and svc apart from corp's, and out of corp's groups", async () => {
    assert.equal((await gw.reload(routes(', prefix: "partner:"'))).ok, true);
    const corpBilling = await call(await corp.token({ client: BILLING.client_id, secret: BILLING.client_secret }));
    assert.equal(corpBilling.status, 200);
    assert.equal(corpBilling.json().headers['x-consumer-name'], 'billing');
    const partnerBilling = await call(await partner.token({ client: BILLING.client_id, secret: BILLING.client_secret, resource: OPAQUE_RESOURCE }));
    assert.equal(partnerBilling.status, 403, 'partner:billing-service is in no allowed group');
    const corpSvc = await call(await corp.token());
    assert.equal(corpSvc.status, 200);
    assert.equal(corpSvc.json().headers['x-consumer-name'], 'svc');
    assert.equal(corpSvc.json().headers['x-consumer-groups'], 'finance');
    const partnerSvc = await call(await partner.token({ resource: OPAQUE_RESOURCE }));
    assert.equal(partnerSvc.status, 403, "the partner's groups claim is trusted by nobody");
    // The access log names them apart from corp's svc and billing.
    await gw.waitForLog((l) => l.consumer === 'partner:svc');
    await gw.waitForLog((l) => l.consumer === 'partner:billing-service');
  });
});

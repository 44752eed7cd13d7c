import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, type JWTPayload } from 'jose';
import { send, startGateway, type TestGateway } from '../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../test/helpers/upstream.js';
import { OPAQUE_RESOURCE, GATEWAY_CLIENT, startIdp, type TestIdp } from '../../../test/helpers/idp.js';

const ISSUER = 'https://claims.test';
const SECRET = 'claims-test-secret-of-32-bytes-or-more';

describe('claims', () => {
  let upstream: TestUpstream;
  let idp: TestIdp;
  let gw: TestGateway;
  const token = (claims: JWTPayload) =>
    new SignJWT({ sub: 'user-1', ...claims }).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setExpirationTime('5m').sign(Buffer.from(SECRET));
  const call = async (path: string, claims: JWTPayload) => send(gw.url, path, { headers: { authorization: `Bearer ${await token(claims)}` } });
  const jwt = `{ jwt: { issuers: [{ issuer: "${ISSUER}", algorithms: [HS256], keys: [{ secret: "${SECRET}" }] }] } }`;

  before(async () => {
    upstream = await startUpstream();
    idp = await startIdp();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: write, service: echo, match: { paths: [/write] }, policies: [${jwt}, { claims: { scopes: [orders:write, orders:read] } }] }
  - name: all
    service: echo
    match: { paths: [/all] }
    policies:
      - ${jwt}
      - claims:
          rules:
            - { claim: tenant, equals: acme }
            - { claim: tier, one_of: [gold, platinum] }
            - { claim: [realm_access, roles], contains: editor }
  - { name: any, service: echo, match: { paths: [/any] }, policies: [${jwt}, { claims: { match: any, rules: [{ claim: email_verified, equals: true }, { claim: amr, contains: mfa }] } }] }
  - { name: keyed, service: echo, match: { paths: [/keyed] }, policies: [{ key-auth: {} }, { claims: { rules: [{ claim: tenant, equals: acme }] } }] }
  - name: introspected
    service: echo
    match: { paths: [/introspected] }
    policies:
      - oauth2-introspection: { issuer: "${idp.issuer}", client_id: ${GATEWAY_CLIENT.client_id}, client_secret: ${GATEWAY_CLIENT.client_secret}, consumer: { claim: client_id } }
      - claims: { scopes: [write], rules: [{ claim: aud, equals: opaque-api }] }
consumers:
  - { name: k, credentials: { key-auth: [{ key: k-key-0123456789 }] } }
`);
  });
  after(async () => {
    await gw.close();
    await idp.close();
    await upstream.close();
  });

  it('requires every listed scope, from "scope" or "scp"', async () => {
    assert.equal((await call('/write', { scope: 'orders:read orders:write' })).status, 200);
    assert.equal((await call('/write', { scp: ['orders:write', 'orders:read'] })).status, 200);
    const res = await call('/write', { scope: 'orders:read' });
    assert.equal(res.status, 403);
    assert.equal(res.json().error.code, 'insufficient_scope');
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="portcullis", error="insufficient_scope", scope="orders:write orders:read"');
  });

  it('checks equals, one_of and contains on nested claims, all of them by default', async () => {
    const good = { tenant: 'acme', tier: 'gold', realm_access: { roles: ['viewer', 'editor'] } };
    assert.equal((await call('/all', good)).status, 200);
    assert.equal((await call('/all', { ...good, tenant: 'other' })).status, 403);
    assert.equal((await call('/all', { ...good, tier: 'silver' })).status, 403);
    assert.equal((await call('/all', { ...good, realm_access: { roles: ['viewer'] } })).status, 403);
    assert.equal((await call('/all', { tenant: 'acme', tier: 'gold' })).status, 403);
  });

  it('needs one rule with match: any', async () => {
    assert.equal((await call('/any', { amr: ['pwd', 'mfa'] })).status, 200);
    assert.equal((await call('/any', { email_verified: true })).status, 200);
    assert.equal((await call('/any', { email_verified: 'true', amr: ['pwd'] })).status, 403);
  });

  it('passes no rule for an identity without claims', async () => {
    const res = await send(gw.url, '/keyed', { headers: { 'x-api-key': 'k-key-0123456789' } });
    assert.equal(res.status, 403);
  });

  it('works on introspection answers', async () => {
    const withWrite = await idp.token({ resource: OPAQUE_RESOURCE, scope: 'read write' });
    const readOnly = await idp.token({ resource: OPAQUE_RESOURCE, scope: 'read' });
    assert.equal((await send(gw.url, '/introspected', { headers: { authorization: `Bearer ${withWrite}` } })).status, 200);
    assert.equal((await send(gw.url, '/introspected', { headers: { authorization: `Bearer ${readOnly}` } })).status, 403);
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { send, startGateway, writeConfig, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { cli } from '../helpers/cli.js';
import { hashPassword } from '../../src/identity/passwords.js';

const ISSUER = 'https://multi.test';
const SECRET = 'multi-method-secret-of-32-bytes-or-more';

describe('several authentication methods on one route, and anonymous callers', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let token: string;

  before(async () => {
    upstream = await startUpstream();
    token = await new SignJWT({ sub: 'jwt-user' }).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setExpirationTime('5m').sign(Buffer.from(SECRET));
    const hash = await hashPassword('basic-password');
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: multi
    service: echo
    anonymous: guest
    match: { paths: [/multi] }
    policies:
      - key-auth: {}
      - basic-auth: {}
      - jwt: { issuers: [{ issuer: "${ISSUER}", algorithms: [HS256], keys: [{ secret: "${SECRET}" }] }] }
  - { name: strict, service: echo, match: { paths: [/strict] }, policies: [{ key-auth: {} }, { basic-auth: { realm: strict } }] }
consumers:
  - { name: guest, groups: [anonymous] }
  - { name: kim, groups: [staff], credentials: { key-auth: [{ key: kim-key-0123456789 }], basic-auth: [{ username: kim, password_hash: "${hash}" }] } }
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('shows the upstream only the identity each method established, and none of the credentials, whatever the client sent', async () => {
    const forged = { 'x-consumer-name': 'root', 'x-consumer-groups': 'admins', 'x-credential-id': 'forged', 'x-authenticated-scopes': 'admin:all' };
    const calls = {
      key: { 'x-api-key': 'kim-key-0123456789' },
      basic: { authorization: `Basic ${Buffer.from('kim:basic-password').toString('base64')}` },
      jwt: { authorization: `Bearer ${token}` },
    };
    const expected = {
      key: { name: 'kim', groups: 'staff', credential: 'kim/key-auth/0' },
      basic: { name: 'kim', groups: 'staff', credential: 'kim/basic-auth/0' },
      jwt: { name: 'jwt-user', groups: undefined, credential: undefined },
    };
    for (const [method, headers] of Object.entries(calls) as Array<[keyof typeof calls, Record<string, string>]>) {
      const res = await send(gw.url, '/multi', { headers: { ...forged, ...headers } });
      assert.equal(res.status, 200, method);
      const seen = res.json().headers as Record<string, string | undefined>;
      assert.equal(seen['x-consumer-name'], expected[method].name, method);
      assert.equal(seen['x-consumer-groups'], expected[method].groups, method);
      if (expected[method].credential) assert.equal(seen['x-credential-id'], expected[method].credential, method);
      else assert.notEqual(seen['x-credential-id'], 'forged', method);
      assert.notEqual(seen['x-authenticated-scopes'], 'admin:all', method);
      assert.equal(seen.authorization, undefined, `${method}: no Authorization forwarded`);
      assert.equal(seen['x-api-key'], undefined, `${method}: no key forwarded`);
    }
  });

  it('accepts any one of the methods', async () => {
    const byKey = await send(gw.url, '/multi', { headers: { 'x-api-key': 'kim-key-0123456789' } });
    const byBasic = await send(gw.url, '/multi', { headers: { authorization: `Basic ${Buffer.from('kim:basic-password').toString('base64')}` } });
    const byJwt = await send(gw.url, '/multi', { headers: { authorization: `Bearer ${token}` } });
    assert.deepEqual(
      [byKey, byBasic, byJwt].map((r) => [r.status, r.json().headers['x-consumer-name']]),
      [
        [200, 'kim'],
        [200, 'kim'],
        [200, 'jwt-user'],
      ],
    );
  });

  it('offers every method\'s challenge when none is presented', async () => {
    const res = await send(gw.url, '/strict');
    assert.equal(res.status, 401);
    assert.deepEqual(res.headers['www-authenticate'], ['Key realm="portcullis"', 'Basic realm="strict", charset="UTF-8"']);
  });

  it('treats a caller without credentials as the anonymous consumer, with no credential id', async () => {
    const res = await send(gw.url, '/multi', { headers: { 'x-consumer-name': 'kim', 'x-credential-id': 'forged' } });
    assert.equal(res.status, 200);
    const seen = res.json();
    assert.equal(seen.headers['x-consumer-name'], 'guest');
    assert.equal(seen.headers['x-consumer-groups'], 'anonymous');
    assert.equal(seen.headers['x-credential-id'], undefined);
  });

  it('refuses wrong credentials instead of downgrading them to anonymous, and says why', async () => {
    const res = await send(gw.url, '/multi', { headers: { authorization: `Bearer ${token}x` } });
    assert.equal(res.status, 401);
    assert.deepEqual(res.headers['www-authenticate'], ['Key realm="portcullis"', 'Basic realm="portcullis", charset="UTF-8"', 'Bearer realm="portcullis", error="invalid_token"']);
    const line = await gw.waitForLog((l) => l.type === 'access' && l.request_id === res.headers['x-request-id']);
    assert.deepEqual(line.events, ['blocked:auth.invalid_credentials']);
    const wrongKey = await send(gw.url, '/multi', { headers: { 'x-api-key': 'not-a-key' } });
    assert.equal(wrongKey.status, 401);
  });

  it('refuses an anonymous consumer that does not exist, or a route with no method to stand in for', async () => {
    const file = writeConfig(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes:
  - { name: a, service: s, anonymous: gust, policies: [{ key-auth: {} }] }
  - { name: b, service: s, public: true, anonymous: guest }
consumers: [{ name: guest }]
`);
    const res = await cli(['validate', file]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /:5: routes\[0\]\.anonymous: no consumer named "gust"; did you mean "guest"\?/);
    assert.match(res.stderr, /:6: routes\[1\]\.anonymous: anonymous needs an authentication policy/);
  });
});

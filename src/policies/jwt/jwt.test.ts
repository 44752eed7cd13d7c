import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac, generateKeyPairSync, sign as signRaw, type KeyObject } from 'node:crypto';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type JWTPayload } from 'jose';
import { send, startGateway, writeConfig, type TestGateway } from '../../../test/helpers/gateway.js';
import { cli } from '../../../test/helpers/cli.js';
import { startUpstream, type TestUpstream } from '../../../test/helpers/upstream.js';
import { API_RESOURCE, startIdp, type TestIdp } from '../../../test/helpers/idp.js';

const LOCAL = 'https://local.test';
const EC = 'https://ec.test';
const HMAC = 'https://hmac.test';
const HMAC_SECRET = 'an-hmac-secret-of-at-least-32-bytes!!';

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

/** A token assembled by hand, for headers and signatures no library would produce. */
function rawToken(header: object, payload: object, signature: (input: string) => Buffer | string): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const sig = signature(input);
  return `${input}.${typeof sig === 'string' ? sig : sig.toString('base64url')}`;
}

describe('jwt', () => {
  let upstream: TestUpstream;
  let idp: TestIdp;
  let gw: TestGateway;
  let rsa: { privateKey: KeyObject; publicKey: KeyObject };
  let ec: { privateKey: KeyObject; publicKey: KeyObject };
  let rsaPem: string;
  let jku: Server;
  let jkuHits = 0;

  const local = (claims: JWTPayload = {}, header: Record<string, unknown> = {}) =>
    new SignJWT({ iss: LOCAL, sub: 'local-user', aud: 'local-api', iat: now(), exp: now() + 300, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'local-1', ...header })
      .sign(rsa.privateKey);

  const call = (token: string | undefined, path = '/local/x', headers: Record<string, string> = {}) =>
    send(gw.url, path, { headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...headers } });

  before(async () => {
    upstream = await startUpstream();
    idp = await startIdp();
    rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    rsaPem = await exportSPKI(rsa.publicKey);
    const ecJwk = JSON.stringify(await exportJWK(ec.publicKey));
    jku = createServer((_req, res) => {
      jkuHits++;
      res.end('{}');
    });
    await new Promise<void>((r) => jku.listen(0, '127.0.0.1', r));
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: idp-api
    service: echo
    match: { paths: [/api] }
    policies:
      - jwt:
          issuers:
            - { issuer: "${idp.issuer}", name: test-idp, discovery: true, algorithms: [RS256], audiences: ["${API_RESOURCE}"], types: [at+jwt] }
          consumer: { claim: [sub, client_id], mapping: { svc: billing } }
          jwks: { refresh_interval: 1s, cooldown: 30s }
  - name: local
    service: echo
    match: { paths: [/local] }
    policies:
      - jwt:
          issuers:
            - issuer: ${LOCAL}
              name: local
              algorithms: [RS256]
              audiences: [local-api]
              keys: [{ kid: local-1, pem: ${JSON.stringify(rsaPem)} }]
            - { issuer: "${EC}", name: ec, algorithms: [ES256], keys: [{ kid: ec-1, jwk: ${ecJwk} }] }
            - { issuer: "${HMAC}", name: hmac, algorithms: [HS256], keys: [{ kid: h-1, secret: "${HMAC_SECRET}" }] }
          clock_skew: 10s
          token: { cookie: access_token }
  - name: keeper
    service: echo
    match: { paths: [/keep] }
    policies:
      - jwt:
          issuers: [{ issuer: "${LOCAL}", algorithms: [RS256], audiences: [local-api], keys: [{ kid: local-1, pem: ${JSON.stringify(rsaPem)} }] }]
          token: { cookie: kept_token }
          keep_credential: true
  - { name: public, service: echo, public: true, match: { paths: [/public] } }
  - name: trusted-names
    service: echo
    match: { paths: [/names] }
    policies:
      - jwt:
          issuers: [{ issuer: "${LOCAL}", algorithms: [RS256], audiences: [local-api], keys: [{ kid: local-1, pem: ${JSON.stringify(rsaPem)} }] }]
          consumer: { match_names: true }
  - name: fresh-only
    service: echo
    match: { paths: [/fresh] }
    policies:
      - jwt:
          issuers: [{ issuer: "${LOCAL}", algorithms: [RS256], keys: [{ kid: local-1, pem: ${JSON.stringify(rsaPem)} }] }]
          clock_skew: 0s
          max_token_age: 1s
consumers:
  - { name: billing, groups: [finance] }
`);
  });
  after(async () => {
    await gw.close();
    await idp.close();
    await upstream.close();
    await new Promise<void>((r) => jku.close(() => r()));
  });

  it('accepts a client-credentials token from the provider and tells the upstream who called', async () => {
    const token = await idp.token({ scope: 'read write' });
    const res = await call(token, '/api/orders', { 'x-consumer-name': 'admin', 'x-authenticated-scopes': 'everything' });
    assert.equal(res.status, 200);
    const seen = res.json();
    assert.equal(seen.headers['x-consumer-name'], 'billing');
    assert.equal(seen.headers['x-consumer-groups'], 'finance');
    assert.equal(seen.headers['x-credential-id'], 'test-idp:svc');
    assert.equal(seen.headers['x-authenticated-scopes'], 'read write');
    assert.equal(seen.headers.authorization, undefined, 'the token is not forwarded');
  });

  it('refuses a token once it is older than max_token_age, even one it verified and cached before', async () => {
    const token = await local();
    assert.equal((await call(token, '/fresh/x')).status, 200);
    await new Promise((r) => setTimeout(r, 2100));
    assert.equal((await call(token, '/fresh/x')).status, 401);
  });

  it('warns at load about an issuer with neither audiences nor types, which accepts tokens meant for other clients', () => {
    const warnings = gw.logs.filter((l) => l.level === 'warn' && /neither audiences nor types/.test(l.msg));
    const where = warnings.map((l) => String(l.path)).sort();
    // local (routes[1]): issuers 1 and 2 (EC, HMAC) have neither; fresh-only's (routes[5]) one issuer has neither; the others have audiences.
    assert.deepEqual(where, ['routes[1].policies[0].jwt.issuers[1]', 'routes[1].policies[0].jwt.issuers[2]', 'routes[5].policies[0].jwt.issuers[0]']);
    assert.ok(warnings.every((l) => typeof l.line === 'number' && l.line > 0), 'with the line in the config file');
    assert.match(warnings[0]!.msg, /an ID token.*is accepted here; set audiences/);
  });

  it('fetched the provider keys before serving', () => {
    assert.ok(idp.hits.some((h) => h.startsWith('/.well-known/openid-configuration')));
    assert.ok(idp.hits.some((h) => h.startsWith('/jwks')));
  });

  it('answers a missing token with a Bearer challenge and a malformed one with invalid_request', async () => {
    const none = await call(undefined);
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="portcullis"');
    const basic = await send(gw.url, '/local/x', { headers: { authorization: 'Basic YTpi' } });
    assert.equal(basic.status, 401);
    assert.equal(basic.headers['www-authenticate'], 'Bearer realm="portcullis"');
    const bad = await call('not a token!');
    assert.equal(bad.status, 401);
    assert.equal(bad.headers['www-authenticate'], 'Bearer realm="portcullis", error="invalid_request"');
  });

  it('reads the token from a configured cookie and removes only that cookie', async () => {
    const token = await local();
    const res = await send(gw.url, '/local/c', { headers: { cookie: `theme=dark; access_token=${token}; lang=en` } });
    assert.equal(res.status, 200);
    assert.equal(res.json().headers.cookie, 'theme=dark; lang=en');
    assert.equal(res.json().headers['x-consumer-name'], 'local:local-user', 'named with its issuer, one of three');
  });

  it('never forwards a token cookie to another route\'s upstream; keep_credential keeps it on its own route only', async () => {
    const token = await local();
    const cookie = `theme=dark; access_token=${token}; kept_token=${token}`;
    const other = await send(gw.url, '/public/x', { headers: { cookie } });
    assert.equal(other.status, 200);
    assert.equal(other.json().headers.cookie, 'theme=dark', 'the public route\'s upstream receives neither token cookie');
    const kept = await send(gw.url, '/keep/x', { headers: { cookie } });
    assert.equal(kept.status, 200);
    assert.equal(kept.json().headers.cookie, `theme=dark; kept_token=${token}`, 'kept on its own route, access_token is removed');
  });

  it('never lets a token become a configured consumer just by naming it', async () => {
    const before = upstream.seen.length;
    const impostor = await call(await local({ sub: 'billing' }), '/fresh/x');
    assert.equal(impostor.status, 401, 'sub "billing" is no mapping and match_names is off');
    assert.equal(upstream.seen.length, before);
    // Among several issuers names carry their issuer's prefix: "local:billing" is no configured consumer.
    const prefixed = await call(await local({ sub: 'billing' }));
    assert.equal(prefixed.status, 200);
    assert.equal(prefixed.json().headers['x-consumer-name'], 'local:billing');
    assert.equal(prefixed.json().headers['x-consumer-groups'], undefined);
    const trusted = await call(await local({ sub: 'billing' }), '/names/x');
    assert.equal(trusted.status, 200, 'with match_names the issuer is trusted to name consumers');
    assert.equal(trusted.json().headers['x-consumer-name'], 'billing');
    assert.equal(trusted.json().headers['x-consumer-groups'], 'finance');
  });

  it('accepts keys from PEM, JWK and HMAC secrets, each for its own issuer', async () => {
    const fromEc = await new SignJWT({ sub: 'ec-user' }).setProtectedHeader({ alg: 'ES256', kid: 'ec-1' }).setIssuer(EC).setExpirationTime('5m').sign(ec.privateKey);
    const fromHmac = await new SignJWT({ sub: 'h-user' })
      .setProtectedHeader({ alg: 'HS256', kid: 'h-1' })
      .setIssuer(HMAC)
      .setExpirationTime('5m')
      .sign(Buffer.from(HMAC_SECRET));
    for (const [token, who] of [
      [await local(), 'local:local-user'],
      [fromEc, 'ec:ec-user'],
      [fromHmac, 'hmac:h-user'],
    ] as const) {
      const res = await call(token);
      assert.equal(res.status, 200, who);
      assert.equal(res.json().headers['x-consumer-name'], who);
    }
  });

  describe('attacks: refused with 401, the same body, and nothing forwarded', () => {
    const attacks: Array<[string, () => Promise<string> | string]> = [];
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      attacks.push([`alg ${alg}`, () => rawToken({ alg, typ: 'JWT' }, { iss: LOCAL, sub: 'admin', aud: 'local-api', exp: now() + 300 }, () => '')]);
    }
    attacks.push(
      ['HS256 signed with the RSA public key', () => rawToken({ alg: 'HS256', kid: 'local-1' }, { iss: LOCAL, sub: 'admin', aud: 'local-api', exp: now() + 300 }, (input) => createHmac('sha256', rsaPem).update(input).digest())],
      ['HS256 with the RSA public key against the HMAC issuer', () => rawToken({ alg: 'HS256', kid: 'h-1' }, { iss: HMAC, sub: 'admin', exp: now() + 300 }, (input) => createHmac('sha256', rsaPem).update(input).digest())],
      [
        'an embedded jwk of the attacker',
        async () => {
          const attacker = await generateKeyPair('RS256');
          return new SignJWT({ sub: 'admin', aud: 'local-api' })
            .setProtectedHeader({ alg: 'RS256', kid: 'local-1', jwk: await exportJWK(attacker.publicKey) })
            .setIssuer(LOCAL)
            .setExpirationTime('5m')
            .sign(attacker.privateKey);
        },
      ],
      [
        'jku and x5u pointing at the attacker',
        async () => {
          const attacker = await generateKeyPair('RS256');
          const where = `http://127.0.0.1:${(jku.address() as AddressInfo).port}/jwks`;
          return new SignJWT({ sub: 'admin', aud: 'local-api' })
            .setProtectedHeader({ alg: 'RS256', jku: where, x5u: where })
            .setIssuer(LOCAL)
            .setExpirationTime('5m')
            .sign(attacker.privateKey);
        },
      ],
      [
        'an x5c chain of the attacker',
        async () => {
          const attacker = await generateKeyPair('RS256');
          return new SignJWT({ sub: 'admin', aud: 'local-api' })
            .setProtectedHeader({ alg: 'RS256', x5c: [Buffer.from('not a real certificate').toString('base64')] })
            .setIssuer(LOCAL)
            .setExpirationTime('5m')
            .sign(attacker.privateKey);
        },
      ],
      ['kid path traversal', () => rawToken({ alg: 'HS256', kid: '../../../../dev/null' }, { iss: HMAC, sub: 'admin', exp: now() + 300 }, (input) => createHmac('sha256', '').update(input).digest())],
      ['kid SQL injection', () => rawToken({ alg: 'HS256', kid: "x' UNION SELECT 'key" }, { iss: HMAC, sub: 'admin', exp: now() + 300 }, (input) => createHmac('sha256', 'key').update(input).digest())],
      ['expired', () => local({ exp: now() - 60 })],
      ['not yet valid', () => local({ nbf: now() + 120 })],
      ['issued in the future', () => local({ iat: now() + 120 })],
      ['wrong issuer', async () => new SignJWT({ sub: 'admin', aud: 'local-api' }).setProtectedHeader({ alg: 'RS256', kid: 'local-1' }).setIssuer('https://evil.test').setExpirationTime('5m').sign(rsa.privateKey)],
      ['wrong audience', () => local({ aud: 'another-api' })],
      ['no exp', async () => new SignJWT({ sub: 'admin', aud: 'local-api' }).setProtectedHeader({ alg: 'RS256', kid: 'local-1' }).setIssuer(LOCAL).sign(rsa.privateKey)],
      [
        'tampered payload',
        async () => {
          const [h, , s] = (await local()).split('.');
          return `${h}.${b64({ iss: LOCAL, sub: 'admin', aud: 'local-api', exp: now() + 300 })}.${s}`;
        },
      ],
      [
        'tampered signature',
        async () => {
          const token = await local();
          const last = token.at(-2) === 'A' ? 'B' : 'A';
          return token.slice(0, -2) + last + token.at(-1);
        },
      ],
      ['ECDSA r = s = 0', () => rawToken({ alg: 'ES256', kid: 'ec-1' }, { iss: EC, sub: 'admin', exp: now() + 300 }, () => Buffer.alloc(64))],
      ['ES256 signed by another curve key', () => rawToken({ alg: 'ES256', kid: 'ec-1' }, { iss: EC, sub: 'admin', exp: now() + 300 }, (input) => signRaw('sha256', Buffer.from(input), { key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, dsaEncoding: 'ieee-p1363' }))],
      ['a JWE instead of a JWS', () => 'eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aaaa.bbbb.cccc'],
    );
    for (const [name, make] of attacks) {
      it(name, async () => {
        const before = upstream.seen.length;
        const res = await call(await make());
        assert.equal(res.status, 401);
        assert.equal(res.json().error.message, 'Authentication is required.');
        assert.match(String(res.headers['www-authenticate']), /^Bearer realm="portcullis"(, error="invalid_(token|request)")?$/);
        assert.equal(upstream.seen.length, before, 'nothing reached the upstream');
      });
    }
    it('never fetched a key from a URL in a token', () => assert.equal(jkuHits, 0));

    it('records each refusal as a security event', async () => {
      const res = await call(await local({ exp: now() - 60 }));
      const line = await gw.waitForLog((l) => l.type === 'access' && l.request_id === res.headers['x-request-id']);
      assert.deepEqual(line.events, ['blocked:auth.invalid_credentials']);
      assert.equal(line.route, 'local');
    });
  });

  describe('keys at the provider', () => {
    it('keeps accepting tokens while the provider rotates its signing key', async () => {
      const before = await idp.token();
      let stop = false;
      const statuses: number[] = [];
      const traffic = (async () => {
        let token = before;
        for (let i = 0; i < 200 && !stop; i++) {
          if (i % 5 === 0) token = await idp.token();
          statuses.push((await call(token, '/api/rot')).status);
        }
      })();
      await new Promise((r) => setTimeout(r, 100));
      const kid = await idp.rotate();
      const after = await idp.token();
      assert.equal(JSON.parse(Buffer.from(after.split('.')[0]!, 'base64url').toString()).kid, kid);
      await new Promise((r) => setTimeout(r, 300));
      stop = true;
      await traffic;
      assert.equal((await call(after, '/api/rot')).status, 200);
      assert.equal((await call(before, '/api/rot')).status, 200, 'tokens signed by the old key still pass');
      assert.ok(statuses.length > 5);
      assert.deepEqual([...new Set(statuses)], [200]);
    });

    it('serves the last good keys while the provider is down, and answers 503 for a kid it could not look up', async () => {
      const known = await idp.token();
      const attacker = await generateKeyPair('RS256');
      const unknownKid = await new SignJWT({ sub: 'svc', client_id: 'svc', aud: API_RESOURCE })
        .setProtectedHeader({ alg: 'RS256', kid: 'key-never-published', typ: 'at+jwt' })
        .setIssuer(idp.issuer)
        .setExpirationTime('5m')
        .sign(attacker.privateKey);
      await idp.stop();
      // refresh_interval is 1s: wait past it so the gateway tries (and fails) to refresh.
      await new Promise((r) => setTimeout(r, 1200));
      assert.equal((await call(known, '/api/down')).status, 200);
      await gw.waitForLog((l) => l.msg === 'JWKS fetch failed; keeping the last good keys');
      assert.equal((await call(known, '/api/down')).status, 200);
      // The provider may have rotated to this kid: the gateway could not ask, so it does not call the token bad (issue 13).
      assert.equal((await call(unknownKid, '/api/down')).status, 503);
    });
  });
});

describe('jwt: a JWKS URL, the unknown-kid cooldown, required claims, clock skew, token sources', () => {
  const ISSUER = 'https://jwks-url.test';
  let upstream: TestUpstream;
  let jwksServer: Server;
  let gw: TestGateway;
  let published: Array<Record<string, unknown>> = [];
  let jwksHits = 0;
  const keys = new Map<string, KeyObject>();
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

  async function addKey(kid: string): Promise<void> {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    keys.set(kid, pair.privateKey);
    published = [...published, { ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256', use: 'sig' }];
  }
  const token = (kid: string, claims: JWTPayload = {}) =>
    new SignJWT({ sub: 'svc-user', tenant: 't1', iat: now(), exp: now() + 300, ...claims }).setProtectedHeader({ alg: 'ES256', kid }).setIssuer(ISSUER).sign(keys.get(kid)!);

  before(async () => {
    upstream = await startUpstream();
    await addKey('k1');
    // Published from the start (so the gateway has it), but RS256 is not among the issuer's algorithms.
    published = [...published, { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' }];
    jwksServer = createServer((_req, res) => {
      jwksHits++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published }));
    });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: api
    service: echo
    match: { paths: [/api] }
    policies:
      - jwt:
          issuers: [{ issuer: "${ISSUER}", algorithms: [ES256], jwks_url: "${jwksUrl}", required_claims: [tenant] }]
          jwks: { refresh_interval: 1h, cooldown: 1h }
          clock_skew: 30s
          token: { header: x-access-token, query: access_token }
  - name: kept
    service: echo
    match: { paths: [/kept] }
    policies:
      - jwt: { issuers: [{ issuer: "${ISSUER}", algorithms: [ES256], jwks_url: "${jwksUrl}" }], jwks: { refresh_interval: 1h, cooldown: 1h }, keep_credential: true }
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
    await new Promise<void>((r) => jwksServer.close(() => r()));
  });

  const call = (headers: Record<string, string>, path = '/api') => send(gw.url, path, { headers });

  it('fetched the JWKS URL before serving (once per policy), and verifies tokens against it', async () => {
    assert.equal(jwksHits, 2);
    const res = await call({ 'x-access-token': await token('k1') });
    assert.equal(res.status, 200);
    assert.equal(res.json().headers['x-consumer-name'], 'svc-user');
    assert.equal(res.json().headers['x-access-token'], undefined, 'the token is not forwarded');
  });

  it('refetches once for a new kid, then at most once per cooldown however many unknown kids arrive', async () => {
    await addKey('k2');
    const before = jwksHits;
    assert.equal((await call({ 'x-access-token': await token('k2') })).status, 200, 'a key published since the last fetch is found by one refetch');
    assert.equal(jwksHits, before + 1);
    for (let i = 0; i < 20; i++) {
      const forged = await new SignJWT({ sub: 'x', tenant: 't1' })
        .setProtectedHeader({ alg: 'ES256', kid: `unknown-${i}` })
        .setIssuer(ISSUER)
        .setExpirationTime('5m')
        .sign(keys.get('k1')!);
      assert.equal((await call({ 'x-access-token': forged })).status, 401);
    }
    assert.equal(jwksHits, before + 1, 'twenty unknown kids within the cooldown fetched nothing more');
  });

  it('refuses a token without a required claim', async () => {
    const res = await call({ 'x-access-token': await token('k1', { tenant: undefined }) });
    assert.equal(res.status, 401);
  });

  it('accepts a token expired or issued within clock_skew, and refuses one outside it', async () => {
    assert.equal((await call({ 'x-access-token': await token('k1', { exp: now() - 10 }) })).status, 200);
    assert.equal((await call({ 'x-access-token': await token('k1', { nbf: now() + 10 }) })).status, 200);
    assert.equal((await call({ 'x-access-token': await token('k1', { exp: now() - 60 }) })).status, 401);
    assert.equal((await call({ 'x-access-token': await token('k1', { nbf: now() + 60 }) })).status, 401);
  });

  it('reads the token from the configured header or query parameter only, and removes it from the query', async () => {
    const fromQuery = await send(gw.url, `/api/x?a=1&access_token=${await token('k1')}`);
    assert.equal(fromQuery.status, 200);
    assert.equal(fromQuery.json().url, '/api/x?a=1');
    const bearer = await call({ authorization: `Bearer ${await token('k1')}` });
    assert.equal(bearer.status, 401, 'Authorization is not read when another header is configured');
  });

  it('forwards the token when keep_credential is set', async () => {
    const jwt = await token('k1');
    const res = await send(gw.url, '/kept', { headers: { authorization: `Bearer ${jwt}` } });
    assert.equal(res.status, 200);
    assert.equal(res.json().headers.authorization, `Bearer ${jwt}`);
  });

  it('refuses a token whose algorithm the issuer does not allow, even signed by a key it publishes', async () => {
    const res = await call({
      'x-access-token': await new SignJWT({ sub: 'x', tenant: 't1' }).setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' }).setIssuer(ISSUER).setExpirationTime('5m').sign(rsa.privateKey),
    });
    assert.equal(res.status, 401);
  });
});

describe('jwt with two issuers: each mapping, group claim and name is bound to its issuer', () => {
  let upstream: TestUpstream;
  let corp: TestIdp;
  let partner: TestIdp;
  let gw: TestGateway;
  const CLIENT = { client_id: 'billing-service', client_secret: 'billing-secret-for-tests-01234', grant_types: ['client_credentials'], redirect_uris: [], response_types: [] };
  const APP = { client_id: 'partner-app', client_secret: 'partner-app-secret-for-tests-01', grant_types: ['client_credentials'], redirect_uris: [], response_types: [] };
  // Both providers put groups: [finance] in every token: only corp's are meant.
  const groups = { 'billing-service': { groups: ['finance'] }, svc: { groups: ['finance'] }, 'partner-app': { groups: ['finance'] } };
  const tokenFrom = (idp: TestIdp, client: { client_id: string; client_secret: string }) => idp.token({ client: client.client_id, secret: client.client_secret });
  const call = (token: string, path: string) => send(gw.url, path, { headers: { authorization: `Bearer ${token}` } });

  before(async () => {
    upstream = await startUpstream();
    corp = await startIdp({ clients: [CLIENT, APP], tokenClaims: groups });
    partner = await startIdp({ clients: [CLIENT, APP], tokenClaims: groups });
    const jwt = `
      - jwt:
          issuers:
            - issuer: "${corp.issuer}"
              name: corp
              discovery: true
              algorithms: [RS256]
              audiences: ["${API_RESOURCE}"]
              consumer: { claim: [sub, client_id], mapping: { billing-service: billing }, groups_claim: groups }
            - issuer: "${partner.issuer}"
              name: partner
              discovery: true
              algorithms: [RS256]
              audiences: ["${API_RESOURCE}"]
              consumer: { claim: [sub, client_id], mapping: { partner-app: partner-app } }`;
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: two
    service: echo
    match: { paths: [/two] }
    policies:${jwt}
  - name: finance
    service: echo
    match: { paths: [/finance] }
    policies:${jwt}
      - acl: { allow: [finance] }
  - name: scoped
    service: echo
    match: { paths: [/scoped] }
    policies:${jwt}
      - claims: { issuers: ["${corp.issuer}"], scopes: [read] }
consumers:
  - { name: billing, groups: [finance] }
  - { name: partner-app, groups: [partners] }
`);
  });
  after(async () => {
    await gw.close();
    await corp.close();
    await partner.close();
    await upstream.close();
  });

  it("maps a claim value only from the issuer whose mapping names it, both ways", async () => {
    const corpBilling = await call(await tokenFrom(corp, CLIENT), '/two');
    assert.equal(corpBilling.status, 200);
    assert.equal(corpBilling.json().headers['x-consumer-name'], 'billing');
    assert.equal(corpBilling.json().headers['x-credential-id'], 'corp:billing-service');

    const partnerBilling = await call(await tokenFrom(partner, CLIENT), '/two');
    assert.equal(partnerBilling.status, 200);
    assert.equal(partnerBilling.json().headers['x-consumer-name'], 'partner:billing-service', 'a partner token is never corp\'s mapped consumer');
    assert.equal(partnerBilling.json().headers['x-consumer-groups'], undefined);

    const partnerApp = await call(await tokenFrom(partner, APP), '/two');
    assert.equal(partnerApp.json().headers['x-consumer-name'], 'partner-app');
    const corpApp = await call(await tokenFrom(corp, APP), '/two');
    assert.equal(corpApp.status, 200);
    assert.equal(corpApp.json().headers['x-consumer-name'], 'corp:partner-app', "a corp token is never the partner's mapped consumer");
    assert.equal(corpApp.json().headers['x-consumer-groups'], 'finance', "corp's groups claim, not the partner consumer's groups");
  });

  it('names the same subject from two issuers as two consumers', async () => {
    const fromCorp = await call(await corp.token(), '/two');
    const fromPartner = await call(await partner.token(), '/two');
    assert.equal(fromCorp.json().headers['x-consumer-name'], 'corp:svc');
    assert.equal(fromPartner.json().headers['x-consumer-name'], 'partner:svc');
  });

  it('takes groups only from the issuer whose groups_claim is configured', async () => {
    assert.equal((await call(await corp.token(), '/finance')).status, 200);
    const res = await call(await partner.token(), '/finance');
    assert.equal(res.status, 403, 'a partner token claiming groups: [finance] is not in finance');
  });

  it('holds scopes and claim rules to the issuers the claims policy names', async () => {
    assert.equal((await call(await corp.token(), '/scoped')).status, 200);
    const res = await call(await partner.token(), '/scoped');
    assert.equal(res.status, 403, "the partner's read scope is not corp's");
  });

  it('refuses at load a policy-wide mapping, group claim, match_names or shared names with several issuers, saying how to fix it', async () => {
    const issuer = (name: string) => `{ issuer: "https://${name}.test", name: ${name}, algorithms: [RS256], jwks_url: "https://${name}.test/jwks" }`;
    const file = writeConfig(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes:
  - { name: a, service: s, match: { paths: [/a] }, policies: [{ jwt: { issuers: [${issuer('corp')}, ${issuer('partner')}], consumer: { mapping: { billing-service: billing } } } }] }
  - { name: b, service: s, match: { paths: [/b] }, policies: [{ jwt: { issuers: [${issuer('corp')}, ${issuer('partner')}], consumer: { groups_claim: groups } } }] }
  - { name: c, service: s, match: { paths: [/c] }, policies: [{ jwt: { issuers: [${issuer('corp')}, ${issuer('partner')}], consumer: { match_names: true } } }] }
  - name: d
    service: s
    match: { paths: [/d] }
    policies: [{ jwt: { issuers: [${issuer('corp').slice(0, -1)}, consumer: { prefix: "" } }, ${issuer('partner').slice(0, -1)}, consumer: { prefix: "" } }] } }]
  - { name: e, service: s, match: { paths: [/e] }, policies: [{ jwt: { issuers: [${issuer('corp')}, ${issuer('partner')}] } }, { claims: { scopes: [orders.write] } }] }
consumers: [{ name: billing }]
`);
    const res = await cli(['validate', file]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /routes\[0\]\.policies\[0\]\.jwt\.consumer\.mapping: with several issuers .*issuers\[i\]\.consumer\.mapping/);
    assert.match(res.stderr, /routes\[1\]\.policies\[0\]\.jwt\.consumer\.groups_claim: with several issuers .*issuers\[i\]\.consumer\.groups_claim/);
    assert.match(res.stderr, /routes\[2\]\.policies\[0\]\.jwt\.consumer\.match_names: with several issuers .*issuers\[i\]\.consumer\.match_names/);
    assert.match(res.stderr, /routes\[3\]\.policies\[0\]\.jwt\.issuers\[1\]\.consumer\.prefix: issuers\[0\] names its consumers the same way/);
    assert.match(res.stderr, /routes\[4\]\.policies: claims: the route takes scopes and claims from several issuers \(https:\/\/corp\.test, https:\/\/partner\.test\); name the ones these rules are for in claims\.issuers/);
  });
});

describe('jwt with an unprefixed issuer: its names never cross into another issuer\'s namespace', () => {
  let upstream: TestUpstream;
  let corp: TestIdp;
  let partner: TestIdp;
  let gw: TestGateway;
  const ALICE = { client_id: 'alice-app', client_secret: 'alice-app-secret-for-tests-0123', grant_types: ['client_credentials'], redirect_uris: [], response_types: [] };
  const MALLORY = { client_id: 'mallory-app', client_secret: 'mallory-app-secret-for-tests-012', grant_types: ['client_credentials'], redirect_uris: [], response_types: [] };
  const JDOE = { client_id: 'jdoe-app', client_secret: 'jdoe-app-secret-for-tests-012345', grant_types: ['client_credentials'], redirect_uris: [], response_types: [] };
  // The naming claim is one users choose (a username): mallory at corp picked "partner:jdoe".
  const names = { 'alice-app': { username: 'alice' }, 'mallory-app': { username: 'partner:jdoe' }, 'jdoe-app': { username: 'jdoe' } };
  const call = (token: string) => send(gw.url, '/mixed', { headers: { authorization: `Bearer ${token}` } });

  before(async () => {
    upstream = await startUpstream();
    corp = await startIdp({ clients: [ALICE, MALLORY], tokenClaims: names });
    partner = await startIdp({ clients: [JDOE], tokenClaims: names });
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: mixed
    service: echo
    match: { paths: [/mixed] }
    policies:
      - jwt:
          issuers:
            - { issuer: "${corp.issuer}", name: corp, discovery: true, algorithms: [RS256], audiences: ["${API_RESOURCE}"], consumer: { claim: username, prefix: "" } }
            - { issuer: "${partner.issuer}", name: partner, discovery: true, algorithms: [RS256], audiences: ["${API_RESOURCE}"], consumer: { claim: username } }
`);
  });
  after(async () => {
    await gw.close();
    await corp.close();
    await partner.close();
    await upstream.close();
  });

  it('refuses a name holding ":" from the unprefixed issuer (401, auth.consumer_namespace), and keeps plain names and prefixed ones', async () => {
    const jdoe = await call(await partner.token({ client: JDOE.client_id, secret: JDOE.client_secret }));
    assert.equal(jdoe.status, 200);
    assert.equal(jdoe.json().headers['x-consumer-name'], 'partner:jdoe');
    const alice = await call(await corp.token({ client: ALICE.client_id, secret: ALICE.client_secret }));
    assert.equal(alice.status, 200);
    assert.equal(alice.json().headers['x-consumer-name'], 'alice', 'the unprefixed issuer keeps plain names');
    const before = upstream.seen.length;
    const mallory = await call(await corp.token({ client: MALLORY.client_id, secret: MALLORY.client_secret }));
    assert.equal(mallory.status, 401, 'a corp user named "partner:jdoe" is never partner\'s jdoe');
    assert.equal(upstream.seen.length, before);
    const line = await gw.waitForLog((l) => l.type === 'access' && l.status === 401 && Array.isArray(l.events) && (l.events as string[]).some((e) => e.endsWith('auth.consumer_namespace')));
    assert.equal(line.route, 'mixed');
  });
});

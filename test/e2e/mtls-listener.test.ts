/**
 * Client certificates on a TLS listener (client_auth), over real sockets:
 * required refuses missing, wrong-CA, expired and revoked certificates at the
 * connection and logs why; optional lets them through for public routes and
 * leaves the decision to mtls-auth. The verified identity reaches the
 * upstream in X-Forwarded-Client-Cert, which a client can never set.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { h2Request, h2Session, httpsGet, makePki, type IssuedFiles, type Pki } from '../helpers/tls.js';

const DAY = 86_400_000;

describe('client certificates on a TLS listener', () => {
  let pki: Pki;
  let otherCa: Pki;
  let upstream: TestUpstream;
  let gw: TestGateway;
  let alice: IssuedFiles;
  let expired: IssuedFiles;
  let revoked: IssuedFiles;
  let stranger: IssuedFiles;
  let requiredUrl: string;
  let optionalUrl: string;

  before(async () => {
    pki = await makePki('Clients CA');
    otherCa = await makePki('Other CA');
    await pki.issue('server', { dns: ['localhost'], ips: ['127.0.0.1'] });
    alice = await pki.issue('alice', { spiffe: 'spiffe://example.org/ns/prod/sa/alice', usage: 'client' });
    expired = await pki.issue('expired', { spiffe: 'spiffe://example.org/ns/prod/sa/old', usage: 'client', notBefore: new Date(Date.now() - 10 * DAY), ttlMs: DAY });
    revoked = await pki.issue('revoked', { spiffe: 'spiffe://example.org/ns/prod/sa/fired', usage: 'client' });
    stranger = await otherCa.issue('stranger', { spiffe: 'spiffe://example.org/ns/prod/sa/alice', usage: 'client' });
    pki.write('clients.crl', await pki.ca.crl([{ serial: revoked.serial, at: new Date().toISOString(), reason: 'keyCompromise' }], 7 * DAY, 1));
    upstream = await startUpstream();
    const listener = (name: string, mode: string) => `
  - name: ${name}
    address: "127.0.0.1:0"
    protocol: https
    tls:
      certificates: [{ cert: server.crt, key: server.key }]
      client_auth: { mode: ${mode}, ca: Clients_CA.crt, crl: clients.crl }`;
    gw = await startGateway(
      `
listeners:${listener('required', 'required')}${listener('optional', 'optional')}
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: public, service: echo, public: true, match: { paths: [/public] } }
  - { name: private, service: echo, match: { paths: [/private] }, policies: [{ mtls-auth: {} }] }
consumers:
  - { name: alice, credentials: { mtls-auth: [{ san_uri: "spiffe://example.org/ns/prod/sa/alice" }] } }
`,
      { dir: pki.dir },
    );
    requiredUrl = gw.gateway.url('required');
    optionalUrl = gw.gateway.url('optional');
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  const as = (who: IssuedFiles | undefined) => ({ ca: pki.caPem, ...(who ? { cert: who.certPem, key: who.keyPem } : {}) });

  it('required: a valid certificate gets through, and the upstream learns who it is in X-Forwarded-Client-Cert', async () => {
    const res = await httpsGet(requiredUrl, '/public', as(alice));
    assert.equal(res.status, 200);
    const forwarded = res.json().headers['x-forwarded-client-cert'] as string;
    assert.match(forwarded, /^Hash=[0-9a-f]{64};Subject="CN=alice";URI=spiffe:\/\/example\.org\/ns\/prod\/sa\/alice$/);
  });

  for (const [label, who, reason] of [
    ['no certificate', undefined, 'no client certificate'],
    ['a certificate from another CA', 'stranger', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    ['an expired certificate', 'expired', 'CERT_HAS_EXPIRED'],
    ['a revoked certificate', 'revoked', 'CERT_REVOKED'],
  ] as const) {
    it(`required: ${label} is refused at the connection, and the log says why`, async () => {
      const files = who === undefined ? undefined : { stranger, expired, revoked }[who];
      const seen = upstream.seen.length;
      await assert.rejects(httpsGet(requiredUrl, '/public', as(files)));
      assert.equal(upstream.seen.length, seen, 'nothing reached the upstream');
      const logged = await gw.waitForLog((l) => l.msg === 'client certificate refused' && l.listener === 'required' && l.reason === reason);
      assert.equal(logged.level, 'warn');
    });
  }

  it('optional: without a certificate, public routes answer and mtls-auth routes refuse with 401', async () => {
    assert.equal((await httpsGet(optionalUrl, '/public', as(undefined))).status, 200);
    const refused = await httpsGet(optionalUrl, '/private', as(undefined));
    assert.equal(refused.status, 401);
    assert.equal(refused.headers['www-authenticate'], 'Certificate realm="portcullis"');
    assert.equal(refused.json().error.code, 'unauthorized');
  });

  it('optional: an unverified certificate (expired, revoked, other CA) is never an identity', async () => {
    for (const who of [expired, revoked, stranger]) {
      const open = await httpsGet(optionalUrl, '/public', as(who));
      assert.equal(open.status, 200);
      assert.equal(open.json().headers['x-forwarded-client-cert'], undefined, 'an unverified certificate is not forwarded');
      const refused = await httpsGet(optionalUrl, '/private/unverified', as(who));
      assert.equal(refused.status, 401);
    }
    const logged = await gw.waitForLog((l) => l.type === 'access' && l.path === '/private/unverified' && l.status === 401);
    assert.deepEqual(logged.events, ['blocked:auth.invalid_credentials']);
  });

  it('optional: a verified certificate authenticates on mtls-auth routes', async () => {
    const res = await httpsGet(optionalUrl, '/private', as(alice));
    assert.equal(res.status, 200);
    assert.equal(res.json().headers['x-consumer-name'], 'alice');
  });

  it('strips an X-Forwarded-Client-Cert sent by the client, with or without a certificate of its own', async () => {
    const forged = { 'x-forwarded-client-cert': 'Hash=00;Subject="CN=admin";URI=spiffe://example.org/ns/prod/sa/admin' };
    const anonymous = await httpsGet(optionalUrl, '/public', { ...as(undefined), headers: forged });
    assert.equal(anonymous.json().headers['x-forwarded-client-cert'], undefined);
    const withCert = await httpsGet(optionalUrl, '/public', { ...as(alice), headers: forged });
    assert.match(withCert.json().headers['x-forwarded-client-cert'] as string, /URI=spiffe:\/\/example\.org\/ns\/prod\/sa\/alice$/);
    const forgedPrivate = await httpsGet(optionalUrl, '/private', { ...as(undefined), headers: forged });
    assert.equal(forgedPrivate.status, 401, 'a forged header is no identity');
  });

  it('keeps the identity over HTTP/2 streams', async () => {
    const session = await h2Session(optionalUrl, as(alice));
    try {
      const [a, b] = await Promise.all([h2Request(session, { ':path': '/private/1' }), h2Request(session, { ':path': '/private/2' })]);
      assert.equal(a.status, 200);
      assert.equal(JSON.parse(a.text).headers['x-consumer-name'], 'alice');
      assert.equal(b.status, 200);
    } finally {
      session.close();
    }
  });

  it('keeps the identity on a resumed TLS session', async () => {
    const agent = new Agent({ keepAlive: false, maxCachedSessions: 10 });
    const u = new URL(optionalUrl);
    const get = () =>
      new Promise<{ status: number; consumer: string | undefined; resumed: boolean }>((resolve, reject) => {
        request({ host: u.hostname, port: u.port, path: '/private', agent, servername: 'localhost', ...as(alice) }, (res) => {
          const resumed = (res.socket as TLSSocket).isSessionReused();
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, consumer: (JSON.parse(body) as { headers?: Record<string, string> }).headers?.['x-consumer-name'], resumed }));
        })
          .on('error', reject)
          .end();
      });
    try {
      const first = await get();
      assert.equal(first.status, 200);
      let second = await get();
      // TLS 1.3 tickets arrive after the handshake: the second connection may still be a full one.
      if (!second.resumed) second = await get();
      assert.equal(second.resumed, true, 'the session was resumed');
      assert.equal(second.status, 200);
      assert.equal(second.consumer, 'alice');
    } finally {
      agent.destroy();
    }
  });
});

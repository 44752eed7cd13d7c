/**
 * TLS toward upstreams, against real TLS upstreams with certificates from
 * the built-in CA: verification on by default, SNI and name checks, SPKI
 * pinning, a client certificate the upstream sees (from files, or issued by
 * the CA and renewed in the running gateway), HTTP/2 upstreams, and a 502
 * with a log line that says which target failed and why.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGateway, writeConfig, type TestGateway } from '../helpers/gateway.js';
import { h2Request, h2Session, httpsGet, makePki, startTlsUpstream, type IssuedFiles, type Pki, type TlsUpstream } from '../helpers/tls.js';
import { Gateway } from '../../src/gateway.js';
import { InvalidConfigError } from '../../src/config/errors.js';
import { send } from '../helpers/gateway.js';

const spki = (files: IssuedFiles) => createHash('sha256').update(new X509Certificate(files.certPem).publicKey.export({ type: 'spki', format: 'der' })).digest('base64');

describe('upstream TLS', () => {
  let mesh: Pki;
  let upstreamCert: IssuedFiles;
  let gatewayCert: IssuedFiles;
  let plain: TlsUpstream;
  let mutual: TlsUpstream;
  let h2only: TlsUpstream;
  let gw: TestGateway;
  let caDir: string;

  before(async () => {
    mesh = await makePki('Mesh CA');
    caDir = mesh.dir;
    upstreamCert = await mesh.issue('orders', { dns: ['orders.internal'], ips: ['127.0.0.1'], spiffe: 'spiffe://example.org/ns/prod/sa/orders' });
    gatewayCert = await mesh.issue('gateway', { spiffe: 'spiffe://example.org/ns/edge/sa/portcullis', usage: 'client' });
    // The CA key, for the issuing service: written by the test the way `portcullis ca init` does.
    const { initCaDir } = await import('../../src/ca/store.js');
    const issuing = await initCaDir(join(caDir, 'issuer'), { name: 'Issuing CA' });
    plain = await startTlsUpstream({ cert: upstreamCert.certPem, key: upstreamCert.keyPem });
    mutual = await startTlsUpstream({ cert: upstreamCert.certPem, key: upstreamCert.keyPem, ca: mesh.caPem + issuing.authority.certPem, requireClientCert: true });
    h2only = await startTlsUpstream({ cert: upstreamCert.certPem, key: upstreamCert.keyPem, http2: true });
    const wrongPin = createHash('sha256').update('not the key').digest('base64');
    gw = await startGateway(
      `
listeners: [{ name: main, address: "127.0.0.1:0" }]
services:
  - { name: verified, targets: [{ url: "${plain.url}" }], tls: { ca: Mesh_CA.crt, server_name: orders.internal } }
  - { name: system-roots, targets: [{ url: "${plain.url}" }], retries: { attempts: 0 } }
  - { name: wrong-name, targets: [{ url: "${plain.url}" }], tls: { ca: Mesh_CA.crt, server_name: billing.internal }, retries: { attempts: 0 } }
  - { name: pinned, targets: [{ url: "${plain.url}" }], tls: { ca: Mesh_CA.crt, server_name: orders.internal, pin_sha256: ["${spki(upstreamCert)}"] } }
  - { name: mispinned, targets: [{ url: "${plain.url}" }], tls: { ca: Mesh_CA.crt, server_name: orders.internal, pin_sha256: ["${wrongPin}"] }, retries: { attempts: 0 } }
  - { name: unverified, targets: [{ url: "${plain.url}" }], tls: { verify: false } }
  - { name: mutual, targets: [{ url: "${mutual.url}" }], tls: { ca: Mesh_CA.crt, server_name: orders.internal, cert: gateway.crt, key: gateway.key } }
  - name: issued
    targets: [{ url: "${mutual.url}" }]
    keepalive_timeout: 250ms
    tls:
      ca: Mesh_CA.crt
      server_name: orders.internal
      issue: { ca_cert: issuer/ca.crt, ca_key: issuer/ca.key, spiffe: "spiffe://example.org/ns/edge/sa/portcullis", ttl: 3s, renew_before: 1500ms }
  - name: long-lived
    targets: [{ url: "${mutual.url}" }]
    tls:
      ca: Mesh_CA.crt
      server_name: orders.internal
      issue: { ca_cert: issuer/ca.crt, ca_key: issuer/ca.key, spiffe: "spiffe://example.org/ns/edge/sa/long-lived", ttl: 90d }
  - { name: h2, targets: [{ url: "${h2only.url}" }], http2: true, tls: { ca: Mesh_CA.crt, server_name: orders.internal } }
  - { name: preserved, targets: [{ url: "${plain.url}" }], preserve_host: true, tls: { ca: Mesh_CA.crt, server_name: orders.internal }, retries: { attempts: 0 } }
  - { name: by-name, targets: [{ url: "https://localhost:${plain.port}" }], tls: { ca: Mesh_CA.crt, server_name: orders.internal }, retries: { attempts: 0 } }
routes:
  - { name: verified, service: verified, public: true, match: { paths: [/verified] } }
  - { name: system-roots, service: system-roots, public: true, match: { paths: [/system-roots] } }
  - { name: wrong-name, service: wrong-name, public: true, match: { paths: [/wrong-name] } }
  - { name: pinned, service: pinned, public: true, match: { paths: [/pinned] } }
  - { name: mispinned, service: mispinned, public: true, match: { paths: [/mispinned] } }
  - { name: unverified, service: unverified, public: true, match: { paths: [/unverified] } }
  - { name: mutual, service: mutual, public: true, match: { paths: [/mutual] } }
  - { name: issued, service: issued, public: true, match: { paths: [/issued] } }
  - { name: long-lived, service: long-lived, public: true, match: { paths: [/long-lived] } }
  - { name: h2, service: h2, public: true, match: { paths: [/h2] } }
  - { name: preserved, service: preserved, public: true, match: { paths: [/preserved] } }
  - { name: by-name, service: by-name, public: true, match: { paths: [/by-name] } }
`,
      { dir: caDir },
    );
  });
  after(async () => {
    await gw.close();
    await plain.close();
    await mutual.close();
    await h2only.close();
  });

  it('verifies the upstream against the CA bundle and sends server_name as SNI', async () => {
    const res = await send(gw.url, '/verified');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json().servername, 'orders.internal');
  });

  it('verifies by default: an upstream the system roots do not trust gets 502, and the log names target and reason', async () => {
    const res = await send(gw.url, '/system-roots');
    assert.equal(res.status, 502);
    assert.equal(res.json().error.code, 'bad_gateway');
    assert.doesNotMatch(res.text, /certificate|127\.0\.0\.1/, 'the client learns nothing about the upstream');
    const logged = await gw.waitForLog((l) => l.msg === 'upstream TLS handshake failed' && l.service === 'system-roots');
    assert.equal(logged.target, plain.url);
    assert.equal(logged.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('sends server_name as SNI and checks it whatever the client\'s Host (preserve_host) or the target URL\'s host', async () => {
    for (const host of ['billing.internal', 'attacker.example']) {
      const res = await send(gw.url, '/preserved', { headers: { host } });
      assert.equal(res.status, 200, `${host}: ${res.text}`);
      assert.equal(res.json().servername, 'orders.internal', 'the client does not choose the upstream TLS name');
      assert.equal(res.json().headers.host, host, 'the Host header itself is preserved');
    }
    const byName = await send(gw.url, '/by-name');
    assert.equal(byName.status, 200, byName.text);
    assert.equal(byName.json().servername, 'orders.internal', 'server_name, not the URL host "localhost"');
  });

  it('refuses an upstream whose certificate does not carry server_name', async () => {
    assert.equal((await send(gw.url, '/wrong-name')).status, 502);
    const logged = await gw.waitForLog((l) => l.msg === 'upstream TLS handshake failed' && l.service === 'wrong-name');
    assert.equal(logged.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('pins the upstream public key: the right pin passes, a wrong one is refused', async () => {
    assert.equal((await send(gw.url, '/pinned')).status, 200);
    assert.equal((await send(gw.url, '/mispinned')).status, 502);
    const logged = await gw.waitForLog((l) => l.msg === 'upstream TLS handshake failed' && l.service === 'mispinned');
    assert.equal(logged.code, 'ERR_TLS_PIN_MISMATCH');
  });

  it('connects without verification only when told to, and warns about it', async () => {
    assert.equal((await send(gw.url, '/unverified')).status, 200);
    assert.ok(gw.logs.some((l) => l.level === 'warn' && l.service === 'unverified' && /verification is OFF/.test(l.msg)));
  });

  it('presents its client certificate to an upstream that requires one', async () => {
    const res = await send(gw.url, '/mutual');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json().clientCert.uri, 'spiffe://example.org/ns/edge/sa/portcullis');
    assert.equal(res.json().clientCert.serial, gatewayCert.serial);
    assert.ok(gw.gateway.certificates.gauge().some((g) => g.source === 'service:mutual' && g.role === 'upstream-client'));
  });

  it('issues its own client certificate from the built-in CA and renews it before it expires, without failing a request', async () => {
    const first = await send(gw.url, '/issued');
    assert.equal(first.status, 200, first.text);
    const firstCert = first.json().clientCert as { uri: string; serial: string };
    assert.equal(firstCert.uri, 'spiffe://example.org/ns/edge/sa/portcullis');
    const serials = new Set([firstCert.serial]);
    const deadline = Date.now() + 8000;
    // Requests keep going through the renewal; each new connection shows whichever certificate is current.
    while (serials.size < 2) {
      assert.ok(Date.now() < deadline, 'a renewed certificate was presented in time');
      mutual.dropConnections();
      const res = await send(gw.url, '/issued');
      assert.equal(res.status, 200, res.text);
      serials.add((res.json().clientCert as { serial: string }).serial);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(gw.logs.filter((l) => l.msg === 'upstream client certificate issued').length >= 2);
  });

  it('issues a long-lived client certificate once, not again and again (its renewal is further off than a timer can wait)', async () => {
    const res = await send(gw.url, '/long-lived');
    assert.equal(res.status, 200, res.text);
    assert.equal((res.json().clientCert as { uri: string }).uri, 'spiffe://example.org/ns/edge/sa/long-lived');
    await new Promise((r) => setTimeout(r, 500));
    const issued = gw.logs.filter((l) => l.msg === 'upstream client certificate issued' && l.spiffe === 'spiffe://example.org/ns/edge/sa/long-lived');
    assert.equal(issued.length, 1);
  });

  it('speaks HTTP/2 to an upstream that offers it', async () => {
    const res = await send(gw.url, '/h2');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json().httpVersion, '2.0');
  });
});

describe('upstream TLS config', () => {
  it('refuses tls settings on a plain http target, and a cert without its key', async () => {
    const pki = await makePki();
    await pki.issue('c', { dns: ['c.example'] });
    writeFileSync(join(pki.dir, 'x.txt'), 'x');
    const file = writeConfig(
      `
listeners: [{ name: main, address: "127.0.0.1:0" }]
services:
  - name: s
    targets: [{ url: "http://127.0.0.1:9" }]
    tls: { cert: c.crt }
`,
      pki.dir,
    );
    const err = await Gateway.start({ configFile: file }).then(
      () => assert.fail('started'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof InvalidConfigError);
    const text = err.issues.map((i) => `${i.line}: ${i.path}: ${i.message}`).join('\n');
    assert.match(text, /5: services\[0\]\.targets\[0\]\.url: this service has tls settings, but the target is plain http:\/\//);
    assert.match(text, /6: services\[0\]\.tls\.key: cert and key go together/);
  });
});

describe('HTTP/2 upstream trailers', () => {
  let pki: Pki;
  let upstream: TlsUpstream;
  let h1upstream: TlsUpstream;
  let gw: TestGateway;

  before(async () => {
    pki = await makePki();
    const cert = await pki.issue('up', { dns: ['localhost'], ips: ['127.0.0.1'] });
    upstream = await startTlsUpstream({ cert: cert.certPem, key: cert.keyPem, http2: true });
    h1upstream = await startTlsUpstream({ cert: cert.certPem, key: cert.keyPem });
    gw = await startGateway(
      `
listeners: [{ name: main, address: "127.0.0.1:0", protocol: https, tls: { certificates: [{ cert: up.crt, key: up.key }] } }]
services:
  - { name: h2, targets: [{ url: "${upstream.url}" }], http2: true, tls: { ca: Test_CA.crt } }
  - { name: h1, targets: [{ url: "${h1upstream.url}" }], tls: { ca: Test_CA.crt } }
routes:
  - { name: h2, service: h2, public: true, match: { paths: [/h2] }, strip_prefix: true }
  - { name: h1, service: h1, public: true, match: { paths: [/h1] }, strip_prefix: true }
`,
      { dir: pki.dir },
    );
  });
  after(async () => {
    await gw.close();
    await upstream.close();
    await h1upstream.close();
  });

  it('forwards trailers from an HTTP/2 and an HTTP/1.1 upstream to an HTTP/2 client, minus fields trailers may not carry', async () => {
    const session = await h2Session(gw.url, { ca: pki.caPem });
    try {
      for (const prefix of ['/h2', '/h1']) {
        const res = await h2Request(session, { ':path': `${prefix}/trailers`, te: 'trailers' });
        assert.equal(res.status, 200);
        assert.equal(res.text, 'payload');
        assert.equal(res.trailers?.['grpc-status'], '0', prefix);
        assert.equal(res.trailers?.['grpc-message'], 'ok');
        assert.equal(res.trailers?.['set-cookie'], undefined, 'fields a trailer may not carry are dropped');
        assert.equal(res.trailers?.['x-powered-by'], undefined, 'hide_response_headers holds for trailers too');
      }
      assert.equal(upstream.seen.at(-1)!.headers.te, 'trailers', 'TE: trailers reaches the upstream');
    } finally {
      session.close();
    }
  });

  it('forwards trailers to an HTTP/1.1 client in the last chunk', async () => {
    const res = await httpsGet(gw.url, '/h2/trailers', { ca: pki.caPem, headers: { te: 'trailers' } });
    assert.equal(res.status, 200);
    assert.equal(res.text, 'payload');
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.equal(res.trailers['grpc-status'], '0');
    assert.equal(res.trailers['set-cookie'], undefined);
    assert.equal(res.trailers['x-powered-by'], undefined);
  });
});

/**
 * mtls-auth over real TLS: verified client certificates made by the built-in
 * CA map to consumers by URI SAN (SPIFFE), DNS SAN, email SAN, subject DN or
 * fingerprint; anything else is 401. Config mistakes are refused at load.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { startGateway, writeConfig, type TestGateway } from '../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../test/helpers/upstream.js';
import { httpsGet, makePki, type IssuedFiles, type Pki } from '../../../test/helpers/tls.js';
import { Gateway } from '../../gateway.js';
import { InvalidConfigError } from '../../config/errors.js';

describe('mtls-auth', () => {
  let pki: Pki;
  let upstream: TestUpstream;
  let gw: TestGateway;
  const certs: Record<string, IssuedFiles> = {};

  before(async () => {
    pki = await makePki('Clients CA');
    await pki.issue('server', { dns: ['localhost'], ips: ['127.0.0.1'] });
    certs.spiffe = await pki.issue('spiffe', { spiffe: 'spiffe://example.org/ns/prod/sa/orders', usage: 'client' });
    certs.dns = await pki.issue('dns', { dns: ['billing.internal'], usage: 'client' });
    certs.email = await pki.issue('email', { emails: ['Carol@Example.com'], usage: 'client' });
    certs.subject = await pki.issue('subject', { commonName: 'dave', organization: 'Example, Inc.', dns: ['dave.unmapped.example'], usage: 'client' });
    certs.pinned = await pki.issue('pinned', { dns: ['erin.unmapped.example'], usage: 'client' });
    certs.both = await pki.issue('both', { spiffe: 'spiffe://example.org/ns/prod/sa/orders', dns: ['billing.internal'], usage: 'client' });
    // One CN whose value spells dave's whole subject across a line break: a CA that copies requested names would sign it.
    certs.forged = await pki.issue('forged', { commonName: 'dave\nO=Example, Inc.', dns: ['forged.unmapped.example'], usage: 'client' });
    certs.nobody = await pki.issue('nobody', { spiffe: 'spiffe://example.org/ns/prod/sa/nobody', usage: 'client' });
    const fingerprint = new X509Certificate(certs.pinned.certPem).fingerprint256; // "AB:CD:..." as openssl prints it
    upstream = await startUpstream();
    gw = await startGateway(
      `
listeners:
  - name: main
    address: "127.0.0.1:0"
    protocol: https
    tls:
      certificates: [{ cert: server.crt, key: server.key }]
      client_auth: { mode: optional, ca: Clients_CA.crt }
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: private, service: echo, policies: [{ mtls-auth: {} }] }
consumers:
  - { name: orders, groups: [services], credentials: { mtls-auth: [{ id: orders-svid, san_uri: "spiffe://example.org/ns/prod/sa/orders" }] } }
  - { name: billing, credentials: { mtls-auth: [{ san_dns: BILLING.internal }] } }
  - { name: carol, credentials: { mtls-auth: [{ san_email: carol@example.com }] } }
  - { name: dave, credentials: { mtls-auth: [{ subject: 'O=Example\\, Inc.,CN=dave' }] } }
  - { name: erin, credentials: { mtls-auth: [{ fingerprint_sha256: "${fingerprint}" }] } }
`,
      { dir: pki.dir },
    );
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  const call = (who: IssuedFiles | undefined) => httpsGet(gw.url, '/', { ca: pki.caPem, ...(who ? { cert: who.certPem, key: who.keyPem } : {}) });

  it('maps a SPIFFE ID (URI SAN) to its consumer and tells the upstream', async () => {
    const res = await call(certs.spiffe);
    assert.equal(res.status, 200);
    const headers = res.json().headers;
    assert.equal(headers['x-consumer-name'], 'orders');
    assert.equal(headers['x-consumer-groups'], 'services');
    assert.equal(headers['x-credential-id'], 'orders-svid');
  });

  it('maps a DNS SAN and an email SAN, ignoring case', async () => {
    assert.equal((await call(certs.dns)).json().headers['x-consumer-name'], 'billing');
    assert.equal((await call(certs.email)).json().headers['x-consumer-name'], 'carol');
  });

  it('maps a subject DN whatever the order of its attributes, with RFC 4514 escapes', async () => {
    const res = await call(certs.subject);
    assert.equal(res.status, 200);
    assert.equal(res.json().headers['x-consumer-name'], 'dave');
  });

  it('does not take a single attribute with a line break in it for a whole subject', async () => {
    const res = await call(certs.forged);
    assert.equal(res.status, 401);
    assert.equal(res.json().error.message, 'A verified client certificate is required.');
  });

  it('maps a SHA-256 fingerprint written the way openssl prints it', async () => {
    assert.equal((await call(certs.pinned)).json().headers['x-consumer-name'], 'erin');
  });

  it('prefers the more specific name when a certificate carries several', async () => {
    assert.equal((await call(certs.both)).json().headers['x-consumer-name'], 'orders', 'URI SAN before DNS SAN');
  });

  it('answers 401 to a verified certificate nobody holds, and to no certificate', async () => {
    for (const who of [certs.nobody, undefined]) {
      const res = await call(who);
      assert.equal(res.status, 401);
      assert.equal(res.json().error.message, 'A verified client certificate is required.');
    }
    assert.equal(upstream.seen.filter((s) => s.url === '/' && s.headers['x-consumer-name'] === undefined).length, 0);
  });
});

describe('mtls-auth config', () => {
  const issuesOf = async (consumers: string): Promise<string> => {
    const file = writeConfig(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes: [{ name: r, service: s, policies: [{ mtls-auth: {} }] }]
consumers:
${consumers}
`);
    const err = await Gateway.start({ configFile: file }).then(
      () => assert.fail('started'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof InvalidConfigError);
    return err.issues.map((i) => `${i.line}: ${i.path}: ${i.message}`).join('\n');
  };

  it('refuses a credential that names two things', async () => {
    const text = await issuesOf('  - { name: a, credentials: { mtls-auth: [{ san_uri: "spiffe://x/y", san_dns: a.example }] } }');
    assert.match(text, /^6: consumers\[0\]\.credentials\.mtls-auth\[0\]: an mtls-auth credential names exactly one of fingerprint_sha256, san_uri, san_dns, san_email, subject$/);
  });

  it('refuses the same name held by two consumers (DNS names compared without case)', async () => {
    const text = await issuesOf(`  - { name: b, credentials: { mtls-auth: [{ san_dns: b.example }] } }
  - { name: c, credentials: { mtls-auth: [{ san_dns: B.example }] } }`);
    assert.match(text, /^7: consumers\[1\]\.credentials\.mtls-auth\[0\]: this san_dns is also held by consumer "b"; it must be unique$/);
  });

  it('refuses a malformed subject and a malformed fingerprint', async () => {
    assert.match(await issuesOf('  - { name: d, credentials: { mtls-auth: [{ subject: "CNdave" }] } }'), /^6: consumers\[0\]\.credentials\.mtls-auth\[0\]\.subject: invalid subject: "CNdave" has no "=value"$/);
    assert.match(await issuesOf('  - { name: e, credentials: { mtls-auth: [{ fingerprint_sha256: "abc" }] } }'), /^6: consumers\[0\]\.credentials\.mtls-auth\[0\]\.fingerprint_sha256: /);
  });
});

describe('mtls-auth with a listener trusting two CAs: names bound to the CA that issued them', () => {
  let corp: Pki;
  let partner: Pki;
  let upstream: TestUpstream;
  let gw: TestGateway;
  const certs = {} as Record<'corpOrders' | 'partnerOrders' | 'partnerApp' | 'corpApp', IssuedFiles>;
  const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256;

  before(async () => {
    corp = await makePki('Corp CA');
    partner = await makePki('Partner CA', corp.dir);
    await corp.issue('server', { dns: ['localhost'], ips: ['127.0.0.1'] });
    const orders = 'spiffe://corp.example/ns/prod/sa/orders';
    certs.corpOrders = await corp.issue('corp-orders', { spiffe: orders, usage: 'client' });
    // The partner's CA, trusted for its own workloads, signs a certificate with corp's SPIFFE ID and a partner name.
    certs.partnerOrders = await partner.issue('partner-orders', { spiffe: orders, usage: 'client' });
    certs.partnerApp = await partner.issue('partner-app', { dns: ['app.partner.example'], usage: 'client' });
    certs.corpApp = await corp.issue('corp-app', { dns: ['app.partner.example'], usage: 'client' });
    corp.write('clients.crt', corp.caPem + partner.caPem);
    upstream = await startUpstream();
    gw = await startGateway(
      `
listeners:
  - name: main
    address: "127.0.0.1:0"
    protocol: https
    tls:
      certificates: [{ cert: server.crt, key: server.key }]
      client_auth: { mode: optional, ca: clients.crt }
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: private, service: echo, policies: [{ mtls-auth: {} }] }
consumers:
  - { name: orders, credentials: { mtls-auth: [{ san_uri: "${orders}", issuer_fingerprint_sha256: "${fingerprintOf(corp.caPem)}" }] } }
  - { name: partner-app, credentials: { mtls-auth: [{ san_dns: app.partner.example, issuer_fingerprint_sha256: "${fingerprintOf(partner.caPem).replace(/:/g, '').toLowerCase()}" }] } }
`,
      { dir: corp.dir },
    );
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  const call = (who: IssuedFiles) => httpsGet(gw.url, '/', { ca: corp.caPem, cert: who.certPem, key: who.keyPem });

  it('maps each name only from the CA the credential trusts, both ways', async () => {
    const corpOrders = await call(certs.corpOrders);
    assert.equal(corpOrders.status, 200);
    assert.equal(corpOrders.json().headers['x-consumer-name'], 'orders');
    const partnerApp = await call(certs.partnerApp);
    assert.equal(partnerApp.status, 200);
    assert.equal(partnerApp.json().headers['x-consumer-name'], 'partner-app');
    const before = upstream.seen.length;
    assert.equal((await call(certs.partnerOrders)).status, 401, "the partner CA's certificate naming corp's SPIFFE ID is not orders");
    assert.equal((await call(certs.corpApp)).status, 401, "corp's certificate naming the partner's DNS name is not partner-app");
    assert.equal(upstream.seen.length, before);
  });
});

/**
 * Listener certificates issued by the built-in CA are renewed by the gateway
 * itself (issue 13, item 6): with `renew:`, a certificate inside its renewal
 * window is replaced by a new key and certificate for the same names, written
 * over its files and served from the next handshake, with no restart and no
 * dropped connection. A renewal that fails keeps the old certificate serving.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { CertificateAuthority } from '../../src/ca/authority.js';
import { cli } from '../helpers/cli.js';
import { startGateway, writeConfig, type TestGateway } from '../helpers/gateway.js';
import { echo, startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { httpsGet, makePki, type Pki } from '../helpers/tls.js';

const HOUR = 3_600_000;

const config = (upstream: string, renew: string) => `listeners:
  - name: main
    address: "127.0.0.1:0"
    protocol: https
    tls:
      certificates:
        - cert: server.crt
          key: server.key
          renew: ${renew}
services: [{ name: echo, targets: [{ url: "${upstream}" }] }]
routes: [{ name: open, service: echo, public: true, match: { paths: [/] } }]
`;

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not seen in 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('listener certificate renewal from the built-in CA', () => {
  let pki: Pki;
  let upstream: TestUpstream;
  let gw: TestGateway | undefined;

  before(async () => {
    pki = await makePki('Renewal CA');
    // makePki keeps the CA key in memory; renewal reads it from a file, as `portcullis ca init` leaves it.
    const { authority, keyPem } = await CertificateAuthority.create({ name: 'Renewal CA' });
    pki = { ...pki, ca: authority, caPem: authority.certPem, caFile: pki.write('renewal-ca.crt', authority.certPem) };
    pki.write('renewal-ca.key', keyPem);
    upstream = await startUpstream(echo);
  });
  after(async () => {
    await gw?.close();
    await upstream.close();
  });

  it('renews a certificate inside its window: new key and certificate on disk, served from the next handshake', async () => {
    // Ten minutes left, renewed 50 minutes before expiry: due at once.
    const first = await authorityIssue(pki, 10 * 60_000);
    gw = await startGateway(config(upstream.url, `{ ca_cert: renewal-ca.crt, ca_key: renewal-ca.key, ttl: 1h, renew_before: 50m }`), { dir: pki.dir });
    const served = await until('the renewed certificate served', async () => {
      const res = await httpsGet(gw!.url, '/', { ca: pki.caPem });
      return res.peer.fingerprint256 !== first.fingerprint ? res : undefined;
    });
    assert.equal(served.status, 200);
    const onDisk = new X509Certificate(readFileSync(join(pki.dir, 'server.crt')));
    assert.equal(served.peer.fingerprint256, onDisk.fingerprint256.replaceAll(':', '').toLowerCase());
    assert.notEqual(onDisk.serialNumber, first.serial);
    assert.deepEqual(onDisk.subjectAltName?.split(', ').sort(), ['DNS:localhost', 'IP Address:127.0.0.1']);
    const lifetime = new Date(onDisk.validTo).getTime() - Date.now();
    assert.ok(lifetime > 55 * 60_000 && lifetime <= HOUR + 60_000, `renewed for the configured ttl (1h), got ${lifetime} ms`);
    assert.notEqual(readFileSync(join(pki.dir, 'server.key'), 'utf8'), first.keyPem, 'a new key, not the old one re-signed');
    assert.equal(statSync(join(pki.dir, 'server.key')).mode & 0o777, 0o600, 'the key file is readable by the gateway user only');
    const logged = await gw.waitForLog((l) => l.msg === 'listener certificate renewed from the built-in CA');
    assert.equal(logged.previous_serial, first.serial);
    assert.ok(!JSON.stringify(gw.logs).includes('PRIVATE KEY'), 'no key material in the log');
  });

  it('keeps the certificate it has serving when a renewal fails, and says so', async () => {
    await gw?.close();
    const first = await authorityIssue(pki, 10 * 60_000);
    // A CA key that does not match the CA certificate: the CA does not load.
    const other = await CertificateAuthority.create({ name: 'Other CA' });
    pki.write('wrong-ca.key', other.keyPem);
    gw = await startGateway(config(upstream.url, `{ ca_cert: renewal-ca.crt, ca_key: wrong-ca.key, ttl: 1h, renew_before: 50m }`), { dir: pki.dir });
    const failed = await gw.waitForLog((l) => l.msg === 'listener certificate could not be renewed', 10_000);
    assert.equal(failed.level, 'error');
    const res = await httpsGet(gw.url, '/', { ca: pki.caPem });
    assert.equal(res.status, 200);
    assert.equal(res.peer.fingerprint256, first.fingerprint, 'the old certificate keeps serving');
  });

  it('does not renew in a loop when the CA itself expires within the window: one renewal, then refusals a minute apart', async () => {
    await gw?.close();
    // A CA with 2 hours left: nothing it issues can last past renew_before (8h), so every new certificate is due at once.
    const short = await CertificateAuthority.create({ name: 'Short CA', ttlMs: 2 * HOUR });
    pki.write('short-ca.crt', short.authority.certPem);
    pki.write('short-ca.key', short.keyPem);
    const leaf = await short.authority.issue({ dns: ['localhost'], ips: ['127.0.0.1'], ttlMs: 30 * 60_000, usage: 'server' });
    writeFileSync(join(pki.dir, 'server.crt'), leaf.certPem);
    writeFileSync(join(pki.dir, 'server.key'), leaf.keyPem);
    gw = await startGateway(config(upstream.url, `{ ca_cert: short-ca.crt, ca_key: short-ca.key, ttl: 24h, renew_before: 8h }`), { dir: pki.dir });
    await gw.waitForLog((l) => l.msg === 'listener certificate could not be renewed', 10_000);
    // Time for a loop to show itself (it made hundreds of renewals a second before the fix).
    await new Promise((r) => setTimeout(r, 1500));
    const renewals = gw.logs.filter((l) => l.msg === 'listener certificate renewed from the built-in CA').length;
    const failures = gw.logs.filter((l) => l.msg === 'listener certificate could not be renewed');
    assert.equal(renewals, 1, 'one renewal: to the CA\'s own expiry');
    assert.equal(failures.length, 1, 'then one refusal, retried a minute later');
    assert.match(String(failures[0]!.err), /lasts longer than the certificate in place/);
    const res = await httpsGet(gw.url, '/', { ca: short.authority.certPem });
    assert.equal(res.status, 200, 'the renewed certificate serves');
  });

  it('refuses renew on inline PEM and a renewal window as long as the lifetime, with file, line and path', async () => {
    const issued = await authorityIssue(pki, HOUR);
    const file = writeConfig(
      `listeners:
  - name: main
    address: "127.0.0.1:0"
    protocol: https
    tls:
      certificates:
        - cert: ${JSON.stringify(issued.certPem)}
          key: server.key
          renew: { ca_cert: renewal-ca.crt, ca_key: renewal-ca.key }
  - name: other
    address: "127.0.0.1:0"
    protocol: https
    tls:
      certificates:
        - { cert: server.crt, key: server.key, renew: { ca_cert: renewal-ca.crt, ca_key: renewal-ca.key, ttl: 1h, renew_before: 1h } }
services: [{ name: echo, targets: [{ url: "http://127.0.0.1:9" }] }]
routes: [{ name: open, service: echo, public: true, match: { paths: [/] } }]
`,
      pki.dir,
    );
    const result = await cli(['validate', file]);
    assert.equal(result.code, 1);
    const lines = result.stderr.trim().split('\n');
    assert.ok(lines.some((l) => l.includes(':9: listeners[0].tls.certificates[0].renew: renew needs cert and key to be files')), result.stderr);
    assert.ok(lines.some((l) => l.includes(':15: listeners[1].tls.certificates[0].renew.renew_before: renew_before must be shorter than ttl')), result.stderr);
  });
});

/** A server certificate from the renewal CA, written as server.crt / server.key. */
async function authorityIssue(pki: Pki, ttlMs: number): Promise<{ serial: string; fingerprint: string; keyPem: string; certPem: string }> {
  const issued = await pki.ca.issue({ dns: ['localhost'], ips: ['127.0.0.1'], ttlMs, usage: 'server' });
  writeFileSync(join(pki.dir, 'server.crt'), issued.certPem);
  writeFileSync(join(pki.dir, 'server.key'), issued.keyPem);
  const cert = new X509Certificate(issued.certPem);
  return { serial: cert.serialNumber, fingerprint: cert.fingerprint256.replaceAll(':', '').toLowerCase(), keyPem: issued.keyPem, certPem: issued.certPem };
}

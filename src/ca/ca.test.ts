/**
 * `portcullis ca` as an operator runs it (in-process, through the CLI's
 * main(argv, io); test/e2e/cli.test.ts checks the exit codes a child process
 * gets): a CA whose key file only its owner can read, leaf certificates with
 * SPIFFE IDs that verify against it, inspect output, revocation into a CRL,
 * and clear refusals of bad input.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../../test/helpers/cli.js';
import { x509 } from './x509.js';

describe('portcullis ca', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-ca-'));
  const ca = join(dir, 'ca');

  it('init creates a CA whose key is readable by its owner only, and never prints the key', async () => {
    const result = await cli(['ca', 'init', '--dir', ca, '--name', 'Example Mesh CA', '--crl-url', 'http://pki.example/crl.pem']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(statSync(join(ca, 'ca.key')).mode & 0o777, 0o600);
    assert.equal(statSync(ca).mode & 0o777, 0o700);
    assert.doesNotMatch(result.stdout + result.stderr, /PRIVATE KEY/);
    const cert = new X509Certificate(readFileSync(join(ca, 'ca.crt')));
    assert.equal(cert.ca, true);
    assert.equal(cert.subject, 'CN=Example Mesh CA');
    assert.match(result.stdout, /subject:\s+CN=Example Mesh CA/);
  });

  it('init refuses to overwrite an existing CA', async () => {
    const before = readFileSync(join(ca, 'ca.key'), 'utf8');
    const result = await cli(['ca', 'init', '--dir', ca]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /ca\.crt already exists; a CA is never overwritten/);
    assert.equal(readFileSync(join(ca, 'ca.key'), 'utf8'), before);
  });

  it('issue writes a short-lived leaf with the SPIFFE ID and DNS names, signed by the CA', async () => {
    const out = join(dir, 'orders');
    const result = await cli([
      'ca', 'issue', '--dir', ca, '--spiffe', 'spiffe://example.org/ns/prod/sa/orders', '--dns', 'orders.internal', '--dns', 'orders.prod.internal', '--ttl', '24h', '--out', out,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(statSync(`${out}.key`).mode & 0o777, 0o600);
    const leaf = new X509Certificate(readFileSync(`${out}.crt`));
    const root = new X509Certificate(readFileSync(join(ca, 'ca.crt')));
    assert.ok(leaf.verify(root.publicKey), 'signed by the CA');
    assert.ok(leaf.checkIssued(root));
    assert.equal(leaf.ca, false);
    assert.equal(leaf.subjectAltName, 'URI:spiffe://example.org/ns/prod/sa/orders, DNS:orders.internal, DNS:orders.prod.internal');
    const lifetime = new Date(leaf.validTo).getTime() - Date.now();
    assert.ok(lifetime > 23.9 * 3_600_000 && lifetime <= 24 * 3_600_000 + 1000, `lifetime ${lifetime}`);
    const parsed = new x509.X509Certificate(leaf.raw);
    const eku = parsed.getExtension(x509.ExtendedKeyUsageExtension)!;
    assert.deepEqual([...eku.usages], [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]);
    const crlDp = parsed.getExtension(x509.CRLDistributionPointsExtension);
    assert.ok(crlDp, 'the CRL distribution point from init is in the certificate');
    assert.match(result.stdout, /names:\s+URI:spiffe:\/\/example\.org\/ns\/prod\/sa\/orders, DNS:orders\.internal/);
  });

  it('inspect prints subject, names, validity, serial and fingerprints', async () => {
    const result = await cli(['ca', 'inspect', join(dir, 'orders.crt')]);
    assert.equal(result.code, 0, result.stderr);
    const leaf = new X509Certificate(readFileSync(join(dir, 'orders.crt')));
    assert.match(result.stdout, /^subject:\s+CN=orders\.internal$/m);
    assert.match(result.stdout, /^issuer:\s+CN=Example Mesh CA$/m);
    assert.match(result.stdout, /^not after:\s+\S+ \(valid for 23h 5\dm\)$/m);
    assert.match(result.stdout, new RegExp(`^serial:\\s+${leaf.serialNumber.toUpperCase()}$`, 'm'));
    assert.match(result.stdout, new RegExp(`^sha256:\\s+${leaf.fingerprint256.replace(/:/g, '').toLowerCase()}$`, 'm'));
    assert.match(result.stdout, /^spki sha256: [A-Za-z0-9+/]{43}= \(for pin_sha256\)$/m);
    assert.match(result.stdout, /^key:\s+EC P-256$/m);
  });

  it('revoke adds the certificate to the CRL', async () => {
    const result = await cli(['ca', 'revoke', '--dir', ca, join(dir, 'orders.crt'), '--reason', 'keyCompromise']);
    assert.equal(result.code, 0, result.stderr);
    const serial = new X509Certificate(readFileSync(join(dir, 'orders.crt'))).serialNumber;
    const crl = new x509.X509Crl(readFileSync(join(ca, 'crl.pem'), 'utf8'));
    assert.equal(crl.findRevoked(serial.toLowerCase())?.reason, x509.X509CrlReason.keyCompromise);
    assert.ok(await crl.verify({ publicKey: new x509.X509Certificate(readFileSync(join(ca, 'ca.crt'))) }));
    const again = await cli(['ca', 'revoke', '--dir', ca, '--serial', serial]);
    assert.match(again.stdout, /was already revoked/);
  });

  it('keeps the CA key encrypted when asked, and needs the passphrase to issue', async () => {
    const locked = join(dir, 'locked');
    const env = { ...process.env, CA_PASS: 'correct horse battery staple' };
    assert.equal((await cli(['ca', 'init', '--dir', locked, '--passphrase-env', 'CA_PASS'], { env })).code, 0);
    assert.match(readFileSync(join(locked, 'ca.key'), 'utf8'), /BEGIN ENCRYPTED PRIVATE KEY/);
    const without = await cli(['ca', 'issue', '--dir', locked, '--dns', 'a.example', '--out', join(dir, 'a')]);
    assert.equal(without.code, 1);
    assert.match(without.stderr, /the key is encrypted and no passphrase was given/);
    const wrong = await cli(['ca', 'issue', '--dir', locked, '--dns', 'a.example', '--out', join(dir, 'a'), '--passphrase-env', 'CA_PASS'], { env: { ...env, CA_PASS: 'nope' } });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /wrong passphrase/);
    assert.equal((await cli(['ca', 'issue', '--dir', locked, '--dns', 'a.example', '--out', join(dir, 'a'), '--passphrase-env', 'CA_PASS'], { env })).code, 0);
  });

  it('refuses bad input with one line and no stack trace', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['ca', 'issue', '--dir', ca, '--spiffe', 'spiffe://Example.org/x'], 1, /invalid SPIFFE ID "spiffe:\/\/Example\.org\/x": the trust domain "Example\.org" may hold only lower-case/],
      [['ca', 'issue', '--dir', ca, '--spiffe', 'spiffe://example.org'], 1, /needs a path/],
      [['ca', 'issue', '--dir', ca], 1, /a certificate needs at least one name/],
      [['ca', 'issue', '--dir', ca, '--dns', 'a.example', '--ttl', '1 day'], 2, /--ttl expects a duration like "24h"/],
      [['ca', 'issue', '--dir', join(dir, 'nowhere'), '--dns', 'a.example'], 1, /holds no CA \(run: portcullis ca init/],
      [['ca', 'inspect', join(dir, 'missing.crt')], 1, /missing\.crt: file not found\n$/],
      [['ca', 'frobnicate'], 2, /unknown ca command "frobnicate"/],
    ];
    for (const [args, code, message] of cases) {
      const result = await cli(args);
      assert.equal(result.code, code, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    }
  });
});

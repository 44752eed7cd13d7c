/**
 * Reading names out of certificates: a hostile SAN or subject (commas,
 * quotes, newlines in values) must never read as another name.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { certificateInfo, parseDistinguishedName, parseSubjectAltName } from './cert-info.js';
import { generateKeys } from '../ca/keys.js';
import { x509 } from '../ca/x509.js';

describe('certificate names', () => {
  it('reads Node\'s subjectAltName back exactly, quoted values included', () => {
    assert.deepEqual(parseSubjectAltName('DNS:a.example, URI:spiffe://x/y, IP Address:10.0.0.1, email:Ops@Example.com'), {
      dns: ['a.example'],
      uris: ['spiffe://x/y'],
      ips: ['10.0.0.1'],
      emails: ['ops@example.com'],
    });
    assert.deepEqual(parseSubjectAltName(undefined), { dns: [], uris: [], ips: [], emails: [] });
  });

  it('does not let a SAN value with a comma pose as a second name', async () => {
    const keys = await generateKeys('ec');
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      name: [{ CN: ['a,b\nc"d+e=f'] }, { O: ['Ex, Inc'], OU: ['x', 'y'] }],
      keys: { privateKey: keys.privateKey, publicKey: keys.publicKey },
      signingAlgorithm: keys.signingAlgorithm,
      extensions: [
        new x509.SubjectAlternativeNameExtension([
          { type: 'url', value: 'spiffe://example.org/a, URI:spiffe://example.org/admin' },
          { type: 'dns', value: 'ok.example' },
        ]),
      ],
    });
    const info = certificateInfo(new X509Certificate(Buffer.from(cert.rawData)));
    assert.deepEqual(info.uris, ['spiffe://example.org/a, URI:spiffe://example.org/admin'], 'one URI, taken whole');
    assert.deepEqual(info.dns, ['ok.example']);
    assert.deepEqual(info.subjectAttributes, ['CN=a,b\nc"d+e=f', 'O=Ex, Inc', 'OU=x', 'OU=y']);
    assert.equal(info.subject, 'O=Ex\\, Inc+OU=x+OU=y,CN=a\\,b\\0Ac\\"d\\+e=f');
  });

  it('parses RFC 4514 subjects in any attribute order, with escapes', () => {
    assert.deepEqual(parseDistinguishedName('CN=alice,O=Example'), ['CN=alice', 'O=Example']);
    assert.deepEqual(parseDistinguishedName('o=Example, cn=alice'), ['CN=alice', 'O=Example']);
    assert.deepEqual(parseDistinguishedName('CN=a\\,b,O=Ex\\2C Inc'), ['CN=a,b', 'O=Ex, Inc']);
    assert.deepEqual(parseDistinguishedName('CN=J\\C3\\B6rg'), ['CN=Jörg']);
    assert.deepEqual(parseDistinguishedName('OU=x+OU=y'), ['OU=x', 'OU=y']);
    assert.throws(() => parseDistinguishedName('CN'), /"CN" has no "=value"/);
    assert.throws(() => parseDistinguishedName(''), /empty/);
    assert.throws(() => parseDistinguishedName('C N=x'), /not an attribute type/);
  });
});

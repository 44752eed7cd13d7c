/**
 * What a certificate says, read through node:crypto's X509Certificate (native
 * parsing, no ASN.1 here): subject, names, validity, fingerprints. Shared by
 * `portcullis ca inspect`, listener certificate checks, client identities and
 * upstream pinning.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { pemBlocks } from './pem-blocks.js';

export interface SubjectAltNames {
  readonly dns: readonly string[];
  readonly uris: readonly string[];
  readonly ips: readonly string[];
  readonly emails: readonly string[];
}

export interface CertificateInfo extends SubjectAltNames {
  /** RFC 4514 string: most specific attribute first ("CN=alice,O=Example"). */
  readonly subject: string;
  readonly issuer: string;
  /** Subject attributes as "TYPE=value" (type upper-cased, value unescaped), sorted: order-free comparison. */
  readonly subjectAttributes: readonly string[];
  /** Upper-case hex, as OpenSSL prints it. */
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SHA-256 of the DER certificate, lower-case hex without colons. */
  readonly fingerprint256: string;
  /** SHA-256 of the DER SubjectPublicKeyInfo, base64: the value an upstream pin names. */
  readonly spkiSha256: string;
  readonly keyType: string;
  readonly isCa: boolean;
}

export function certificateInfo(cert: X509Certificate): CertificateInfo {
  const sans = parseSubjectAltName(cert.subjectAltName);
  return {
    ...sans,
    subject: rfc4514(cert.subject),
    issuer: rfc4514(cert.issuer),
    subjectAttributes: attributesOf(cert),
    serial: cert.serialNumber.toUpperCase(),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    fingerprint256: cert.fingerprint256.replace(/:/g, '').toLowerCase(),
    spkiSha256: spkiSha256(cert),
    keyType: describeKey(cert),
    isCa: cert.ca,
  };
}

export function spkiSha256(cert: X509Certificate): string {
  return createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
}

/** All certificates in a PEM text (a chain or a bundle), in order. */
/** The certificates of a PEM bundle, or none when it cannot be parsed (the caller reports that in its own words). */
export function parsePemCertificatesOrNone(pem: Buffer): X509Certificate[] {
  try {
    return parsePemCertificates(pem);
  } catch {
    return [];
  }
}

export function parsePemCertificates(pem: string | Buffer): X509Certificate[] {
  const text = typeof pem === 'string' ? pem : pem.toString('latin1');
  return pemBlocks(text, 'CERTIFICATE').map((block) => new X509Certificate(block));
}

/**
 * Node prints subjectAltName as "DNS:a, URI:b, IP Address:c"; a value holding
 * a comma, quote or other special character is JSON-quoted so it cannot pose
 * as another entry (CVE-2021-44533). This reads that form back exactly.
 */
export function parseSubjectAltName(text: string | undefined): SubjectAltNames {
  const dns: string[] = [];
  const uris: string[] = [];
  const ips: string[] = [];
  const emails: string[] = [];
  let i = 0;
  const input = text ?? '';
  while (i < input.length) {
    const colon = input.indexOf(':', i);
    if (colon === -1) break;
    const type = input.slice(i, colon);
    let value: string;
    let next: number;
    if (input[colon + 1] === '"') {
      let end = colon + 2;
      while (end < input.length && input[end] !== '"') end += input[end] === '\\' ? 2 : 1;
      value = JSON.parse(input.slice(colon + 1, end + 1)) as string;
      next = input.indexOf(', ', end + 1);
    } else {
      next = input.indexOf(', ', colon + 1);
      value = input.slice(colon + 1, next === -1 ? undefined : next);
    }
    if (type === 'DNS') dns.push(value.toLowerCase());
    else if (type === 'URI') uris.push(value);
    else if (type === 'IP Address') ips.push(value);
    else if (type === 'email') emails.push(value.toLowerCase());
    if (next === -1) break;
    i = next + 2;
  }
  return { dns, uris, ips, emails };
}

/** Node's multi-line DN ("C=US\nO=Example\nCN=alice", RFC 2253 escapes) as RFC 4514 ("CN=alice,O=Example,C=US"). */
function rfc4514(multiline: string): string {
  return multiline
    .split('\n')
    .filter((line) => line !== '')
    .reverse()
    .map((rdn) => rdn.split(' + ').join('+'))
    .join(',');
}

function attributesOf(cert: X509Certificate): string[] {
  const subject = cert.toLegacyObject().subject as unknown as Record<string, string | string[]> | undefined;
  const out: string[] = [];
  for (const [type, value] of Object.entries(subject ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) out.push(`${type.toUpperCase()}=${v}`);
  }
  return out.sort();
}

/**
 * An RFC 4514 distinguished name as written in a config ("CN=alice,O=Example")
 * in the same sorted "TYPE=value" form as CertificateInfo.subjectAttributes.
 * Escapes (\, \+ \" \\ and \HH hex pairs) are undone; throws on malformed input.
 */
export function parseDistinguishedName(text: string): string[] {
  const out: string[] = [];
  let type = '';
  let bytes: number[] = [];
  let inValue = false;
  const flush = () => {
    const name = type.trim().toUpperCase();
    if (!/^[A-Z][A-Z0-9-]*$|^\d+(\.\d+)+$/.test(name)) throw new Error(`"${type.trim()}" is not an attribute type`);
    out.push(`${name}=${Buffer.from(bytes).toString('utf8').trim()}`);
    type = '';
    bytes = [];
    inValue = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (!inValue) {
      if (ch === '=') inValue = true;
      else type += ch;
      continue;
    }
    if (ch === '\\') {
      const hex = text.slice(i + 1, i + 3);
      if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16));
        i += 2;
      } else if (i + 1 < text.length) {
        bytes.push(...Buffer.from(text[i + 1]!, 'utf8'));
        i += 1;
      } else {
        throw new Error('a trailing "\\" escapes nothing');
      }
    } else if (ch === ',' || ch === '+' || ch === ';') {
      flush();
    } else {
      bytes.push(...Buffer.from(ch, 'utf8'));
    }
  }
  if (!inValue) throw new Error(type.trim() === '' ? 'an empty distinguished name' : `"${type.trim()}" has no "=value"`);
  flush();
  return out.sort();
}

function describeKey(cert: X509Certificate): string {
  const key = cert.publicKey;
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec') return `EC ${details?.namedCurve === 'prime256v1' ? 'P-256' : details?.namedCurve === 'secp384r1' ? 'P-384' : (details?.namedCurve ?? '')}`.trim();
  if (key.asymmetricKeyType === 'rsa') return `RSA ${details?.modulusLength ?? ''}`.trim();
  return key.asymmetricKeyType ?? 'unknown';
}

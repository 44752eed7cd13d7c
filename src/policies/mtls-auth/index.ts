/**
 * mtls-auth: the caller is who its verified client certificate says. The
 * listener checks the certificate during the handshake (client_auth:
 * optional or required, against its CA bundle and CRL); this policy maps it
 * to a consumer by fingerprint, URI SAN (SPIFFE ID), DNS SAN, email SAN or
 * subject DN, per route, so one listener can serve public routes and
 * mTLS-only ones. No certificate, an unverified one, or one no consumer
 * holds: 401.
 */
import { ConfigError } from '../../config/errors.js';
import { parseDistinguishedName } from '../../tls/cert-info.js';
import { deny } from '../../pipeline/decision.js';
import { definePolicy, type ConsumerCredential } from '../../pipeline/policy.js';
import type { ClientCertificate } from '../../pipeline/client-certificate.js';
import { MtlsAuthCredentialSchema, MtlsAuthSchema } from './schema.js';
import type { Static } from '@sinclair/typebox';

type Credential = Static<typeof MtlsAuthCredentialSchema>;
type Found = ConsumerCredential<Credential>;

const KINDS = ['fingerprint_sha256', 'san_uri', 'san_dns', 'san_email', 'subject'] as const;
type Kind = (typeof KINDS)[number];

const challenge = { 'www-authenticate': 'Certificate realm="portcullis"' };
const missing = deny('unauthorized', {
  headers: challenge,
  message: 'A verified client certificate is required.',
  event: { type: 'auth.missing_credentials', severity: 'low', message: 'no client certificate' },
});
/** The reason names OpenSSL's verdict (CERT_HAS_EXPIRED...) for the security event; the client sees the same 401 as always. */
const unverified = (why: string | undefined) =>
  deny('unauthorized', {
    headers: challenge,
    message: 'A verified client certificate is required.',
    event: { type: 'auth.invalid_credentials', severity: 'medium', reason: 'certificate_unverified', message: `client certificate not verified: ${why ?? 'unknown'}`, data: { method: 'mtls-auth' } },
  });
const unknown = deny('unauthorized', {
  headers: challenge,
  message: 'A verified client certificate is required.',
  event: { type: 'auth.invalid_credentials', severity: 'medium', reason: 'unknown_certificate', message: 'no consumer holds this client certificate', data: { method: 'mtls-auth' } },
});

/** One index per way of naming a certificate, keyed by the normalized value. */
type Indexes = Record<Kind, Map<string, Found>>;

function normalize(kind: Kind, value: string): string {
  switch (kind) {
    case 'fingerprint_sha256':
      return value.replace(/:/g, '').toLowerCase();
    case 'san_dns':
    case 'san_email':
      return value.toLowerCase();
    case 'subject':
      return subjectKey(parseDistinguishedName(value));
    default:
      return value;
  }
}

function buildIndexes(credentials: readonly Found[]): Indexes {
  const indexes = Object.fromEntries(KINDS.map((k) => [k, new Map<string, Found>()])) as Indexes;
  for (const credential of credentials) {
    const given = KINDS.filter((k) => credential.config[k] !== undefined);
    if (given.length !== 1) {
      throw new ConfigError(`an mtls-auth credential names exactly one of ${KINDS.join(', ')}`, credential.path, true);
    }
    const kind = given[0]!;
    let key: string;
    try {
      key = normalize(kind, credential.config[kind]!);
    } catch (err) {
      throw new ConfigError(`invalid ${kind}: ${(err as Error).message}`, [...credential.path, kind], true);
    }
    const other = indexes[kind].get(key);
    if (other) throw new ConfigError(`this ${kind} is also held by consumer "${other.consumer.name}"; it must be unique`, credential.path, true);
    indexes[kind].set(key, credential);
  }
  return indexes;
}

/** The consumer a certificate belongs to; the most specific name wins (fingerprint, then SANs, then subject). */
function lookup(indexes: Indexes, cert: ClientCertificate): Found | undefined {
  const byFingerprint = indexes.fingerprint_sha256.get(cert.fingerprint256);
  if (byFingerprint) return byFingerprint;
  for (const uri of cert.uris) {
    const found = indexes.san_uri.get(uri);
    if (found) return found;
  }
  for (const dns of cert.dns) {
    const found = indexes.san_dns.get(dns);
    if (found) return found;
  }
  for (const email of cert.emails) {
    const found = indexes.san_email.get(email);
    if (found) return found;
  }
  return indexes.subject.size > 0 ? indexes.subject.get(subjectKey(cert.subjectAttributes)) : undefined;
}

/**
 * A subject's sorted attributes as one lookup key. JSON, not a separator:
 * attribute values are the client's CA's to choose and may hold any
 * character, so "CN=dave\nO=Example" must not equal ["CN=dave", "O=Example"].
 */
function subjectKey(attributes: readonly string[]): string {
  return JSON.stringify(attributes);
}

export default definePolicy({
  name: 'mtls-auth',
  phase: 'authenticate',
  description: 'Authenticates callers by the verified TLS client certificate of their connection.',
  config: MtlsAuthSchema,
  credentials: MtlsAuthCredentialSchema,
  compile(_config, deps) {
    const indexes = buildIndexes(deps.credentials);
    return {
      onRequest(ctx) {
        const cert = ctx.clientCertificate;
        if (!cert) return missing;
        if (!cert.verified) return unverified(cert.error);
        const found = lookup(indexes, cert);
        if (!found) return unknown;
        // The names are this consumer's only when the CA it trusts for them issued the certificate.
        const issuer = found.config.issuer_fingerprint_sha256;
        if (issuer !== undefined && !cert.issuerFingerprints.includes(issuer.replace(/:/g, '').toLowerCase())) return unknown;
        ctx.authenticate(found.consumer, found.id, 'mtls-auth');
        return undefined;
      },
    };
  },
});

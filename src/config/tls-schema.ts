/**
 * TLS settings as users write them: on a listener (certificates per host,
 * versions, client certificates, HSTS) and on a service (how the gateway
 * checks upstreams and which certificate it shows them). File paths are
 * relative to the config file's folder; ${env:...} works inside them, which
 * is how one config serves several environments (docs/tls.md).
 */
import { Type, type Static } from '@sinclair/typebox';
import { Duration, Secret } from './types.js';

const TlsVersion = Type.Union([Type.Literal('TLSv1.2'), Type.Literal('TLSv1.3')], {
  default: 'TLSv1.2',
  description: 'the oldest TLS version accepted; TLS 1.0 and 1.1 are never offered',
});

const PemFile = (description: string) => Type.String({ minLength: 1, description });

export const ListenerRenewSchema = Type.Object(
  {
    ca_cert: PemFile('the built-in CA\'s certificate (ca.crt) that issues the renewed certificate'),
    ca_key: Secret({ description: 'the built-in CA\'s key file (ca.key)' }),
    ca_passphrase: Type.Optional(Secret({ description: 'when the CA key is encrypted' })),
    ttl: Duration({ default: '24h', description: 'lifetime of each renewed certificate' }),
    renew_before: Type.Optional(Duration({ description: 'renew this long before the certificate on disk expires (default: a third of ttl)' })),
  },
  {
    additionalProperties: false,
    description:
      'renew this certificate from the built-in CA before it expires: a new key and certificate for the same names are written over the cert and key files (which must be files) and served at once',
  },
);

export const ListenerCertificateSchema = Type.Object(
  {
    hosts: Type.Optional(
      Type.Array(Type.String({ format: 'route-host' }), {
        minItems: 1,
        description: 'SNI names this certificate answers (exact or *.wildcard for one label); the certificate\'s DNS names when absent',
      }),
    ),
    cert: PemFile('PEM file with the certificate, then its intermediates'),
    key: Secret({ description: 'PEM file with the private key (RSA or ECDSA)' }),
    passphrase: Type.Optional(Secret({ description: 'for an encrypted key; use ${env:...} or ${file:...}' })),
    default: Type.Boolean({ default: false, description: 'serve it to clients without SNI or with an unknown name (else the first certificate)' }),
    renew: Type.Optional(ListenerRenewSchema),
  },
  { additionalProperties: false },
);

export const ClientAuthSchema = Type.Object(
  {
    mode: Type.Union([Type.Literal('none'), Type.Literal('optional'), Type.Literal('required')], {
      default: 'none',
      description: 'none: never ask; optional: ask, and let mtls-auth decide per route; required: refuse the connection without a valid certificate',
    }),
    ca: Type.Optional(PemFile('PEM bundle of the CAs client certificates must chain to')),
    crl: Type.Optional(PemFile('PEM CRL(s) of revoked client certificates; keep it fresh, a lapsed CRL refuses every client')),
  },
  { additionalProperties: false, default: {} },
);

export const HstsSchema = Type.Object(
  {
    max_age: Duration({ default: '365d', description: 'how long browsers remember to use only HTTPS' }),
    include_subdomains: Type.Boolean({ default: false }),
    preload: Type.Boolean({ default: false, description: 'needs include_subdomains and a max_age of at least 365d' }),
  },
  { additionalProperties: false },
);

export const ListenerTlsSchema = Type.Object(
  {
    certificates: Type.Array(ListenerCertificateSchema, { minItems: 1, description: 'one entry per certificate; chosen by SNI' }),
    min_version: TlsVersion,
    ciphers: Type.Optional(
      Type.String({ minLength: 1, description: 'OpenSSL cipher list for TLS 1.2 (default: ECDHE with AES-GCM or ChaCha20-Poly1305 only)' }),
    ),
    require_sni: Type.Boolean({ default: false, description: 'refuse handshakes without SNI or with a name no certificate has' }),
    http2: Type.Boolean({ default: true, description: 'offer HTTP/2 by ALPN (HTTP/1.1 is always offered)' }),
    client_auth: ClientAuthSchema,
    hsts: Type.Optional(HstsSchema),
    session_tickets: Type.Boolean({ default: true, description: 'TLS session resumption by tickets' }),
    ticket_key_rotation: Duration({ default: '12h', description: 'how often the ticket keys are replaced (older tickets then need a full handshake)' }),
    watch: Type.Boolean({ default: true, description: 'reload certificates, keys, CA and CRL files when they change on disk' }),
    expiry_warning: Duration({ default: '30d', description: 'log a warning this long before a certificate expires' }),
  },
  { additionalProperties: false },
);

export const UpstreamIssueSchema = Type.Object(
  {
    ca_cert: PemFile('the built-in CA\'s certificate (ca.crt)'),
    ca_key: Secret({ description: 'the built-in CA\'s key file (ca.key)' }),
    ca_passphrase: Type.Optional(Secret({ description: 'when the CA key is encrypted' })),
    spiffe: Type.String({ pattern: '^spiffe://', description: 'the SPIFFE ID the gateway presents, e.g. spiffe://example.org/ns/edge/sa/portcullis' }),
    dns: Type.Optional(Type.Array(Type.String({ format: 'route-host' }), { minItems: 1 })),
    ttl: Duration({ default: '24h', description: 'lifetime of each issued certificate' }),
    renew_before: Type.Optional(Duration({ description: 'renew this long before expiry (default: a third of ttl)' })),
  },
  { additionalProperties: false },
);

export const UpstreamTlsSchema = Type.Object(
  {
    verify: Type.Boolean({ default: true, description: 'check the upstream certificate chain and name (turning it off is logged as a warning)' }),
    ca: Type.Optional(PemFile('PEM bundle the upstream certificate must chain to (default: the system roots)')),
    server_name: Type.Optional(Type.String({ format: 'route-host', description: 'SNI and the name the certificate must carry (default: the target host)' })),
    pin_sha256: Type.Optional(
      Type.Array(Type.String({ pattern: '^[A-Za-z0-9+/]{43}=$' }), {
        minItems: 1,
        description: 'base64 SHA-256 of accepted upstream public keys (SPKI); `portcullis ca inspect` prints it',
      }),
    ),
    min_version: TlsVersion,
    cert: Type.Optional(PemFile('client certificate the gateway presents to the upstream')),
    key: Type.Optional(Secret({ description: 'its private key file' })),
    passphrase: Type.Optional(Secret({ description: 'for an encrypted key' })),
    issue: Type.Optional(UpstreamIssueSchema),
    expiry_warning: Duration({ default: '7d', description: 'log a warning this long before the client certificate expires' }),
  },
  { additionalProperties: false },
);

export type ListenerTlsConfig = Static<typeof ListenerTlsSchema>;
export type ListenerCertificateConfig = Static<typeof ListenerCertificateSchema>;
export type ListenerRenewConfig = Static<typeof ListenerRenewSchema>;
export type UpstreamTlsConfig = Static<typeof UpstreamTlsSchema>;
export type UpstreamIssueConfig = Static<typeof UpstreamIssueSchema>;

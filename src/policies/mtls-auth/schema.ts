import { Type } from '@sinclair/typebox';

export const MtlsAuthSchema = Type.Object({});

export const MtlsAuthCredentialSchema = Type.Object(
  {
    id: Type.Optional(Type.String({ minLength: 1, description: 'stable credential id for logs and X-Credential-Id' })),
    san_uri: Type.Optional(Type.String({ minLength: 1, description: 'a URI SAN, such as a SPIFFE ID (spiffe://example.org/ns/prod/sa/orders)' })),
    san_dns: Type.Optional(Type.String({ minLength: 1, description: 'a DNS SAN' })),
    san_email: Type.Optional(Type.String({ minLength: 3, description: 'an email SAN' })),
    subject: Type.Optional(Type.String({ minLength: 3, description: 'the subject DN, RFC 4514: "CN=alice,O=Example" (attribute order does not matter)' })),
    issuer_fingerprint_sha256: Type.Optional(
      Type.String({
        pattern: '^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{64}$',
        description:
          'SHA-256 of the CA certificate that must have issued it (or be above it in its chain): the CA trusted to give these names. Needed when the listener trusts several CAs',
      }),
    ),
    fingerprint_sha256: Type.Optional(
      Type.String({ pattern: '^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{64}$', description: 'SHA-256 of the certificate, hex, with or without colons' }),
    ),
  },
  { additionalProperties: false },
);

/**
 * Schema pieces shared by the policies that verify identity tokens (jwt,
 * oidc) and by identity/issuers.ts, which compiles an issuer: they live here,
 * below the policies, so no policy imports another policy's schema and
 * identity/ imports no policy.
 */
import { Type } from '@sinclair/typebox';
import { Secret } from '../config/types.js';
import { IssuerConsumerMappingSchema } from './consumers.js';
import { ALGORITHMS } from './keys.js';
import { ProviderLinkFields } from './provider-link.js';

export const AlgorithmSchema = Type.Union(
  ALGORITHMS.map((a) => Type.Literal(a)),
  { description: 'a JWS algorithm; "none" is never accepted' },
);

export const StaticKeySchema = Type.Object(
  {
    kid: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'the kid tokens signed with this key carry' })),
    alg: Type.Optional(AlgorithmSchema),
    pem: Type.Optional(Type.String({ minLength: 1, description: 'a PEM public key (SPKI), usually ${file:...}' })),
    jwk: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'a public JWK' })),
    secret: Type.Optional(Secret({ description: 'an HMAC secret for HS* algorithms, at least 32 bytes; use ${env:...}' })),
  },
  { additionalProperties: false },
);

export const IssuerSchema = Type.Object(
  {
    issuer: Type.String({ minLength: 1, description: 'the exact "iss" value tokens carry' }),
    name: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$', description: 'a short name for X-Credential-Id and logs' })),
    algorithms: Type.Array(AlgorithmSchema, { minItems: 1, uniqueItems: true, description: 'the only algorithms accepted from this issuer' }),
    audiences: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'tokens must name one of these in "aud"' })),
    required_claims: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'claims that must be present (exp always is)' }),
    types: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'accepted "typ" header values, e.g. at+jwt' })),
    keys: Type.Optional(Type.Array(StaticKeySchema, { minItems: 1 })),
    jwks_url: Type.Optional(Type.String({ format: 'uri', description: 'the JWKS URL (https)' })),
    discovery: Type.Boolean({ default: false, description: 'find jwks_uri by OIDC discovery at <issuer>/.well-known/openid-configuration' }),
    consumer: Type.Optional(IssuerConsumerMappingSchema),
    ...ProviderLinkFields,
  },
  { additionalProperties: false },
);

import { Type } from '@sinclair/typebox';
import { Duration, Timer, Secret } from '../../config/types.js';
import { ConsumerMappingSchema, IssuerConsumerMappingSchema } from '../../identity/consumers.js';
import { ALGORITHMS } from '../../identity/keys.js';
import { TokenSourceSchema } from '../../identity/token-source.js';

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
  },
  { additionalProperties: false },
);

export const JwksSettingsSchema = Type.Object(
  {
    refresh_interval: Duration({ default: '10m', description: 'keys older than this are refreshed in the background' }),
    cooldown: Duration({ default: '30s', description: 'at most one refetch per cooldown for tokens with an unknown kid' }),
    timeout: Timer({ default: '5s', description: 'time allowed for one JWKS or discovery request' }),
  },
  { additionalProperties: false, default: {} },
);

export const TokenCacheSchema = Type.Object(
  {
    max_entries: Type.Integer({ minimum: 0, default: 10_000, description: 'verified tokens kept (0 turns the cache off)' }),
    ttl: Duration({ default: '5m', description: 'longest a verified token is kept; never past its exp' }),
  },
  { additionalProperties: false, default: {} },
);

export const JwtSchema = Type.Object({
  issuers: Type.Array(IssuerSchema, { minItems: 1 }),
  clock_skew: Duration({ default: '30s', description: 'tolerance for exp, nbf and iat' }),
  max_token_age: Type.Optional(Duration({ description: 'refuse tokens whose iat is older than this' })),
  consumer: ConsumerMappingSchema,
  token: TokenSourceSchema,
  keep_credential: Type.Boolean({ default: false, description: 'forward the token to the upstream instead of removing it' }),
  jwks: JwksSettingsSchema,
  cache: TokenCacheSchema,
  realm: Type.String({ default: 'portcullis', description: 'the realm in WWW-Authenticate' }),
});

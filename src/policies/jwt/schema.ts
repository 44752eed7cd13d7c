import { Type } from '@sinclair/typebox';
import { Duration, Timer } from '../../config/types.js';
import { ConsumerMappingSchema } from '../../identity/consumers.js';
import { IssuerSchema } from '../../identity/schema.js';
import { TokenSourceSchema } from '../../identity/token-source.js';

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

import { Type } from '@sinclair/typebox';
import { Duration, Timer, Secret } from '../../config/types.js';
import { ConsumerMappingSchema } from '../../identity/consumers.js';
import { TokenSourceSchema } from '../../identity/token-source.js';
import { ProviderLinkFields } from '../../identity/provider-link.js';

export const IntrospectionSchema = Type.Object({
  endpoint: Type.Optional(Type.String({ format: 'uri', description: 'the RFC 7662 introspection endpoint (https)' })),
  issuer: Type.Optional(
    Type.String({ minLength: 1, description: 'find the endpoint by OIDC discovery of this issuer; answers must then name it in "iss" when they carry one' }),
  ),
  client_id: Type.String({ minLength: 1, description: 'the gateway\'s client id at the provider' }),
  client_secret: Secret({ description: 'the gateway\'s client secret; use ${env:...}' }),
  auth_method: Type.Union([Type.Literal('client_secret_basic'), Type.Literal('client_secret_post')], {
    default: 'client_secret_basic',
    description: 'how the gateway authenticates to the endpoint',
  }),
  token_type_hint: Type.Optional(Type.String({ minLength: 1, description: 'sent as token_type_hint, e.g. access_token' })),
  audiences: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'the answer\'s "aud" must name one of these' })),
  timeout: Timer({ default: '5s', description: 'time allowed for one introspection call' }),
  cache: Type.Object(
    {
      ttl: Duration({ default: '60s', description: 'how long an answer is kept; an active one never past the token\'s exp' }),
      max_entries: Type.Integer({ minimum: 0, default: 10_000, description: 'answers kept (0 turns the cache off)' }),
    },
    { additionalProperties: false, default: {} },
  ),
  consumer: ConsumerMappingSchema,
  token: TokenSourceSchema,
  keep_credential: Type.Boolean({ default: false, description: 'forward the token to the upstream instead of removing it' }),
  realm: Type.String({ default: 'portcullis' }),
  ...ProviderLinkFields,
});

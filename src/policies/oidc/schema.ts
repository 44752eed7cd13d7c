import { Type } from '@sinclair/typebox';
import { ProviderLinkFields } from '../../identity/provider-link.js';
import { Duration, Timer, Secret } from '../../config/types.js';
import { ConsumerMappingSchema } from '../../identity/consumers.js';
import { AlgorithmSchema } from '../../identity/schema.js';

export const OidcSchema = Type.Object({
  issuer: Type.String({ minLength: 1, description: 'the provider; its metadata is found by OIDC discovery' }),
  client_id: Type.String({ minLength: 1 }),
  client_secret: Secret({ description: 'the client secret at the provider; use ${env:...}' }),
  redirect_uri: Type.String({ format: 'uri', description: 'the callback URL registered at the provider; its path must be served by this route' }),
  scopes: Type.Array(Type.String({ minLength: 1 }), {
    default: ['openid'],
    description: 'scopes asked for; add offline_access to get refresh tokens',
  }),
  logout_path: Type.Optional(Type.String({ pattern: '^/', description: 'a path on this route that ends the session' })),
  post_logout_redirect_uri: Type.Optional(Type.String({ format: 'uri', description: 'where the provider sends the browser after logout' })),
  id_token_algorithms: Type.Array(AlgorithmSchema, { default: ['RS256', 'PS256', 'ES256', 'EdDSA'], minItems: 1 }),
  session: Type.Object(
    {
      secret: Secret({ description: 'at least 32 bytes; encrypts and authenticates the session cookie (AES-256-GCM)' }),
      cookie: Type.String({ default: '__Host-portcullis-session', pattern: '^[!#$%&\'*+.^_`|~0-9A-Za-z-]+$' }),
      path: Type.String({
        default: '/',
        pattern: '^/[\x21-\x3a\x3c-\x7e]*$',
        description: 'the cookie Path: the browser sends the session only under it. Needs a cookie name without the __Host- prefix, which requires Path=/',
      }),
      ttl: Duration({ default: '8h', description: 'the longest a session lasts, whatever the tokens say' }),
      same_site: Type.Union([Type.Literal('lax'), Type.Literal('strict')], { default: 'lax' }),
      refresh_before: Duration({ default: '60s', description: 'refresh the tokens this long before they expire (needs a refresh token)' }),
    },
    { additionalProperties: false },
  ),
  consumer: ConsumerMappingSchema,
  clock_skew: Duration({ default: '30s' }),
  timeout: Timer({ default: '5s', description: 'time allowed for each call to the provider' }),
  realm: Type.String({ default: 'portcullis' }),
  ...ProviderLinkFields,
});

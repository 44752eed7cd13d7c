import { Type } from '@sinclair/typebox';
import { Duration, Secret, Size } from '../../config/types.js';

export const HmacAuthSchema = Type.Object({
  max_age: Duration({ default: '5m', description: 'how old a signature\'s "created" may be; replays are refused within this window' }),
  clock_skew: Duration({ default: '30s', description: 'how far in the future "created" may be, and slack for "expires"' }),
  required_components: Type.Array(Type.String({ pattern: '^(@[a-z-]+|[a-z0-9!#$%&\'*+.^_`|~-]+)$' }), {
    default: ['@method', '@authority'],
    description: 'components every signature must cover, besides the request target and, for requests with a body, content-digest',
  }),
  require_digest: Type.Boolean({ default: true, description: 'requests with a body must sign a Content-Digest (RFC 9530) that matches it' }),
  max_body: Size({ default: '1MiB', description: 'the largest body read to check its digest (413 above)' }),
  replay_cache_size: Type.Optional(
    Type.Integer({ minimum: 1, description: 'no longer used: signatures are remembered in the gateway\'s store (bounded by store.max_keys)' }),
  ),
  keep_credential: Type.Boolean({ default: false, description: 'forward Signature and Signature-Input to the upstream' }),
  realm: Type.String({ default: 'portcullis' }),
});

export const HmacAuthCredentialSchema = Type.Object(
  {
    id: Type.Optional(Type.String({ minLength: 1, description: 'stable credential id for logs and X-Credential-Id' })),
    key_id: Type.String({ minLength: 1, maxLength: 256, description: 'the keyid signatures name' }),
    secret: Secret({ description: 'the shared HMAC-SHA256 key, at least 32 bytes; use ${env:...}' }),
  },
  { additionalProperties: false },
);

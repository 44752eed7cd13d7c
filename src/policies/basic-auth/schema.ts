import { Type } from '@sinclair/typebox';
import { Duration } from '../../config/types.js';

export const BasicAuthSchema = Type.Object({
  realm: Type.String({ default: 'portcullis', description: 'the realm in WWW-Authenticate' }),
  keep_credential: Type.Boolean({ default: false, description: 'forward the Authorization header to the upstream instead of removing it' }),
  per_client: Type.Integer({
    minimum: 1,
    default: 2,
    description:
      'password checks one client address (after trusted_proxies; IPv6 by /64) may have running and waiting at once; more are refused with 429, so one client cannot fill the shared queue',
  }),
  cache: Type.Object(
    {
      max_entries: Type.Integer({ minimum: 0, default: 10_000, description: 'verified username/password pairs kept in memory (0 turns it off)' }),
      ttl: Duration({ default: '5m', description: 'how long a verified pair skips the password hash' }),
    },
    { additionalProperties: false, default: {} },
  ),
});

export const BasicAuthCredentialSchema = Type.Object(
  {
    id: Type.Optional(Type.String({ minLength: 1, description: 'stable credential id for logs and X-Credential-Id' })),
    username: Type.String({ minLength: 1, maxLength: 256, description: 'the user-id; compared after Unicode NFC normalization' }),
    password_hash: Type.String({
      minLength: 1,
      'x-secret': true,
      description: 'an scrypt hash from `portcullis hash-password` ($scrypt$...), or a bcrypt hash ($2b$...) to import',
    }),
  },
  { additionalProperties: false },
);

import { Type } from '@sinclair/typebox';
import { Secret } from '../../config/types.js';

export const KeyAuthSchema = Type.Object({
  header: Type.String({ default: 'x-api-key', pattern: '^[A-Za-z0-9-]+$', description: 'the request header that carries the key' }),
  query: Type.Optional(
    Type.String({ minLength: 1, description: 'also accept the key from this query parameter (keys in URLs end up in logs: avoid)' }),
  ),
  keep_credential: Type.Boolean({ default: false, description: 'forward the key to the upstream instead of removing it' }),
});

export const KeyAuthCredentialSchema = Type.Object(
  {
    id: Type.Optional(Type.String({ minLength: 1, description: 'stable credential id for logs and X-Credential-Id' })),
    key: Type.Optional(Secret({ description: 'the key itself; hashed in memory at load, use ${env:...} or ${file:...}' })),
    // x-secret: an unsalted digest lets whoever reads it (the audit trail, a SIEM) test guesses of the key offline.
    key_sha256: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$', 'x-secret': true, description: 'hex SHA-256 of the key, so the key never sits in the file' })),
  },
  { additionalProperties: false },
);

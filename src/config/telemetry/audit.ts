/**
 * The hash-chained, signed audit trail of config changes (docs/audit.md).
 * Absent: no trail is kept. The file and key are read at start and kept for
 * the life of the process: a reload cannot redirect, re-key or switch off the
 * trail that records it (a changed `telemetry.audit` is recorded, and applies
 * at the next start).
 */
import { Type, type Static } from '@sinclair/typebox';
import { Secret } from '../types.js';

export const AuditSchema = Type.Optional(
  Type.Object(
    {
      file: Type.String({
        minLength: 1,
        maxLength: 4096,
        description: 'the JSON-lines audit file, appended to and never rewritten (relative to the config file); its signed head is kept beside it in FILE.head',
      }),
      key: Secret({
        description:
          'the signing key: an Ed25519 private key in PEM (`portcullis audit keygen`; verifiers then need only the public key), or an HMAC-SHA256 key of at least 32 bytes (verifiers then need the same key); use ${file:...} and keep it off the disk the trail is written to',
      }),
      checkpoint_every: Type.Integer({
        minimum: 1,
        maximum: 100_000,
        default: 100,
        description: 'a signed checkpoint record (the count of records and the head hash) after this many records, and one at every clean shutdown',
      }),
    },
    { additionalProperties: false, description: 'the tamper-evident audit trail of config changes; none when absent' },
  ),
);

export type AuditConfig = Static<typeof AuditSchema>;

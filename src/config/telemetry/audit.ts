/** The hash-chained, signed audit trail of config changes. (Filled in by the audit work.) */
import { Type } from '@sinclair/typebox';

export const AuditSchema = Type.Optional(Type.Object({}, { additionalProperties: false }));

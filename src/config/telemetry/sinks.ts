/** Event and access-log sinks: where each stream goes and in which format. (Filled in by the sinks work.) */
import { Type } from '@sinclair/typebox';

export const SinkSchema = Type.Object(
  { kind: Type.Literal('stdout', { description: 'where the stream goes' }) },
  { additionalProperties: false },
);

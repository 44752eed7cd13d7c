import { Type } from '@sinclair/typebox';

/** A header value as written: no control characters but tab (no CR/LF, so no header can be injected). */
const Value = Type.String({
  maxLength: 4096,
  pattern: '^[^\\u0000-\\u0008\\u000A-\\u001F\\u007F]*$',
  description: 'the value; may use ${consumer}, ${request_id}, ${client_ip} and ${route}',
});

const Changes = (direction: string) =>
  Type.Object(
    {
      remove: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { default: [], maxItems: 64, description: `${direction} headers removed` }),
      rename: Type.Record(Type.String(), Type.String({ minLength: 1, maxLength: 256 }), {
        default: {},
        description: `${direction} headers renamed: old name → new name (the value kept, one of the same new name replaced)`,
      }),
      set: Type.Record(Type.String(), Value, { default: {}, description: `${direction} headers set: name → value, replacing any of that name` }),
      add: Type.Record(Type.String(), Type.Union([Value, Type.Array(Value, { minItems: 1, maxItems: 16 })]), {
        default: {},
        description: `${direction} headers added: name → value (or a list), beside any of that name`,
      }),
    },
    { additionalProperties: false, default: {}, description: `changes to the ${direction} headers, applied in the order remove, rename, set, add` },
  );

export const HeadersSchema = Type.Object({
  request: Changes('request'),
  response: Changes('response'),
});

import { Type } from '@sinclair/typebox';
import { Size } from '../../config/types.js';

export const FieldRuleSchema = Type.Object(
  {
    required: Type.Boolean({ default: false, description: 'the field must be present' }),
    allow: Type.Optional(Type.String({ minLength: 1, description: 'an RE2 regular expression the value must match (anchor it with ^ and $)' })),
    deny: Type.Optional(Type.String({ minLength: 1, description: 'an RE2 regular expression the value must not match' })),
    max_length: Type.Optional(Type.Integer({ minimum: 0, description: 'the most characters the value may have' })),
    min_length: Type.Optional(Type.Integer({ minimum: 0, description: 'the fewest characters the value may have' })),
  },
  { additionalProperties: false },
);

const Fields = (description: string) => Type.Optional(Type.Record(Type.String({ minLength: 1 }), FieldRuleSchema, { description }));

export const RequestValidationSchema = Type.Object({
  path: Type.Optional(
    Type.Object(
      {
        allow: Type.Optional(Type.String({ minLength: 1, description: 'RE2 the normalized path must match' })),
        deny: Type.Optional(Type.String({ minLength: 1, description: 'RE2 the normalized path must not match' })),
      },
      { additionalProperties: false },
    ),
  ),
  query: Fields('query parameters by name'),
  unknown_query: Type.Union([Type.Literal('allow'), Type.Literal('reject')], {
    default: 'allow',
    description: 'reject: a query parameter not listed under query (or in the OpenAPI operation) is refused',
  }),
  headers: Fields('request headers by name (case-insensitive)'),
  cookies: Fields('cookies by name'),
  body: Type.Optional(
    Type.Object(
      {
        required: Type.Boolean({ default: false, description: 'a request must have a body' }),
        content_types: Type.Optional(
          Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'accepted media types, e.g. application/json (415 otherwise)' }),
        ),
        max_size: Size({ default: '1MiB', description: 'the largest body read for validation; at most gateway.limits.max_buffered_body' }),
        schema: Type.Optional(
          Type.Object({}, { additionalProperties: true, description: 'a JSON Schema (draft-07, or 2020-12 with "$schema") the JSON body must satisfy' }),
        ),
        fields: Fields('JSON body fields by dotted path (user.email, items.0.sku)'),
      },
      { additionalProperties: false },
    ),
  ),
  openapi: Type.Optional(
    Type.Object(
      {
        spec: Type.Union([Type.String({ minLength: 1 }), Type.Object({}, { additionalProperties: true })], {
          description: 'the OpenAPI 3.0 or 3.1 description: inline, or its text with "${file:openapi.yaml}"',
        }),
        base_path: Type.Optional(Type.String({ pattern: '^(/.*)?$', description: 'the path prefix of the spec\'s paths on this route (default: the path of servers[0].url)' })),
        strict: Type.Boolean({
          default: true,
          description: 'refuse requests the spec does not declare: 404 for an unknown path, 405 for an undeclared method (positive security model)',
        }),
        validate_body: Type.Boolean({ default: true, description: 'validate request bodies against the operation\'s schema' }),
      },
      { additionalProperties: false },
    ),
  ),
  status: Type.Integer({ minimum: 400, maximum: 499, default: 400, description: 'the status of a request that breaks a rule' }),
});

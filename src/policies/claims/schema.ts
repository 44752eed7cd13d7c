import { Type } from '@sinclair/typebox';

const Scalar = Type.Union([Type.String(), Type.Number(), Type.Boolean()]);

export const ClaimRuleSchema = Type.Object(
  {
    claim: Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })], {
      description: 'a claim name, or a path of names into nested objects: [realm_access, roles]',
    }),
    equals: Type.Optional(Scalar),
    one_of: Type.Optional(Type.Array(Scalar, { minItems: 1 })),
    contains: Type.Optional(Type.String({ description: 'an array claim holds this value, or a space-separated string claim holds this word' })),
  },
  { additionalProperties: false },
);

export const ClaimsSchema = Type.Object({
  scopes: Type.Array(Type.String({ pattern: '^[\\x21\\x23-\\x5b\\x5d-\\x7e]+$' }), { default: [], description: 'scopes the credentials must all carry' }),
  rules: Type.Array(ClaimRuleSchema, { default: [] }),
  issuers: Type.Optional(
    Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      description:
        'the issuers whose scopes and claims these rules are about: the identity\'s "iss" must be one of them. Required when the route accepts tokens of several issuers',
    }),
  ),
  match: Type.Union([Type.Literal('all'), Type.Literal('any')], { default: 'all', description: 'whether every rule or at least one must hold' }),
  services: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'as a global policy: apply only to these services' })),
  realm: Type.String({ default: 'portcullis' }),
});

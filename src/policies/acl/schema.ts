import { Type } from '@sinclair/typebox';

const Groups = (description: string) => Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, uniqueItems: true, description }));

export const AclSchema = Type.Object({
  allow: Groups('the consumer must be in at least one of these groups'),
  deny: Groups('a consumer in any of these groups is refused, even if also allowed'),
  services: Groups('as a global policy: apply only to routes of these services'),
});

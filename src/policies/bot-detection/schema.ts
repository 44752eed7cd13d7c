import { Type } from '@sinclair/typebox';

export const BotDetectionSchema = Type.Object({
  builtin: Type.Boolean({
    default: true,
    description: 'refuse the user agents of well-known attack tools and scanners (sqlmap, nikto, nuclei, masscan, ...)',
  }),
  deny: Type.Array(Type.String({ minLength: 1 }), {
    default: [],
    description: 'more user agents to refuse: RE2 regular expressions, matched case-insensitively anywhere in the User-Agent',
  }),
  allow: Type.Array(Type.String({ minLength: 1 }), {
    default: [],
    description: 'user agents let through whatever the deny rules say (your own monitoring): RE2, case-insensitive',
  }),
  block_empty: Type.Boolean({ default: false, description: 'refuse requests without a User-Agent or with an empty one' }),
  status: Type.Integer({ minimum: 400, maximum: 499, default: 403, description: 'the status of a refused request' }),
});

import { Type } from '@sinclair/typebox';
import { Duration } from '../../config/types.js';
import { KeyBySchema, PolicyName } from '../../traffic/keys.js';

const LimitSchema = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, description: 'requests allowed per window' }),
    window: Duration({ description: 'the window: 1s, 1m, 1h, 1d, or any duration' }),
    name: Type.Optional(PolicyName),
  },
  { additionalProperties: false },
);

export const RateLimitSchema = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, description: 'requests allowed per window (one limit; use `limits` for several)' })),
  window: Type.Optional(Duration({ description: 'the window of `limit` (default 1m)' })),
  limits: Type.Optional(
    Type.Array(LimitSchema, { minItems: 1, maxItems: 8, description: 'several limits at once (per second and per hour, say); a request must fit all' }),
  ),
  algorithm: Type.Union([Type.Literal('sliding-window'), Type.Literal('fixed-window'), Type.Literal('token-bucket')], {
    default: 'sliding-window',
    description: 'sliding-window (smooth, no double burst at window edges), fixed-window, or token-bucket (GCRA, with `burst`)',
  }),
  burst: Type.Optional(Type.Integer({ minimum: 1, description: 'token-bucket: requests allowed at once (default: the limit)' })),
  by: KeyBySchema('consumer', 'what a count belongs to; parts missing from a request fall back to the client IP'),
  name: Type.Optional(PolicyName),
  headers: Type.Boolean({ default: true, description: 'send RateLimit-Policy, RateLimit and X-RateLimit-* headers' }),
  batch: Type.Optional(
    Type.Integer({
      minimum: 2,
      maximum: 1000,
      description: 'reserve this many requests per store round trip (fewer round trips; may admit up to nodes × (batch − 1) fewer than the limit per window, never more)',
    }),
  ),
});

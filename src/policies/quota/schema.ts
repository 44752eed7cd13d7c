import { Type } from '@sinclair/typebox';
import { Duration } from '../../config/types.js';
import { KeyBySchema, PolicyName } from '../../traffic/keys.js';

export const QuotaSchema = Type.Object({
  limit: Type.Integer({ minimum: 0, description: 'requests allowed per period' }),
  period: Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month'), Duration()], {
    default: 'month',
    description: 'day, week (from Monday) or month, in UTC, or a duration (periods aligned to multiples of it)',
  }),
  by: KeyBySchema('consumer', 'whose allowance it is; parts missing from a request fall back to the client IP'),
  consumers: Type.Record(Type.String(), Type.Integer({ minimum: 0 }), {
    default: {},
    description: 'per-consumer allowances that replace `limit` (consumer name → requests per period)',
  }),
  name: Type.Optional(PolicyName),
  headers: Type.Boolean({ default: true, description: 'send X-Quota-Limit, X-Quota-Remaining and RateLimit items' }),
});

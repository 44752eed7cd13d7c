import { Type } from '@sinclair/typebox';
import { Duration, Timer } from '../../config/types.js';
import { KeyBySchema } from '../../traffic/keys.js';

export const ConcurrencyLimitSchema = Type.Object({
  max: Type.Integer({ minimum: 1, description: 'requests in progress at once, per key' }),
  by: KeyBySchema('route', 'what is limited: route, service or global (503 when full), or a caller such as consumer or ip (429)'),
  queue: Type.Object(
    {
      size: Type.Integer({ minimum: 0, default: 10, description: 'requests that may wait for a slot, per key; 0 refuses at once' }),
      timeout: Timer({ default: '1s', description: 'longest wait for a slot' }),
    },
    { additionalProperties: false, default: {} },
  ),
  retry_after: Duration({ default: '1s', description: 'the Retry-After sent with a refusal' }),
});

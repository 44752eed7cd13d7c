import { Type } from '@sinclair/typebox';
import { Size } from '../../config/types.js';
import { KeyBySchema } from '../../traffic/keys.js';

export const BandwidthLimitSchema = Type.Object({
  rate: Size({ description: 'bytes per second, per key and direction (such as 1MiB)' }),
  burst: Type.Optional(Size({ description: 'bytes that may pass at once before the rate applies (default: a quarter second of the rate)' })),
  direction: Type.Union([Type.Literal('both'), Type.Literal('request'), Type.Literal('response')], {
    default: 'both',
    description: 'which bodies are limited: request (uploads), response (downloads) or both (each at `rate`)',
  }),
  by: KeyBySchema('consumer', 'whose bytes share one rate: consumer, ip, route ...; parts missing from a request fall back to the client IP'),
});

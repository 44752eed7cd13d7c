/**
 * bandwidth-limit: bytes per second per key (consumer, IP, route ...) on
 * request and/or response bodies, applied while they stream, with a burst
 * allowance. Concurrent transfers of one key share its rate. Per gateway
 * node: each node meters what passes through it.
 */
import { definePolicy } from '../../pipeline/policy.js';
import { ConfigError } from '../../config/errors.js';
import { parseSize } from '../../config/units.js';
import { compileKey } from '../../traffic/keys.js';
import { BandwidthLimitSchema } from './schema.js';
import { ByteBucket, Throttle } from './throttle.js';

/** Buckets kept per direction before idle full ones are dropped. */
const PRUNE_ABOVE = 10_000;

export default definePolicy({
  name: 'bandwidth-limit',
  phase: 'traffic',
  description: 'Limits body bytes per second per caller or route, while streaming, with a burst allowance.',
  config: BandwidthLimitSchema,
  compile(config) {
    const rate = parseSize(config.rate);
    if (rate < 1) throw new ConfigError('rate must be at least 1 byte per second', ['rate']);
    const burst = config.burst !== undefined ? parseSize(config.burst) : Math.max(1, Math.floor(rate / 4));
    if (burst < 1) throw new ConfigError('burst must be at least 1 byte', ['burst']);
    const keyOf = compileKey(config.by);
    const buckets = { request: new Map<string, ByteBucket>(), response: new Map<string, ByteBucket>() };

    const throttle = (map: Map<string, ByteBucket>, key: string): Throttle => {
      let bucket = map.get(key);
      if (!bucket) {
        if (map.size >= PRUNE_ABOVE) for (const [k, b] of map) if (b.users === 0 && b.full) map.delete(k);
        map.set(key, (bucket = new ByteBucket(rate / 1000, burst)));
      }
      return new Throttle(bucket);
    };
    const up = config.direction !== 'response';
    const down = config.direction !== 'request';
    return {
      requestBody: up ? (ctx) => throttle(buckets.request, keyOf(ctx)) : undefined,
      responseBody: down ? (ctx) => throttle(buckets.response, keyOf(ctx)) : undefined,
    };
  },
});

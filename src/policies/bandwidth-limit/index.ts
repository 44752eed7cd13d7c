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
import { Buckets } from './buckets.js';
import { ByteBucket, Throttle } from './throttle.js';

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
    const make = () => new ByteBucket(rate / 1000, burst);
    const requests = new Buckets(make);
    const responses = new Buckets(make);
    const up = config.direction !== 'response';
    const down = config.direction !== 'request';
    return {
      requestBody: up ? (ctx) => new Throttle(requests.get(keyOf(ctx))) : undefined,
      responseBody: down ? (ctx) => new Throttle(responses.get(keyOf(ctx))) : undefined,
    };
  },
});

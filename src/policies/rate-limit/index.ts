/**
 * rate-limit: requests per window, per caller (consumer, IP, header, ...),
 * several windows at once, as a sliding or fixed window or a token bucket
 * (GCRA). Counts live in the gateway's store, so a fleet sharing one Redis
 * admits exactly the limit in total: each decision is one atomic script.
 * A refused request consumes nothing. Refusals are 429 with Retry-After and
 * the RateLimit headers; admitted responses carry the headers too.
 */
import { RequestSlot, type RequestContext } from '../../pipeline/context.js';
import { deny, type PolicyResult } from '../../pipeline/decision.js';
import { definePolicy } from '../../pipeline/policy.js';
import { ConfigError } from '../../config/errors.js';
import { parseDuration } from '../../config/units.js';
import type { Awaitable, WindowLimit } from '../../stores/store.js';
import { compileKey, keySignature } from '../../traffic/keys.js';
import { policyItem, writeRateLimitHeaders, type QuotaPolicy } from '../../traffic/headers.js';
import { LeasedCounter } from './lease.js';
import type { Standing } from './standing.js';
import { RateLimitSchema } from './schema.js';

export default definePolicy({
  name: 'rate-limit',
  phase: 'traffic',
  description: 'Limits requests per window and caller, exactly across a fleet sharing one Redis.',
  config: RateLimitSchema,
  compile(config, deps) {
    const limits = limitsOf(config);
    const tokenBucket = config.algorithm === 'token-bucket';
    if (tokenBucket && limits.length > 1) throw new ConfigError('token-bucket takes one limit (a rate) and a burst', ['limits']);
    if (!tokenBucket && config.burst !== undefined) throw new ConfigError('burst applies to algorithm: token-bucket only', ['burst']);
    if (tokenBucket && config.batch !== undefined) throw new ConfigError('batch applies to the window algorithms only', ['batch']);

    const policies: QuotaPolicy[] = limits.map((l) => ({
      name: l.name,
      quota: tokenBucket ? (config.burst ?? l.limit) : l.limit,
      windowMs: l.windowMs,
      suffix: limits.length > 1 ? l.name : undefined,
    }));
    const policyHeader = policies.map(policyItem).join(', ');
    const keyOf = compileKey(config.by);
    // What the event says: the limits and the kind of key (never the key itself: it may be a credential).
    const eventData = { limit: limits[0]!.limit, window: limits.map((l) => l.name).join(','), limits: policyHeader, key: keySignature(config.by) };
    const namespace = `rl:${config.name ?? `${deps.route ?? '*'}:${keySignature(config.by)}`}:${config.algorithm}:${limits.map((l) => `${l.limit}/${l.windowMs}`).join(',')}`;

    let count: (key: string) => Awaitable<Standing>;
    if (tokenBucket) {
      const l = limits[0]!;
      const bucket = deps.stores.bucket(namespace, { intervalMs: l.windowMs / l.limit, burst: config.burst ?? l.limit });
      count = (key) => {
        const d = bucket.take(key);
        return d instanceof Promise ? d.then(fromBucket) : fromBucket(d);
      };
    } else {
      const windows: WindowLimit[] = limits.map((l) => ({ limit: l.limit, windowMs: l.windowMs }));
      const counter = deps.stores.windows(namespace, windows, config.algorithm === 'sliding-window');
      count = config.batch !== undefined ? new LeasedCounter(counter, config.batch).take : (key) => counter.hit(key);
    }

    const standings = new RequestSlot<Standing>();
    const refuse = (s: Standing) => {
      const headers: Record<string, string> = { 'retry-after': String(Math.max(1, Math.ceil(s.retryAfterMs / 1000))) };
      if (config.headers) writeRateLimitHeaders(headers, policies, policyHeader, s.remaining, s.resetMs);
      return deny('rate_limited', {
        headers,
        event: { type: 'rate_limit.exceeded', severity: 'low', data: eventData },
      });
    };
    const decide = (ctx: RequestContext, s: Standing): PolicyResult => {
      if (!s.allowed) return refuse(s);
      if (config.headers) standings.set(ctx, s);
      return undefined;
    };

    return {
      onRequest(ctx) {
        const standing = count(keyOf(ctx));
        return standing instanceof Promise ? standing.then((s) => decide(ctx, s)) : decide(ctx, standing);
      },
      onResponse(ctx) {
        const s = standings.get(ctx);
        if (s) writeRateLimitHeaders(ctx.response.headers, policies, policyHeader, s.remaining, s.resetMs);
      },
    };
  },
});

function fromBucket(d: { allowed: boolean; remaining: number; resetMs: number; retryAfterMs: number }): Standing {
  return { allowed: d.allowed, remaining: [d.remaining], resetMs: [d.resetMs], retryAfterMs: d.retryAfterMs };
}

interface Limit {
  readonly limit: number;
  readonly windowMs: number;
  readonly name: string;
}

function limitsOf(config: { limit?: number; window?: string; limits?: Array<{ limit: number; window: string; name?: string }> }): Limit[] {
  if (config.limits && (config.limit !== undefined || config.window !== undefined)) {
    throw new ConfigError('give either `limit` (with `window`) or `limits`, not both', ['limits']);
  }
  const list = config.limits ?? (config.limit !== undefined ? [{ limit: config.limit, window: config.window ?? '1m' }] : undefined);
  if (!list) throw new ConfigError('needs `limit` (and `window`), or `limits`', []);
  const seen = new Set<number>();
  return list.map((l, i) => {
    const windowMs = parseDuration(l.window);
    const path = config.limits ? ['limits', i, 'window'] : ['window'];
    if (windowMs < 1000) throw new ConfigError('a window is at least 1s', path);
    if (seen.has(windowMs)) throw new ConfigError('two limits have the same window', path);
    seen.add(windowMs);
    return { limit: l.limit, windowMs, name: 'name' in l && l.name ? l.name : l.window };
  });
}

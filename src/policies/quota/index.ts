/**
 * quota: a long-period allowance (a day, a week, a month) per consumer, kept
 * in the store so it survives gateway restarts (with Redis) and is shared by
 * a fleet. Remaining quota is in X-Quota-Remaining and the RateLimit fields;
 * a spent quota is 429 with Retry-After until the next period. A refused
 * request uses nothing. Periods follow the gateway's UTC clock.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { RequestSlot, type RequestContext } from '../../pipeline/context.js';
import { deny, type PolicyResult } from '../../pipeline/decision.js';
import { definePolicy } from '../../pipeline/policy.js';
import { ConfigError } from '../../config/errors.js';
import type { CountDecision } from '../../stores/store.js';
import { appendListHeader, limitItem, policyItem } from '../../traffic/headers.js';
import { compileKey, keySignature } from '../../traffic/keys.js';
import { compilePeriod } from './period.js';
import { QuotaSchema } from './schema.js';

/** Counts outlive their period by a day, so a clock a little behind still finds them. */
const SLACK_MS = 86_400_000;

interface Standing {
  readonly limit: number;
  readonly remaining: number;
  readonly resetMs: number;
}

export default definePolicy({
  name: 'quota',
  phase: 'traffic',
  description: 'Long-period allowances (day, week, month) per consumer, shared and persistent with Redis.',
  config: QuotaSchema,
  compile(config, deps) {
    const { periodOf, typicalMs } = compilePeriod(config.period);
    if (typicalMs < 60_000) throw new ConfigError('a quota period is at least 1m; use rate-limit for shorter windows', ['period']);
    for (const name of Object.keys(config.consumers)) {
      if (!deps.consumers.has(name)) throw new ConfigError(`no consumer named "${name}"`, ['consumers', name]);
    }
    const overrides = new Map(Object.entries(config.consumers));
    const name = config.name ?? `quota-${config.period}`;
    const keyOf = compileKey(config.by);
    const counter = deps.stores.counter(`quota:${config.name ?? `${deps.route ?? '*'}:${keySignature(config.by)}`}:${config.period}`);
    const standings = new RequestSlot<Standing>();

    const write = (headers: OutgoingHttpHeaders, s: Standing) => {
      headers['x-quota-limit'] = String(s.limit);
      headers['x-quota-remaining'] = String(s.remaining);
      appendListHeader(headers, 'ratelimit-policy', policyItem({ name, quota: s.limit, windowMs: typicalMs, suffix: undefined }));
      appendListHeader(headers, 'ratelimit', limitItem(name, s.remaining, s.resetMs));
    };
    const decide = (ctx: RequestContext, limit: number, resetMs: number, d: CountDecision): PolicyResult => {
      const standing = { limit, remaining: Math.max(0, limit - d.count), resetMs };
      if (d.allowed) {
        if (config.headers) standings.set(ctx, standing);
        return undefined;
      }
      const headers: OutgoingHttpHeaders = { 'retry-after': String(Math.max(1, Math.ceil(resetMs / 1000))) };
      if (config.headers) write(headers, standing);
      return deny('quota_exceeded', { headers, event: { type: 'quota.exceeded', severity: 'low', data: { limit, period: config.period, key: keySignature(config.by) } } });
    };

    return {
      onRequest(ctx) {
        const limit = (ctx.consumer && overrides.get(ctx.consumer.name)) ?? config.limit;
        const now = Date.now();
        const period = periodOf(now);
        const resetMs = period.end - now;
        const d = counter.add(`${keyOf(ctx)}:${period.id}`, limit, 1, period.end - now + SLACK_MS);
        return d instanceof Promise ? d.then((r) => decide(ctx, limit, resetMs, r)) : decide(ctx, limit, resetMs, d);
      },
      onResponse(ctx) {
        const s = standings.get(ctx);
        if (s) write(ctx.response.headers, s);
      },
    };
  },
});

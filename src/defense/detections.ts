/**
 * Detections, compiled from `defense.detections`: what counts (a request's
 * refusal events, its status, its route), per what key, and how (an exact
 * sliding-window threshold, a distinct count, a ratio on a route). Matching
 * is a few set lookups; counting goes through the store (engine.ts).
 */
import { createHash } from 'node:crypto';
import type { DetectionConfig } from '../config/defense.js';
import { parseDuration } from '../config/units.js';

/** One finished request as detections see it. */
export interface Observation {
  readonly clientIp: string;
  readonly consumer: string | undefined;
  readonly credential: string | undefined;
  readonly attempted: string | undefined;
  readonly route: string | undefined;
  readonly path: string;
  readonly status: number;
  /** The types of the security events that refused it (not monitored ones). */
  readonly events: readonly string[];
}

export type Counting =
  | { readonly kind: 'threshold'; readonly count: number; readonly windowMs: number }
  | { readonly kind: 'distinct'; readonly of: 'attempted_credential' | 'ip' | 'consumer' | 'path'; readonly count: number; readonly windowMs: number }
  | { readonly kind: 'ratio'; readonly above: number; readonly minRequests: number; readonly windowMs: number };

export interface Detection {
  readonly name: string;
  readonly monitor: boolean;
  readonly key: DetectionConfig['key'];
  readonly counting: Counting;
  readonly playbook: string;
  readonly window: string;
  /** The statuses it counts. */
  readonly statusesWatched: readonly number[];
  /** It counts requests with no refusal event and any status (every authenticated request). */
  readonly everyRequest: boolean;
  /** Does this request count? */
  matches(o: Observation): boolean;
  /** Is the request one of those a ratio divides by (the route is watched)? */
  watchesRoute(o: Observation): boolean;
}

export function compileDetection(config: DetectionConfig): Detection {
  const types = new Set<string>();
  const families: string[] = [];
  for (const e of config.match.events) {
    if (e.endsWith('.*')) families.push(e.slice(0, -1));
    else types.add(e);
  }
  const statuses = new Set(config.match.statuses);
  const routes = config.match.routes.length > 0 ? new Set(config.match.routes) : undefined;
  const authenticated = config.match.authenticated === true;
  const everyAuthenticated = authenticated && types.size === 0 && families.length === 0 && statuses.size === 0;
  const counting: Counting = config.threshold
    ? { kind: 'threshold', count: config.threshold.count, windowMs: parseDuration(config.threshold.window) }
    : config.distinct
      ? { kind: 'distinct', of: config.distinct.of, count: config.distinct.count, windowMs: parseDuration(config.distinct.window) }
      : { kind: 'ratio', above: config.ratio!.above, minRequests: config.ratio!.min_requests, windowMs: parseDuration(config.ratio!.window) };
  const watchesRoute = (o: Observation) => o.route !== undefined && (routes === undefined || routes.has(o.route));
  return {
    name: config.name,
    monitor: config.mode === 'monitor',
    key: config.key,
    counting,
    playbook: config.playbook,
    window: config.threshold?.window ?? config.distinct?.window ?? config.ratio!.window,
    statusesWatched: config.match.statuses,
    everyRequest: everyAuthenticated,
    watchesRoute,
    matches(o) {
      if (routes !== undefined && (o.route === undefined || !routes.has(o.route))) return false;
      if (authenticated && o.consumer === undefined) return false;
      if (everyAuthenticated) return true;
      if (statuses.has(o.status)) return true;
      for (const t of o.events) {
        if (types.has(t)) return true;
        for (const f of families) if (t.startsWith(f)) return true;
      }
      return false;
    },
  };
}

/**
 * The key a request counts under, or undefined when it has none (no consumer for a consumer key).
 * `source`: the client's source (source.ts: its address, or its IPv6 network), which an `ip` key counts.
 */
export function keyOf(d: Detection, o: Observation, source: string | undefined): string | undefined {
  switch (d.key) {
    case 'ip':
      return source;
    case 'consumer':
      return o.consumer;
    case 'credential':
      return o.credential;
    case 'route':
      return o.route;
  }
}

/** The member a distinct count adds: hashed, so no tried user name or key digest is ever stored. */
export function memberOf(of: Extract<Counting, { kind: 'distinct' }>['of'], o: Observation, source: string | undefined): string | undefined {
  const raw = of === 'attempted_credential' ? o.attempted : of === 'ip' ? source : of === 'consumer' ? o.consumer : o.path;
  if (raw === undefined) return undefined;
  return createHash('sha256').update(raw).digest('base64url').slice(0, 22);
}

/**
 * The running state as an operator looks at it: versions, upstream health
 * and breakers, the store, overload, certificates and their expiry, traffic
 * per route from the metrics, and who the caller is (with what the role
 * grants: the dashboard shows buttons from it).
 */
import type { ApiRoute } from './types.js';

const certificateSchema = {
  type: 'object',
  properties: { source: { type: 'string' }, role: { type: 'string' }, subject: { type: 'string' }, serial: { type: 'string' }, expires: { type: 'string', format: 'date-time' }, days_left: { type: 'number' } },
  required: ['source', 'role', 'subject', 'expires', 'days_left'],
};

function certificates(api: Parameters<ApiRoute['handle']>[1]) {
  const now = Date.now();
  return api.link.sources
    .certificates()
    .map((c) => ({ source: c.source, role: c.role, subject: c.subject, serial: c.serial, expires: new Date(now + c.secondsLeft * 1000).toISOString(), days_left: Math.floor(c.secondsLeft / 864) / 100 }))
    .sort((a, b) => a.days_left - b.days_left);
}

/** The named fields only: the live objects behind these views hold timers and sockets. */
function pick<T extends object>(value: T | undefined, keys: readonly (keyof T)[]): Partial<T> | null {
  if (value === undefined) return null;
  const out: Partial<T> = {};
  for (const k of keys) out[k] = value[k];
  return out;
}

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

export const stateRoutes: ApiRoute[] = [
  {
    method: 'GET',
    path: '/api/v1/state',
    resource: 'state',
    verb: 'read',
    tag: 'state',
    summary: 'The running state: config version, upstream health and breakers, store, overload, certificate expiry',
    ok: { status: 200, schema: { type: 'object', properties: { node: { type: 'string' }, version: { type: 'integer' }, stored_version: { type: ['integer', 'null'] }, services: { type: 'array' }, certificates: { type: 'array', items: certificateSchema } } } },
    handle(_call, api) {
      const s = api.link.sources;
      const services = [...s.services()].map((svc) => ({
        name: svc.name,
        targets: svc.targets.map((t) => ({ origin: t.origin, healthy: t.healthy && t.downUntil <= Date.now(), breaker: t.breaker?.state ?? null })),
      }));
      return {
        status: 200,
        body: {
          node: api.link.telemetry.node,
          version: api.link.version(),
          stored_version: api.versions.latest()?.id ?? null,
          config_etag: api.configEtag(),
          source_of_truth: api.sourceOfTruth,
          services,
          store: pick(s.store(), ['kind', 'state', 'incidents', 'failedOperations']),
          overload: pick(s.overload(), ['inFlight', 'shed', 'lastDelayMs']),
          certificates: certificates(api),
        },
      };
    },
  },
  {
    method: 'GET',
    path: '/api/v1/certificates',
    resource: 'certificates',
    verb: 'read',
    tag: 'state',
    summary: 'Every certificate in use (listeners, upstream client certificates, CAs) and its expiry, soonest first',
    ok: { status: 200, schema: { type: 'object', properties: { items: { type: 'array', items: certificateSchema } }, required: ['items'] } },
    handle: (_call, api) => ({ status: 200, body: { items: certificates(api) } }),
  },
  {
    method: 'GET',
    path: '/api/v1/traffic',
    resource: 'state',
    verb: 'read',
    tag: 'state',
    summary: 'Requests by route and status class, and time spent, from the metrics since start (telemetry.metrics on); by consumer with consumer_labels on',
    ok: { status: 200, schema: { type: 'object', properties: { metrics: { type: 'boolean' }, time: { type: 'string', format: 'date-time' }, routes: { type: 'array' }, consumers: { type: 'array' } } } },
    async handle(_call, api) {
      const metrics = api.link.telemetry.metrics;
      if (!metrics) return { status: 200, body: { metrics: false, time: new Date().toISOString(), routes: [] } };
      type Row = { route: string; service: string; requests: number; by_class: Record<string, number>; seconds: number };
      const rows = new Map<string, Row>();
      const row = (route: string, service: string) => {
        const key = `${route}\0${service}`;
        let r = rows.get(key);
        if (!r) rows.set(key, (r = { route, service, requests: 0, by_class: Object.fromEntries(STATUS_CLASSES.map((c) => [c, 0])), seconds: 0 }));
        return r;
      };
      const requests = await metrics.registry.getSingleMetric('portcullis_requests_total')?.get();
      for (const v of requests?.values ?? []) {
        const r = row(String(v.labels.route), String(v.labels.service));
        r.requests += v.value;
        const cls = String(v.labels.status_class);
        r.by_class[cls] = (r.by_class[cls] ?? 0) + v.value;
      }
      const duration = await metrics.registry.getSingleMetric('portcullis_request_duration_seconds')?.get();
      for (const v of duration?.values ?? []) {
        if ((v as { metricName?: string }).metricName?.endsWith('_sum')) row(String(v.labels.route), String(v.labels.service)).seconds += v.value;
      }
      // Per consumer only when telemetry.metrics.consumer_labels is on (the metric is empty otherwise).
      const byConsumer = new Map<string, { consumer: string; requests: number; errors: number }>();
      const perConsumer = await metrics.registry.getSingleMetric('portcullis_consumer_requests_total')?.get();
      for (const v of perConsumer?.values ?? []) {
        const name = String(v.labels.consumer);
        const c = byConsumer.get(name) ?? { consumer: name, requests: 0, errors: 0 };
        c.requests += v.value;
        if (v.labels.status_class === '4xx' || v.labels.status_class === '5xx') c.errors += v.value;
        byConsumer.set(name, c);
      }
      const routes = [...rows.values()].sort((a, b) => b.requests - a.requests);
      const consumers = [...byConsumer.values()].sort((a, b) => b.requests - a.requests).slice(0, 50);
      return { status: 200, body: { metrics: true, time: new Date().toISOString(), routes, consumers } };
    },
  },
  {
    method: 'GET',
    path: '/api/v1/me',
    resource: 'state',
    verb: 'read',
    tag: 'state',
    summary: 'Who the caller is (an admin token or client certificate), its role and what the role grants (resource → verbs)',
    ok: {
      status: 200,
      schema: {
        type: 'object',
        properties: { name: { type: 'string' }, role: { type: 'string' }, via: { type: 'string', enum: ['token', 'certificate'] }, grants: { type: 'object' } },
        required: ['name', 'role', 'via', 'grants'],
      },
    },
    handle: (call, api) => ({ status: 200, body: { name: call.principal.name, role: call.principal.role, via: call.principal.via, grants: api.grants(call.principal.role) } }),
  },
];

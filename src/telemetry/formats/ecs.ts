/**
 * Elastic Common Schema (ECS 8.11), one JSON document per record, with dotted
 * names written as nested objects (what Elasticsearch and Filebeat expect).
 * Event kind: access records are `event`, security events `alert` when they
 * refused a request or would have, `event` otherwise. Fields ECS has no place
 * for go under `portcullis.*` (a custom namespace, as ECS asks). docs/siem.md
 * lists every field.
 */
import type { EventCategory, TelemetryEvent } from '../event.js';
import type { Product } from './product.js';
import type { AccessRecord, SinkRecord } from './record.js';
import { ECS_SEVERITY, severityOf } from './severity.js';

export const ECS_VERSION = '8.11.0';

/** ECS event.category and event.type for each of our categories (the allowed values of ECS 8.11). */
const CATEGORY: Readonly<Record<EventCategory, { category: string[]; type: string[] }>> = {
  authentication: { category: ['authentication'], type: ['start'] },
  authorization: { category: ['iam'], type: ['denied'] },
  traffic: { category: ['network'], type: ['denied'] },
  threat: { category: ['intrusion_detection', 'web'], type: ['denied'] },
  validation: { category: ['web'], type: ['denied'] },
  network: { category: ['network'], type: ['denied'] },
  tls: { category: ['network'], type: ['connection', 'error'] },
  protocol: { category: ['web'], type: ['denied'] },
  overload: { category: ['web'], type: ['denied'] },
  config: { category: ['configuration'], type: ['change'] },
  certificate: { category: ['configuration'], type: ['info'] },
  store: { category: ['database'], type: ['error'] },
  audit: { category: ['configuration'], type: ['change'] },
  defense: { category: ['intrusion_detection'], type: ['change'] },
};

/** Optional fields are left undefined: JSON.stringify omits them, so they are absent rather than null. */
function clean<T>(value: T): T {
  return value;
}

function observer(product: Product, node: string) {
  return { name: node, vendor: product.vendor, product: product.name, version: product.version, type: 'proxy' };
}

function accessEcs(a: AccessRecord, product: Product) {
  return clean({
    '@timestamp': a.time,
    ecs: { version: ECS_VERSION },
    message: `${a.method} ${a.path} ${a.status}`,
    event: clean({
      kind: 'event',
      category: ['web', 'network'],
      type: a.status < 400 ? ['access', 'allowed'] : ['access', 'denied'],
      action: 'request',
      outcome: a.status < 400 ? 'success' : 'failure',
      severity: ECS_SEVERITY[severityOf({ stream: 'access', access: a })],
      dataset: 'portcullis.access',
      module: 'portcullis',
      code: a.code,
      duration: Math.round(a.totalMs * 1e6),
    }),
    observer: observer(product, a.node),
    source: { ip: a.clientIp },
    destination: clean({ domain: a.host, address: a.target }),
    url: { path: a.path, domain: a.host },
    http: { request: { id: a.requestId, method: a.method }, response: { status_code: a.status, body: { bytes: a.bytesSent } } },
    user: a.consumer === undefined ? undefined : { name: a.consumer },
    trace: a.traceId === undefined ? undefined : { id: a.traceId },
    service: a.service === undefined ? undefined : { name: a.service },
    portcullis: clean({ route: a.route, completed: a.completed, upstream_ms: a.upstreamMs, events: a.events }),
  });
}

function eventEcs(e: TelemetryEvent, product: Product) {
  const r = e.request;
  const map = CATEGORY[e.category] ?? { category: ['web'], type: ['info'] };
  const refused = e.action === 'blocked' || e.action === 'monitored';
  return clean({
    '@timestamp': e.time,
    ecs: { version: ECS_VERSION },
    message: e.message,
    event: clean({
      kind: refused ? 'alert' : 'event',
      category: map.category,
      type: e.action === 'monitored' ? map.type.map((t) => (t === 'denied' ? 'info' : t)) : map.type,
      action: e.type,
      outcome: e.action === 'blocked' ? 'failure' : e.action === 'monitored' ? 'success' : 'unknown',
      severity: ECS_SEVERITY[e.severity],
      reason: e.reason,
      code: e.code,
      dataset: 'portcullis.events',
      module: 'portcullis',
    }),
    observer: observer(product, e.node),
    source: r === undefined ? undefined : { ip: r.clientIp },
    url: r === undefined ? undefined : { path: r.path, domain: r.host },
    http: r === undefined ? undefined : clean({ request: { id: r.id, method: r.method }, response: r.status === undefined ? undefined : { status_code: r.status } }),
    user: r?.consumer === undefined ? undefined : { name: r.consumer },
    trace: r?.traceId === undefined ? undefined : { id: r.traceId },
    service: r?.service === undefined ? undefined : { name: r.service },
    rule: { id: e.type, name: e.type, category: e.category, ruleset: e.source },
    portcullis: clean({ action: e.action, route: r?.route, credential_id: r?.credentialId, details: e.details }),
  });
}

export function ecsFormatter(product: Product) {
  return (record: SinkRecord): string => JSON.stringify(record.stream === 'events' ? eventEcs(record.event, product) : accessEcs(record.access, product));
}

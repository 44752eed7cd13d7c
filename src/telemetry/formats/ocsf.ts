/**
 * OCSF 1.1.0 (Open Cybersecurity Schema Framework), as Amazon Security Lake
 * and other OCSF lakes take it, one JSON object per record:
 * - access records: HTTP Activity (4002, Network Activity), the activity from
 *   the method;
 * - authentication events: Authentication (3002, Identity & Access
 *   Management), activity Logon, status Failure;
 * - every other security event (threat, validation, authorization, traffic,
 *   network, protocol ...): Detection Finding (2004, Findings), activity
 *   Create, the event type as the finding's analytic.
 * Fields OCSF has no place for go under `unmapped`, as the schema asks.
 * docs/siem.md lists every field.
 */
import type { TelemetryEvent } from '../event.js';
import type { Product } from './product.js';
import type { AccessRecord, SinkRecord } from './record.js';
import { OCSF_SEVERITY, severityOf } from './severity.js';

export const OCSF_VERSION = '1.1.0';

/** HTTP Activity activity_id by method (OCSF 1.1.0); anything else is 99 Other. */
const HTTP_ACTIVITY: Readonly<Record<string, [number, string]>> = {
  CONNECT: [1, 'Connect'],
  DELETE: [2, 'Delete'],
  GET: [3, 'Get'],
  HEAD: [4, 'Head'],
  OPTIONS: [5, 'Options'],
  POST: [6, 'Post'],
  PUT: [7, 'Put'],
  TRACE: [8, 'Trace'],
};

/** Drops undefined members, so optional fields are absent rather than null. */
function clean<T extends Record<string, unknown>>(value: T): T {
  for (const key of Object.keys(value)) if (value[key] === undefined) delete value[key];
  return value;
}

function metadata(product: Product, uid: string | undefined, logName: string) {
  return clean({
    version: OCSF_VERSION,
    product: { name: product.name, vendor_name: product.vendor, version: product.version },
    log_name: logName,
    uid,
  });
}

function classify(cls: { uid: number; name: string; category: number; categoryName: string }, activity: [number, string]) {
  return {
    class_uid: cls.uid,
    class_name: cls.name,
    category_uid: cls.category,
    category_name: cls.categoryName,
    activity_id: activity[0],
    activity_name: activity[1],
    type_uid: cls.uid * 100 + activity[0],
    type_name: `${cls.name}: ${activity[1]}`,
  };
}

const HTTP = { uid: 4002, name: 'HTTP Activity', category: 4, categoryName: 'Network Activity' };
const AUTHENTICATION = { uid: 3002, name: 'Authentication', category: 3, categoryName: 'Identity & Access Management' };
const DETECTION = { uid: 2004, name: 'Detection Finding', category: 2, categoryName: 'Findings' };

function httpRequest(method: string, host: string, path: string, id: string | undefined) {
  return clean({ http_method: method, url: { hostname: host, path, url_string: path }, uid: id });
}

function accessOcsf(a: AccessRecord, product: Product) {
  const [severityId, severity] = OCSF_SEVERITY[severityOf({ stream: 'access', access: a })];
  const activity = HTTP_ACTIVITY[a.method] ?? [99, a.method];
  return clean({
    ...classify(HTTP, activity),
    time: Date.parse(a.time),
    severity_id: severityId,
    severity,
    status_id: a.status < 400 ? 1 : 2,
    status: a.status < 400 ? 'Success' : 'Failure',
    status_code: a.code,
    metadata: metadata(product, a.requestId, 'access'),
    src_endpoint: { ip: a.clientIp },
    dst_endpoint: clean({ hostname: a.host, svc_name: a.service }),
    http_request: httpRequest(a.method, a.host, a.path, a.requestId),
    http_response: { code: a.status, length: a.bytesSent },
    actor: a.consumer === undefined ? undefined : { user: { name: a.consumer } },
    duration: Math.round(a.totalMs),
    unmapped: clean({
      node: a.node,
      trace_id: a.traceId,
      route: a.route,
      target: a.target,
      completed: a.completed,
      upstream_ms: a.upstreamMs,
      events: a.events,
    }),
  });
}

function eventOcsf(e: TelemetryEvent, product: Product) {
  const [severityId, severity] = OCSF_SEVERITY[e.severity];
  const r = e.request;
  const common = {
    time: Date.parse(e.time),
    severity_id: severityId,
    severity,
    message: e.message,
    metadata: metadata(product, r?.id, 'events'),
    src_endpoint: r === undefined ? undefined : { ip: r.clientIp },
    dst_endpoint: r === undefined ? undefined : clean({ hostname: r.host, svc_name: r.service }),
    http_request: r === undefined ? undefined : httpRequest(r.method, r.host, r.path, r.id),
    http_response: r?.status === undefined ? undefined : { code: r.status },
  };
  const unmapped = clean({
    node: e.node,
    type: e.type,
    action: e.action,
    source: e.source,
    code: e.code,
    trace_id: r?.traceId,
    route: r?.route,
    credential_id: r?.credentialId,
    details: e.details,
  });
  if (e.category === 'authentication') {
    return clean({
      ...classify(AUTHENTICATION, [1, 'Logon']),
      ...common,
      status_id: 2,
      status: 'Failure',
      status_code: e.code,
      status_detail: e.reason,
      user: r?.consumer === undefined ? undefined : { name: r.consumer },
      service: r?.service === undefined ? undefined : { name: r.service },
      unmapped,
    });
  }
  return clean({
    ...classify(DETECTION, [1, 'Create']),
    ...common,
    status_id: 1,
    status: 'New',
    action_id: e.action === 'blocked' ? 2 : 1,
    action: e.action === 'blocked' ? 'Denied' : 'Allowed',
    disposition_id: e.action === 'blocked' ? 2 : 15,
    disposition: e.action === 'blocked' ? 'Blocked' : 'Detected',
    finding_info: clean({
      uid: r === undefined ? `${e.type}@${e.time}` : `${r.id}:${e.type}`,
      title: e.message,
      types: [e.category],
      analytic: { uid: e.type, name: e.type, type_id: 1, type: 'Rule', category: e.category },
      desc: e.reason,
    }),
    actor: r?.consumer === undefined ? undefined : { user: { name: r.consumer } },
    unmapped,
  });
}

export function ocsfFormatter(product: Product) {
  return (record: SinkRecord): string => JSON.stringify(record.stream === 'events' ? eventOcsf(record.event, product) : accessOcsf(record.access, product));
}

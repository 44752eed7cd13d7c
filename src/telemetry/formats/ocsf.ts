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
interface Activity {
  readonly id: number;
  readonly name: string;
}

const HTTP_ACTIVITY: Readonly<Record<string, Activity>> = {
  CONNECT: { id: 1, name: 'Connect' },
  DELETE: { id: 2, name: 'Delete' },
  GET: { id: 3, name: 'Get' },
  HEAD: { id: 4, name: 'Head' },
  OPTIONS: { id: 5, name: 'Options' },
  POST: { id: 6, name: 'Post' },
  PUT: { id: 7, name: 'Put' },
  TRACE: { id: 8, name: 'Trace' },
};

/** Optional fields are left undefined: JSON.stringify omits them, so they are absent rather than null. */
function clean<T>(value: T): T {
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

const HTTP = { uid: 4002, name: 'HTTP Activity', category: 4, categoryName: 'Network Activity' };
const AUTHENTICATION = { uid: 3002, name: 'Authentication', category: 3, categoryName: 'Identity & Access Management' };
const DETECTION = { uid: 2004, name: 'Detection Finding', category: 2, categoryName: 'Findings' };
const LOGON: Activity = { id: 1, name: 'Logon' };
const CREATE: Activity = { id: 1, name: 'Create' };

function httpRequest(method: string, host: string, path: string, id: string | undefined) {
  return clean({ http_method: method, url: { hostname: host, path, url_string: path }, uid: id });
}

function accessOcsf(a: AccessRecord, product: Product) {
  const severity = OCSF_SEVERITY[severityOf({ stream: 'access', access: a })];
  const activity = HTTP_ACTIVITY[a.method] ?? { id: 99, name: a.method };
  // Every member written out: spreading a class object into a literal this size made V8 build it ten times slower.
  return clean({
    class_uid: HTTP.uid,
    class_name: HTTP.name,
    category_uid: HTTP.category,
    category_name: HTTP.categoryName,
    activity_id: activity.id,
    activity_name: activity.name,
    type_uid: HTTP.uid * 100 + activity.id,
    type_name: `${HTTP.name}: ${activity.name}`,
    time: Date.parse(a.time),
    severity_id: severity.id,
    severity: severity.name,
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
  const severity = OCSF_SEVERITY[e.severity];
  const r = e.request;
  const auth = e.category === 'authentication';
  const cls = auth ? AUTHENTICATION : DETECTION;
  const activity = auth ? LOGON : CREATE;
  const blocked = e.action === 'blocked';
  // One literal for both classes, members written out (see accessOcsf); those of the other class stay undefined and are not written.
  return clean({
    class_uid: cls.uid,
    class_name: cls.name,
    category_uid: cls.category,
    category_name: cls.categoryName,
    activity_id: activity.id,
    activity_name: activity.name,
    type_uid: cls.uid * 100 + activity.id,
    type_name: `${cls.name}: ${activity.name}`,
    time: Date.parse(e.time),
    severity_id: severity.id,
    severity: severity.name,
    message: e.message,
    metadata: metadata(product, r?.id, 'events'),
    src_endpoint: r === undefined ? undefined : { ip: r.clientIp },
    dst_endpoint: r === undefined ? undefined : clean({ hostname: r.host, svc_name: r.service }),
    http_request: r === undefined ? undefined : httpRequest(r.method, r.host, r.path, r.id),
    http_response: r?.status === undefined ? undefined : { code: r.status },
    status_id: auth ? 2 : 1,
    status: auth ? 'Failure' : 'New',
    status_code: auth ? e.code : undefined,
    status_detail: auth ? e.reason : undefined,
    user: auth && r?.consumer !== undefined ? { name: r.consumer } : undefined,
    service: auth && r?.service !== undefined ? { name: r.service } : undefined,
    action_id: auth ? undefined : blocked ? 2 : 1,
    action: auth ? undefined : blocked ? 'Denied' : 'Allowed',
    disposition_id: auth ? undefined : blocked ? 2 : 15,
    disposition: auth ? undefined : blocked ? 'Blocked' : 'Detected',
    finding_info: auth
      ? undefined
      : clean({
          uid: r === undefined ? `${e.type}@${e.time}` : `${r.id}:${e.type}`,
          title: e.message,
          types: [e.category],
          analytic: { uid: e.type, name: e.type, type_id: 1, type: 'Rule', category: e.category },
          desc: e.reason,
        }),
    actor: !auth && r?.consumer !== undefined ? { user: { name: r.consumer } } : undefined,
    unmapped: clean({
      node: e.node,
      type: e.type,
      action: e.action,
      source: e.source,
      code: e.code,
      trace_id: r?.traceId,
      route: r?.route,
      credential_id: r?.credentialId,
      details: e.details,
    }),
  });
}

export function ocsfFormatter(product: Product) {
  return (record: SinkRecord): string => JSON.stringify(record.stream === 'events' ? eventOcsf(record.event, product) : accessOcsf(record.access, product));
}

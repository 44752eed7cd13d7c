/**
 * The security events a request collected on its way (pipeline/events.ts),
 * put on the event stream once the request is over, with the request's
 * identity around each: who, which route, which trace, what the client got.
 */
import type { RequestContext } from '../pipeline/context.js';
import type { SecurityEvent } from '../pipeline/events.js';
import type { EventBus, EventCategory, EventRequest, TelemetryEvent } from './event.js';

/** The category of an event type, from its first dotted part. */
const CATEGORIES: Readonly<Record<string, EventCategory>> = {
  auth: 'authentication',
  authz: 'authorization',
  acl: 'authorization',
  claims: 'authorization',
  rate: 'traffic',
  quota: 'traffic',
  concurrency: 'traffic',
  bandwidth: 'traffic',
  waf: 'threat',
  bot: 'threat',
  validation: 'validation',
  ip: 'network',
  request: 'protocol',
  dependency: 'store',
};

export function categoryOf(type: string): EventCategory {
  const dot = type.indexOf('.');
  return CATEGORIES[dot < 0 ? type : type.slice(0, dot)] ?? 'threat';
}

export function requestOf(ctx: RequestContext, status: number): EventRequest {
  return {
    id: ctx.id,
    traceId: ctx.traceId,
    method: ctx.method,
    path: ctx.path,
    host: ctx.host,
    clientIp: ctx.clientIp,
    route: ctx.routeName,
    service: ctx.serviceName,
    consumer: ctx.consumer?.name,
    credentialId: ctx.credentialId,
    status,
  };
}

function toTelemetry(node: string, time: string, request: EventRequest, e: SecurityEvent): TelemetryEvent {
  return {
    time,
    node,
    type: e.type,
    category: categoryOf(e.type),
    severity: e.severity,
    action: e.action,
    message: e.reason ?? `${e.policy} ${e.action === 'blocked' ? 'refused' : 'would refuse'} the request (${e.code})`,
    source: e.policy,
    code: e.code,
    reason: e.reason,
    request: { ...request, status: e.action === 'blocked' ? request.status : e.status },
    details: e.data,
  };
}

/** Emits every event the request collected; nothing is built when no one listens. */
export function emitRequestEvents(bus: EventBus, ctx: RequestContext, status: number): void {
  const events = ctx.events;
  if (events === undefined || !bus.active) return;
  const time = new Date().toISOString();
  const request = requestOf(ctx, status);
  for (const e of events) bus.emit(toTelemetry(bus.node, time, request, e));
}

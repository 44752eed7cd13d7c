/**
 * The security events a request collected on its way (pipeline/events.ts),
 * put on the event stream once the request is over, with the request's
 * identity around each: who, which route, which trace, what the client got.
 * Every field a decision site handed over passes the event type's schema
 * (event-types.ts, redact.ts) here, the one place request events are built.
 */
import type { RequestContext } from '../pipeline/context.js';
import type { SecurityEvent } from '../pipeline/events.js';
import type { EventBus, EventCategory, EventRequest, TelemetryEvent } from './event.js';
import { eventSpec, type EventTypeSpec } from './event-types.js';
import { clip, cleanDetails, cleanReason, HOST_MAX, PATH_MAX, text } from './redact.js';
import { SourceLimit } from './source-limit.js';

/** What an unregistered name (from outside the type system) is reported as: never dropped, never trusted. */
const UNREGISTERED: EventTypeSpec = eventSpec('policy.refused')!;

/** The category of an event type, from the registry. */
export function categoryOf(type: string): EventCategory {
  return (eventSpec(type) ?? UNREGISTERED).category;
}

export function requestOf(ctx: RequestContext, status: number): EventRequest {
  return {
    id: ctx.id,
    traceId: ctx.traceId,
    method: ctx.method,
    // Bounded (redact.ts): every event a sink queues holds them.
    path: clip(ctx.path, PATH_MAX),
    host: clip(ctx.host, HOST_MAX),
    clientIp: ctx.clientIp,
    route: ctx.routeName,
    service: ctx.serviceName,
    consumer: ctx.consumer?.name,
    credentialId: ctx.credentialId,
    status,
  };
}

/** A request's security event as the stream carries it. */
export function toTelemetry(node: string, time: string, request: EventRequest, e: SecurityEvent): TelemetryEvent {
  const registered = eventSpec(e.type);
  const spec = registered ?? UNREGISTERED;
  const type = registered ? e.type : 'policy.refused';
  return {
    time,
    node,
    type,
    category: spec.category,
    severity: e.severity ?? spec.severity,
    action: e.action,
    message: e.message === undefined ? `${e.policy} ${e.action === 'blocked' ? 'refused' : 'would refuse'} the request (${e.code})` : text(e.message),
    source: e.policy,
    code: e.code,
    reason: cleanReason(spec, e.reason),
    request: { ...request, status: e.action === 'monitored' ? e.status : request.status },
    details: cleanDetails(spec, e.data),
  };
}

/** Per bus, the gateway-wide limits of the types that come in floods (EventTypeSpec.flood). */
const floodLimits = new WeakMap<EventBus, Map<string, SourceLimit>>();

/** undefined: leave this event out; a number: emit it, with how many of its type were left out before it. */
function floodAllowance(bus: EventBus, type: string, spec: EventTypeSpec): number | undefined {
  const flood = spec.flood!;
  let limits = floodLimits.get(bus);
  if (!limits) floodLimits.set(bus, (limits = new Map<string, SourceLimit>()));
  let limit = limits.get(type);
  if (!limit) limits.set(type, (limit = new SourceLimit(flood.events, flood.windowMs, 1)));
  return limit.take(type);
}

/** Emits every event the request collected; nothing is built when no one listens. */
export function emitRequestEvents(bus: EventBus, ctx: RequestContext, status: number): void {
  const events = ctx.events;
  if (events === undefined || !bus.active) return;
  let time: string | undefined;
  let request: EventRequest | undefined;
  for (const e of events) {
    const spec = eventSpec(e.type);
    let event = e;
    if (spec?.flood) {
      const suppressed = floodAllowance(bus, e.type, spec);
      if (suppressed === undefined) continue;
      if (suppressed > 0) event = { ...e, data: { ...e.data, suppressed } };
    }
    time ??= new Date().toISOString();
    request ??= requestOf(ctx, status);
    bus.emit(toTelemetry(bus.node, time, request, event));
  }
}

/**
 * Events about the gateway itself rather than a request: a TLS handshake that
 * failed, a connection the parser refused, a reload, a certificate near its
 * end, the store going away and coming back. Built through the same schema as
 * request events (event-types.ts, redact.ts); nothing is built when no one
 * listens.
 */
import type { EventAction, EventBus, Severity } from './event.js';
import { EVENT_TYPES, type EventType } from './event-types.js';
import { cleanDetails, cleanReason, text } from './redact.js';

export interface GatewayEvent {
  readonly type: EventType;
  /** The gateway part that saw it: "tls", "listener", "config", "certificates", "store", "http2". */
  readonly source: string;
  readonly message: string;
  readonly reason?: string;
  /** Defaults to the type's registered severity. */
  readonly severity?: Severity;
  /** Defaults to the type's first registered action. */
  readonly action?: EventAction;
  readonly details?: Readonly<Record<string, string | number | boolean | undefined>>;
}

/** Where gateway parts hand their events: the bus, or nothing (validate, tests without telemetry). */
export type EmitGatewayEvent = (event: GatewayEvent) => void;

export function gatewayEvents(bus: EventBus): EmitGatewayEvent {
  return (event) => {
    if (!bus.active) return;
    const spec = EVENT_TYPES[event.type];
    bus.emit({
      time: new Date().toISOString(),
      node: bus.node,
      type: event.type,
      category: spec.category,
      severity: event.severity ?? spec.severity,
      action: event.action ?? spec.actions[0],
      message: text(event.message),
      source: event.source,
      reason: cleanReason(spec, event.reason),
      details: cleanDetails(spec, event.details),
    });
  };
}

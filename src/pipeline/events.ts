/**
 * Security events: typed records of refusals and detections, collected on the
 * request context for telemetry and automatic response to consume. A policy
 * never writes to a sink itself. Event types are registered in
 * telemetry/event-types.ts (a leaf, like errors.ts): a type not there does
 * not compile, and its schema decides which details reach the stream.
 */
import type { EventType } from '../telemetry/event-types.js';

export type { AuthReason, EventType } from '../telemetry/event-types.js';

/** The event type of "no credentials presented": only these refusals let `anonymous` apply. */
export const MISSING_CREDENTIALS = 'auth.missing_credentials';

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';

export type SecurityEventData = Readonly<Record<string, string | number | boolean | undefined>>;

export interface SecurityEventDetails {
  /** A registered name such as "auth.missing_credentials" or "waf.sqli". */
  readonly type: EventType;
  /** Defaults to the type's registered severity. */
  readonly severity?: Severity;
  /** Why, as a stable token the type registers ("wrong_issuer", "expired"); anything else is dropped. */
  readonly reason?: string;
  /** One short sentence for a human; never a secret (it is masked and cut anyway). */
  readonly message?: string;
  /** Fields the type's schema declares; undeclared ones are dropped, samples masked and cut. */
  readonly data?: SecurityEventData;
}

export interface SecurityEvent {
  readonly type: EventType;
  readonly severity: Severity | undefined;
  readonly policy: string;
  readonly route: string | undefined;
  readonly consumer: string | undefined;
  readonly clientIp: string;
  readonly requestId: string;
  /** enforce: the request was refused; monitor: it would have been; observed: a detection that refused nothing by itself (a waf rule's match). */
  readonly action: 'blocked' | 'monitored' | 'observed';
  readonly status: number;
  readonly code: string;
  readonly reason: string | undefined;
  readonly message: string | undefined;
  readonly data: SecurityEventData | undefined;
}

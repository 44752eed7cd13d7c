/**
 * The one shape of everything the event stream carries: security decisions on
 * requests (refusals, monitor hits), gateway happenings (TLS handshake
 * failures, overload shedding, config changes, certificate expiry, store
 * outages) and, later, defense actions. Sinks format it (JSON, CEF, OCSF,
 * ECS); metrics count it; automatic defense reads it. Nothing here is ever a
 * secret: a field reaches an event only through the event type's schema
 * (telemetry/event-types.ts), which says what each detail field may hold.
 */
import type { Severity } from '../pipeline/events.js';

export type { Severity } from '../pipeline/events.js';

/** What kind of thing happened; sinks map it to their own classes (CEF signature prefix, OCSF class). */
export type EventCategory =
  | 'authentication'
  | 'authorization'
  | 'traffic'
  | 'threat'
  | 'validation'
  | 'network'
  | 'tls'
  | 'protocol'
  | 'overload'
  | 'config'
  | 'certificate'
  | 'store'
  | 'audit'
  | 'defense';

/**
 * blocked: the request was refused; monitored: it would have been (monitor
 * mode); observed: seen and noted, nothing refused (an expiry warning, a store
 * outage); changed: the gateway itself changed (a reload, a defense action).
 */
export type EventAction = 'blocked' | 'monitored' | 'observed' | 'changed';

/** The request an event is about, when it is about one. */
export interface EventRequest {
  readonly id: string;
  readonly traceId?: string;
  readonly method: string;
  /** Normalized path, never the query string (where keys and tokens end up). */
  readonly path: string;
  readonly host: string;
  readonly clientIp: string;
  readonly route?: string;
  readonly service?: string;
  readonly consumer?: string;
  /** The credential's id (a key's name, a certificate fingerprint), never the credential. */
  readonly credentialId?: string;
  /** The status the client received (or would have, in monitor mode). */
  readonly status?: number;
}

export type EventDetailValue = string | number | boolean;

export interface TelemetryEvent {
  /** ISO 8601 with milliseconds, UTC. */
  readonly time: string;
  /** telemetry.node_id: which gateway node saw it. */
  readonly node: string;
  /** A stable dotted name, e.g. "waf.sqli", "auth.invalid_credentials", "tls.handshake_failed", "config.reloaded". */
  readonly type: string;
  readonly category: EventCategory;
  readonly severity: Severity;
  readonly action: EventAction;
  /** One short human sentence. */
  readonly message: string;
  /** The policy (or gateway part: "gateway", "tls", "store") that decided. */
  readonly source: string;
  /** The client error code, for refusals. */
  readonly code?: string;
  /** Why, in a stable token: "wrong_issuer", "expired", "bad_signature", "sqli", ... */
  readonly reason?: string;
  readonly request?: EventRequest;
  /** Type-specific fields, as the event type's schema allows them. */
  readonly details?: Readonly<Record<string, EventDetailValue>>;
}

export type EventListener = (event: TelemetryEvent) => void;

/**
 * Which events this process reports. One process: all. A worker of a node
 * (cluster/workers/node-events.ts) leaves the node-wide happenings every
 * worker sees alike (a reload of the node, an expiring certificate) to
 * worker 0, so a sink gets one event per happening, not one per worker.
 */
export const eventScope: { reports: ((type: string) => boolean) | undefined } = { reports: undefined };

/**
 * Fans events out to sinks, metrics and defense. emit() never throws and
 * never waits: a listener that fails is logged once and skipped, so the
 * request path is never held up by what watches it.
 */
export class EventBus {
  private listeners: EventListener[] = [];
  private failing = new WeakSet<EventListener>();

  constructor(
    readonly node: string,
    private readonly onListenerError: (error: unknown) => void = () => {},
  ) {}

  subscribe(listener: EventListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  get active(): boolean {
    return this.listeners.length > 0;
  }

  emit(event: TelemetryEvent): void {
    if (eventScope.reports && !eventScope.reports(event.type)) return;
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        if (!this.failing.has(listener)) {
          this.failing.add(listener);
          this.onListenerError(error);
        }
      }
    }
  }
}

/**
 * What a sink carries: a security event (the events stream) or an access
 * record (the access stream, one per request). The access record is the
 * object form of the access line (telemetry/access-log.ts): it is built only
 * when an access sink other than the plain stdout line is configured.
 */
import type { TelemetryEvent } from '../event.js';

export interface AccessRecord {
  /** ISO 8601 with milliseconds, UTC. */
  readonly time: string;
  readonly node: string;
  readonly requestId: string;
  readonly traceId?: string;
  readonly clientIp: string;
  readonly method: string;
  /** Normalized, never the query string. */
  readonly path: string;
  readonly host: string;
  readonly route?: string;
  readonly service?: string;
  /** The upstream target that answered. */
  readonly target?: string;
  readonly consumer?: string;
  readonly status: number;
  /** The refusal's client error code. */
  readonly code?: string;
  /** false: the client went away before the response was complete. */
  readonly completed: boolean;
  readonly bytesSent: number;
  readonly upstreamMs?: number;
  readonly totalMs: number;
  /** The request's events as "action:type" (the full events are on the events stream). */
  readonly events?: readonly string[];
}

export type SinkRecord =
  | { readonly stream: 'events'; readonly event: TelemetryEvent }
  | { readonly stream: 'access'; readonly access: AccessRecord };

/** A record as one line of text, without the line end; never contains CR or LF. */
export type Formatter = (record: SinkRecord) => string;

/** The record's time as milliseconds since the epoch. */
export function epochMs(record: SinkRecord): number {
  return Date.parse(record.stream === 'events' ? record.event.time : record.access.time);
}

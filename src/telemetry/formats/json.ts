/**
 * JSON: an event exactly as the bus carries it (TelemetryEvent); an access
 * record with the keys and order of the stdout access line
 * (telemetry/access-log.ts), so a file of them reads like the line on stdout.
 */
import type { AccessRecord, SinkRecord } from './record.js';

export function accessJson(a: AccessRecord): Record<string, unknown> {
  return {
    level: 'info',
    time: a.time,
    type: 'access',
    request_id: a.requestId,
    trace_id: a.traceId,
    node: a.node,
    client_ip: a.clientIp,
    method: a.method,
    path: a.path,
    host: a.host,
    route: a.route,
    service: a.service,
    target: a.target,
    consumer: a.consumer,
    status: a.status,
    code: a.code,
    completed: a.completed,
    bytes_sent: a.bytesSent,
    upstream_ms: a.upstreamMs,
    total_ms: a.totalMs,
    events: a.events,
    msg: 'request',
  };
}

/** JSON.stringify escapes CR and LF inside strings, so the result is one line. */
export function formatJson(record: SinkRecord): string {
  return JSON.stringify(record.stream === 'events' ? record.event : accessJson(record.access));
}

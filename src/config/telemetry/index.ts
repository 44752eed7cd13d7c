/**
 * The `telemetry` section: the node's name, where security events and access
 * lines go, metrics, tracing and the audit trail. Each part's schema lives in
 * a file of its own beside this one.
 */
import { Type, type Static } from '@sinclair/typebox';
import { AccessStreamSchema, EventsStreamSchema } from './sinks.js';
import { MetricsSchema } from './metrics.js';
import { TracingSchema } from './tracing.js';
import { AuditSchema } from './audit.js';

export const TelemetrySchema = Type.Object(
  {
    node_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'this node\'s name in events, metrics and traces; the host name when not set' })),
    events: EventsStreamSchema,
    access_log: AccessStreamSchema,
    metrics: MetricsSchema,
    tracing: TracingSchema,
    audit: AuditSchema,
  },
  { additionalProperties: false, default: {}, description: 'metrics, security events, access-log sinks, tracing and the audit trail' },
);

export type TelemetryConfig = Static<typeof TelemetrySchema>;

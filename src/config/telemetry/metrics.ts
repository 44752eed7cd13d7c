/**
 * Prometheus metrics, served on the admin listener (GET /metrics). On by
 * default once `admin` is configured. Every label is bounded by the config
 * (route, service, policy names) or by the gateway's own vocabulary (status
 * class, method, reason tokens); consumer names only when asked for, capped.
 */
import { Type, type Static } from '@sinclair/typebox';

/** Seconds; Prometheus's client defaults, finer at the low end where a gateway's latency sits. */
export const DEFAULT_LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const MetricsSchema = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean({ description: 'collect and serve metrics; on when an admin listener is configured, unless set to false' })),
    consumer_labels: Type.Object(
      {
        enabled: Type.Boolean({ default: false, description: 'count requests per consumer (portcullis_consumer_requests_total)' }),
        max: Type.Integer({ minimum: 1, maximum: 10000, default: 100, description: 'at most this many consumer names get a series of their own; the rest are counted under "_other"' }),
      },
      { additionalProperties: false, default: {}, description: 'per-consumer request counts: off by default, capped, since consumer names can be many' },
    ),
    latency_buckets: Type.Array(Type.Number({ exclusiveMinimum: 0, maximum: 3600 }), {
      minItems: 1,
      maxItems: 30,
      default: DEFAULT_LATENCY_BUCKETS,
      description: 'upper bounds in seconds, increasing, of the request and upstream latency histograms',
    }),
  },
  { additionalProperties: false, default: {}, description: 'Prometheus metrics on the admin listener' },
);

export type MetricsConfig = Static<typeof MetricsSchema>;

/** Metrics are on when asked for, or by default when an admin listener is configured. */
export function metricsEnabled(config: { admin?: unknown; telemetry: { metrics: MetricsConfig } }): boolean {
  return config.telemetry.metrics.enabled ?? config.admin !== undefined;
}

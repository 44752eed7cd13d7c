/** Prometheus metrics served on the admin listener. (Filled in by the metrics work.) */
import { Type } from '@sinclair/typebox';

export const MetricsSchema = Type.Object({}, { additionalProperties: false, default: {} });

/** W3C trace context and OpenTelemetry export. (Filled in by the tracing work.) */
import { Type } from '@sinclair/typebox';

export const TracingSchema = Type.Object({}, { additionalProperties: false, default: {} });

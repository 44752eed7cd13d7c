/**
 * W3C trace context and OpenTelemetry export (telemetry/tracing/). Off by
 * default: then no span is made and nothing is exported, but a valid
 * traceparent from the client is still read so the access line and events
 * carry its trace id, and passed on (re-written, never as received).
 */
import { Type, type Static } from '@sinclair/typebox';
import { Secret, Timer } from '../types.js';

const HeaderName = '^[A-Za-z0-9!#$%&\'*+.^_`|~-]{1,64}$';

export const TracingSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: false, description: 'make spans and export them over OTLP/HTTP (protobuf)' }),
    endpoint: Type.String({
      format: 'uri',
      pattern: '^https?://',
      default: 'http://localhost:4318/v1/traces',
      description: 'the OTLP/HTTP traces URL of the collector, path included (http or https; https checks the collector against tls.ca, else the system roots)',
    }),
    headers: Type.Record(Type.String({ pattern: HeaderName }), Secret({ maxLength: 4096 }), {
      default: {},
      maxProperties: 32,
      description: 'headers sent with every export (a collector token); secret: never logged (use ${env:...} or ${file:...})',
    }),
    sample_ratio: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 1,
      description: 'share of new traces recorded (0 to 1); a request whose traceparent says sampled is always recorded, one that says not sampled never is, when the flag comes from a peer sampled_from trusts',
    }),
    service_name: Type.String({ minLength: 1, maxLength: 128, default: 'portcullis', description: 'the service.name of the spans' }),
    propagate: Type.Boolean({
      default: true,
      description: 'send traceparent (and the tracestate, bounded) to the upstream; the client\'s own traceparent is never forwarded as received',
    }),
    accept_from: Type.Union([Type.Literal('any'), Type.Literal('trusted_proxies'), Type.Literal('none')], {
      default: 'any',
      description: 'whose traceparent is continued: any client, only peers in gateway.trusted_proxies, or none (every request starts a new trace)',
    }),
    sampled_from: Type.Union([Type.Literal('any'), Type.Literal('trusted_proxies')], {
      default: 'trusted_proxies',
      description:
        'whose sampled flag decides whether a continued trace is recorded: any client, or only peers in gateway.trusted_proxies; another client\'s trace is continued but recorded at sample_ratio (decided at random, not from the trace id it chose), so a client cannot make the gateway record and export every request it sends',
    }),
    tracestate_max_length: Type.Integer({
      minimum: 0,
      maximum: 8192,
      default: 512,
      description: 'the longest tracestate forwarded (members are dropped to fit, as the W3C spec says); 0 forwards none',
    }),
    max_queue_size: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 2048, description: 'spans kept in memory for export; more are dropped while the collector is slow' }),
    max_batch_size: Type.Integer({ minimum: 1, maximum: 10_000, default: 512, description: 'spans in one export request; at most max_queue_size' }),
    batch_delay: Timer({ default: '5s', description: 'the longest a span waits before it is exported' }),
    export_timeout: Timer({ default: '10s', description: 'an export request slower than this fails (its spans are dropped)' }),
    tls: Type.Optional(
      Type.Object(
        {
          ca: Type.Optional(Type.String({ minLength: 1, description: 'PEM bundle the collector certificate must chain to (default: the system roots)' })),
          cert: Type.Optional(Type.String({ minLength: 1, description: 'client certificate (PEM) the gateway shows the collector' })),
          key: Type.Optional(Secret({ description: 'its private key file (PEM)' })),
        },
        { additionalProperties: false, description: 'for an https endpoint; files are relative to the config file' },
      ),
    ),
  },
  { additionalProperties: false, default: {}, description: 'W3C trace context and OpenTelemetry traces' },
);

export type TracingConfig = Static<typeof TracingSchema>;

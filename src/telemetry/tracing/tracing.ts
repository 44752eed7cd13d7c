/**
 * The gateway's tracing, owned by the telemetry hub and kept across reloads:
 * the OpenTelemetry tracer provider (parent-based ratio sampling, a batch
 * processor, the OTLP/HTTP protobuf exporter) while telemetry.tracing is
 * enabled, and the per-request entry point, begin().
 *
 * Off (the default), a request without a traceparent costs one header
 * lookup; one with a valid traceparent gets its trace id on the access line
 * and events and the upstream gets it on, re-written, with no span made.
 * On, every request gets a server span; spans of unsampled requests are
 * OpenTelemetry's non-recording ones (ids only), and only sampled requests
 * get stage and attempt spans, all exported in batches off the request path.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ROOT_CONTEXT, SpanKind, trace, TraceFlags, type Tracer } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Logger } from 'pino';
import type { TracingConfig } from '../../config/telemetry/tracing.js';
import { parseDuration } from '../../config/units.js';
import type { RequestContext } from '../../pipeline/context.js';
import { LoggedExporter } from './exporter.js';
import { RequestTrace, serverAttributes } from './request-trace.js';
import { boundedTracestate, parseTraceparent } from './trace-context.js';

/** Who may be believed about gateway.trusted_proxies (net/ip.ts's list satisfies it). */
export interface PeerTrust {
  trusts(ip: string): boolean;
}

/** How long a provider replaced by a reload keeps taking the spans of requests that started under it. */
const RETIRE_AFTER_MS = 60_000;
/** The longest attribute value a span keeps: every value is bounded, whatever sets it. */
const ATTRIBUTE_VALUE_MAX = 1024;

export class Tracing {
  private tracer: Tracer | undefined;
  private provider: TracerProvider | undefined;
  private readonly retiring = new Set<TracerProvider>();
  private applied: string | undefined;
  private propagate = true;
  private acceptFrom: TracingConfig['accept_from'] = 'any';
  private sampledFrom: TracingConfig['sampled_from'] = 'trusted_proxies';
  private ratio = 0;
  private tracestateMax = 512;
  private exportTimeoutMs = 10_000;

  constructor(
    private readonly logger: Logger,
    /** telemetry.node_id or the host name: service.instance.id. */
    private readonly node: string,
  ) {}

  get enabled(): boolean {
    return this.tracer !== undefined;
  }

  /**
   * Applies telemetry.tracing (at start and after each reload); an unchanged
   * section changes nothing. Throws, changing nothing, when a tls file cannot
   * be read (`baseDir`: the config file's folder, which tls paths are relative to).
   */
  configure(config: TracingConfig, baseDir = '.'): void {
    const key = JSON.stringify(config);
    if (key === this.applied) return;
    const tls = config.enabled && config.tls ? readTls(config.tls, baseDir) : undefined;
    this.applied = key;
    this.propagate = config.propagate;
    this.acceptFrom = config.accept_from;
    this.sampledFrom = config.sampled_from;
    this.ratio = config.sample_ratio;
    this.tracestateMax = config.tracestate_max_length;
    this.exportTimeoutMs = parseDuration(config.export_timeout);
    const previous = this.provider;
    this.provider = undefined;
    this.tracer = undefined;
    if (previous) this.retire(previous);
    if (!config.enabled) return;
    const exporter = new LoggedExporter({ endpoint: config.endpoint, headers: config.headers, timeoutMs: this.exportTimeoutMs, tls }, this.logger);
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': config.service_name, 'service.instance.id': this.node }),
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sample_ratio) }),
      spanLimits: { attributeValueLengthLimit: ATTRIBUTE_VALUE_MAX },
      spanProcessors: [
        new BatchSpanProcessor({
          exporter,
          maxQueueSize: config.max_queue_size,
          maxExportBatchSize: Math.min(config.max_batch_size, config.max_queue_size),
          scheduledDelayMillis: parseDuration(config.batch_delay),
          exportTimeoutMillis: this.exportTimeoutMs,
        }),
      ],
    });
    this.provider = provider;
    this.tracer = provider.getTracer('portcullis');
  }

  /**
   * A request arrives (server/intake.ts): reads its trace context, sets
   * ctx.traceId and ctx.spanId, starts the server span when tracing is on.
   * Undefined when there is nothing to carry (tracing off and no valid
   * traceparent accepted): the request then costs nothing more.
   */
  begin(ctx: RequestContext, peer: string, proxies: PeerTrust): RequestTrace | undefined {
    const header = ctx.headers.traceparent;
    const tracer = this.tracer;
    if (tracer === undefined && header === undefined) return undefined;
    const parent = header !== undefined && this.accepts(peer, proxies) ? parseTraceparent(header) : undefined;
    // The tracestate belongs to the trace it came with: read only beside a traceparent that is continued.
    const tracestate = parent !== undefined && this.propagate && this.tracestateMax > 0 ? boundedTracestate(ctx.headers.tracestate, this.tracestateMax) : undefined;
    if (tracer === undefined) {
      if (parent === undefined) return undefined;
      ctx.traceId = parent.traceId;
      ctx.spanId = parent.parentId;
      return new RequestTrace(parent.traceId, parent.parentId, parent.sampled, tracestate, this.propagate, undefined, undefined);
    }
    // A peer sampled_from does not trust keeps its trace id but not its say: its request is recorded at
    // the ratio, at random (TraceIdRatioBased would read the trace id the client chose).
    const sampled = parent === undefined ? false : this.sampledFrom === 'any' || proxies.trusts(peer) ? parent.sampled : Math.random() < this.ratio;
    const parentContext =
      parent === undefined
        ? ROOT_CONTEXT
        : trace.setSpanContext(ROOT_CONTEXT, { traceId: parent.traceId, spanId: parent.parentId, traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE, isRemote: true });
    const span = tracer.startSpan(ctx.method, { kind: SpanKind.SERVER, startTime: ctx.startTime }, parentContext);
    const ids = span.spanContext();
    ctx.traceId = ids.traceId;
    ctx.spanId = ids.spanId;
    const recording = span.isRecording();
    if (recording) span.setAttributes(serverAttributes(ctx));
    const requestTrace = new RequestTrace(ids.traceId, ids.spanId, (ids.traceFlags & TraceFlags.SAMPLED) !== 0, tracestate, this.propagate, tracer, recording ? span : undefined);
    if (recording) ctx.stageSpans = requestTrace;
    return requestTrace;
  }

  private accepts(peer: string, proxies: PeerTrust): boolean {
    if (this.acceptFrom === 'any') return true;
    return this.acceptFrom === 'trusted_proxies' && proxies.trusts(peer);
  }

  /** A provider a reload replaced still takes the spans of requests in flight, then flushes and stops. */
  private retire(provider: TracerProvider): void {
    this.retiring.add(provider);
    const timer = setTimeout(() => {
      this.retiring.delete(provider);
      void this.stop(provider);
    }, RETIRE_AFTER_MS);
    timer.unref();
  }

  private async stop(provider: TracerProvider): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.exportTimeoutMs);
      timer.unref();
    });
    try {
      await Promise.race([provider.shutdown(), deadline]);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'trace exporter did not shut down cleanly');
    } finally {
      clearTimeout(timer);
    }
  }

  /** Exports what is queued (at most export_timeout) and stops; the gateway's shutdown calls it. */
  async shutdown(): Promise<void> {
    const providers = [...this.retiring];
    if (this.provider) providers.push(this.provider);
    this.retiring.clear();
    this.provider = undefined;
    this.tracer = undefined;
    this.applied = undefined;
    await Promise.all(providers.map((p) => this.stop(p)));
  }
}

/** Reads the collector TLS files; the error names the setting and the path, never the content. */
function readTls(tls: NonNullable<TracingConfig['tls']>, baseDir: string): { ca?: string; cert?: string; key?: string } {
  const read = (name: string, path: string | undefined): string | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(resolve(baseDir, path), 'utf8');
    } catch (err) {
      throw new Error(`telemetry.tracing.tls.${name}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  return { ca: read('ca', tls.ca), cert: read('cert', tls.cert), key: read('key', tls.key) };
}

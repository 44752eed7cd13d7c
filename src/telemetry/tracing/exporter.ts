/**
 * The OTLP/HTTP protobuf exporter, wrapped so that a collector that is down
 * or refuses is logged once per incident (and once more when it answers
 * again), never once per batch. Exports run from the batch processor's timer,
 * off the request path; a failed batch is dropped, never retried into memory
 * without bound (the exporter's own bounded retries aside).
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import type { Logger } from 'pino';

type ResultCallback = Parameters<SpanExporter['export']>[1];
/** ExportResultCode.SUCCESS in @opentelemetry/core (a dependency of the exporter, not of the gateway). */
const SUCCESS: number = 0;

export interface ExporterOptions {
  readonly endpoint: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** PEM material for an https collector (telemetry.tracing.tls), already read. */
  readonly tls?: { readonly ca?: string; readonly cert?: string; readonly key?: string };
}

export class LoggedExporter implements SpanExporter {
  private readonly inner: OTLPTraceExporter;
  private failing = false;
  /** Where spans go, for log lines: the origin only, so no credential in the URL is ever logged. */
  private readonly collector: string;

  constructor(
    options: ExporterOptions,
    private readonly logger: Logger,
  ) {
    this.inner = new OTLPTraceExporter({
      url: options.endpoint,
      headers: { ...options.headers },
      timeoutMillis: options.timeoutMs,
      httpAgentOptions: options.tls ? { keepAlive: true, ...options.tls } : undefined,
    });
    this.collector = new URL(options.endpoint).origin;
  }

  export(spans: ReadableSpan[], done: ResultCallback): void {
    this.inner.export(spans, (result) => {
      if ((result.code as number) === SUCCESS) {
        if (this.failing) {
          this.failing = false;
          this.logger.info({ collector: this.collector }, 'trace export works again');
        }
      } else if (!this.failing) {
        this.failing = true;
        this.logger.warn(
          { collector: this.collector, err: result.error?.message, spans: spans.length },
          'trace export failed: spans are dropped until the collector answers (logged once until then)',
        );
      }
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }
}

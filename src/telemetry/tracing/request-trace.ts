/**
 * One request's trace: its ids, what the upstream is told, and, when the
 * request is recorded (tracing on and sampled), its spans: the server span
 * for the whole request, a span per pipeline stage that waited on I/O
 * (pipeline/run.ts asks through StageSpans) and a client span per upstream
 * attempt (upstream/proxy.ts asks through AttemptTracing).
 *
 * Span attributes are chosen, never copied: no query string, no header but a
 * truncated User-Agent, nothing a policy read from the credentials but the
 * consumer's name (which the access line carries too).
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { RequestContext, StageSpans } from '../../pipeline/context.js';
import type { AttemptTracing } from '../../upstream/contract.js';
import { formatTraceparent } from './trace-context.js';

/** User-Agent is the client's; only this much of it goes into a span. */
const USER_AGENT_MAX = 256;

export class RequestTrace implements StageSpans, AttemptTracing {
  private parentContext: Context | undefined;
  private attemptSpan: Span | undefined;

  constructor(
    readonly traceId: string,
    /** The span the upstream names as its parent when there is no attempt span: the server span, or the client's span when tracing is off. */
    readonly spanId: string,
    readonly sampled: boolean,
    /** What is forwarded of the client's tracestate (bounded), or undefined. */
    readonly tracestate: string | undefined,
    /** telemetry.tracing.propagate */
    readonly propagate: boolean,
    private readonly tracer: Tracer | undefined,
    /** The server span, when the request is recorded. */
    private readonly span: Span | undefined,
  ) {}

  /** The traceparent the upstream receives when no attempt span names itself (the request is not recorded). */
  traceparent(): string {
    return formatTraceparent(this.traceId, this.spanId, this.sampled);
  }

  /** The attempt tracing for the exchange: only a recorded request makes attempt spans. */
  attempts(): AttemptTracing | undefined {
    return this.span === undefined ? undefined : this;
  }

  private parent(): Context {
    return (this.parentContext ??= trace.setSpan(ROOT_CONTEXT, this.span!));
  }

  // StageSpans (pipeline/run.ts)

  waiting(name: string, phase: string, startTime: number): (refused: boolean) => void {
    const span = this.tracer!.startSpan(name, { kind: SpanKind.INTERNAL, startTime, attributes: { 'portcullis.phase': phase } }, this.parent());
    return (refused) => {
      if (refused) span.setAttribute('portcullis.refused', true);
      span.end();
    };
  }

  // AttemptTracing (upstream/proxy.ts)

  begin(attempt: number, target: string, path: string): string {
    this.end();
    const q = path.indexOf('?');
    const span = this.tracer!.startSpan(
      'upstream',
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'url.full': target + (q === -1 ? path : path.slice(0, q)),
          'server.address': new URL(target).hostname,
          'http.request.resend_count': attempt,
        },
      },
      this.parent(),
    );
    this.attemptSpan = span;
    return formatTraceparent(this.traceId, span.spanContext().spanId, true);
  }

  status(code: number): void {
    const span = this.attemptSpan;
    if (span === undefined) return;
    span.setAttribute('http.response.status_code', code);
    if (code >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  }

  end(error?: string): void {
    const span = this.attemptSpan;
    if (span === undefined) return;
    this.attemptSpan = undefined;
    if (error !== undefined) {
      span.setAttribute('error.type', error);
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  }

  /** The request is over (server/handler.ts settle): the server span gets what the request came to. */
  finish(ctx: RequestContext, status: number, completed: boolean): void {
    const span = this.span;
    if (span === undefined) return;
    this.end('client_closed');
    if (ctx.routeName !== undefined) {
      span.updateName(`${ctx.method} ${ctx.routeName}`);
      span.setAttribute('http.route', ctx.routeName);
    }
    if (ctx.serviceName !== undefined) span.setAttribute('portcullis.service', ctx.serviceName);
    if (ctx.consumer !== undefined) span.setAttribute('portcullis.consumer', ctx.consumer.name);
    if (ctx.denial !== undefined) span.setAttribute('portcullis.code', ctx.denial.code);
    span.setAttribute('http.response.status_code', status);
    if (!completed) span.setAttribute('portcullis.completed', false);
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  }
}

/** The attributes of a server span known when the request arrives. */
export function serverAttributes(ctx: RequestContext): Record<string, string> {
  const attributes: Record<string, string> = {
    'http.request.method': ctx.method,
    'url.path': ctx.path,
    'url.scheme': ctx.scheme,
    'server.address': ctx.host,
    'client.address': ctx.clientIp,
    'portcullis.request_id': ctx.id,
  };
  const agent = ctx.header('user-agent');
  if (agent !== undefined) attributes['user_agent.original'] = agent.length > USER_AGENT_MAX ? agent.slice(0, USER_AGENT_MAX) : agent;
  return attributes;
}

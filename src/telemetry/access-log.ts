/**
 * One JSON line per request: who, what, where it went, how it ended and how
 * long it took. Never a credential: no header is logged, and paths are logged
 * without their query string, which is where keys and tokens end up.
 *
 * Built by hand rather than through pino: the fields are fixed and none is
 * secret, so pino's generic serialization and redaction bought nothing and
 * cost a third of the gateway's CPU per request (see docs/performance.md).
 * Lines are gathered here and handed to the log stream in batches, at
 * 16 KiB or every 100 ms: the stream's per-write bookkeeping (a byteLength
 * of every string) then runs once a batch rather than once a request.
 */
import type { DestinationStream } from 'pino';
import type { RequestContext } from '../pipeline/context.js';

/** Characters that need JSON escaping: quotes, backslash, controls, and lone surrogates. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f\u0085\u2028\u2029\ud800-\udfff]/;
/** Line ends to readers that split the Unicode way, which JSON.stringify leaves raw (a Host header can hold NEL). */
const UNICODE_BREAKS = /[\u0085\u2028\u2029]/g;

function str(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return `"${value}"`;
  return JSON.stringify(value).replace(UNICODE_BREAKS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The quoted form of the last value a field had: a field that repeats from
 * line to line (the route, the service, the target, the consumer, the
 * method, the host, the client) is checked and quoted once, not once a line.
 */
class Quoted {
  private last = '';
  private quoted = '""';

  of(value: string): string {
    if (value !== this.last) {
      this.quoted = str(value);
      this.last = value;
    }
    return this.quoted;
  }
}

function ms(value: number): string {
  return String(Math.round(value * 100) / 100);
}

let lastMs = -1;
let lastIso = '';

/** The ISO time now, made once per millisecond rather than once per line (at 10,000 lines a second, ten lines share it). */
function isoNow(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}

const BATCH_CHARS = 16 * 1024;
const BATCH_MS = 100;

/** Hands a request's access record to the access sinks (telemetry/sinks/access-tap.ts); set only when one is configured. */
export type AccessTap = (ctx: RequestContext, status: number, completed: boolean, totalMs: number) => void;

export class AccessLog {
  private pending = '';
  private timer: NodeJS.Timeout | undefined;
  /** The hand-built line on stdout: telemetry.access_log.sinks holds a stdout sink in json (the default). */
  stdout = true;
  tap: AccessTap | undefined;
  private readonly clientIp = new Quoted();
  private readonly method = new Quoted();
  private readonly host = new Quoted();
  private readonly route = new Quoted();
  private readonly service = new Quoted();
  private readonly target = new Quoted();
  private readonly consumer = new Quoted();

  constructor(private readonly out: DestinationStream) {}

  /** Hands what is gathered to the log stream. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending === '') return;
    const batch = this.pending;
    this.pending = '';
    this.out.write(batch);
  }

  write(ctx: RequestContext, status: number, completed: boolean): void {
    if (this.tap !== undefined) this.tap(ctx, status, completed, performance.now() - ctx.startTime);
    if (!this.stdout) return;
    let line = `{"level":"info","time":"${isoNow()}","type":"access","request_id":${str(ctx.id)}`;
    // Hex digits only (telemetry/tracing/trace-context.ts checked them): written without escaping.
    if (ctx.traceId !== undefined) line += `,"trace_id":"${ctx.traceId}"`;
    line += `,"client_ip":${this.clientIp.of(ctx.clientIp)},"method":${this.method.of(ctx.method)},"path":${str(ctx.path)},"host":${this.host.of(ctx.host)}`;
    if (ctx.routeName !== undefined) line += `,"route":${this.route.of(ctx.routeName)}`;
    if (ctx.serviceName !== undefined) line += `,"service":${this.service.of(ctx.serviceName)}`;
    if (ctx.upstreamTarget !== undefined) line += `,"target":${this.target.of(ctx.upstreamTarget)}`;
    if (ctx.consumer !== undefined) line += `,"consumer":${this.consumer.of(ctx.consumer.name)}`;
    line += `,"status":${status}`;
    if (ctx.denial !== undefined) line += `,"code":${str(ctx.denial.code)}`;
    line += `,"completed":${completed},"bytes_sent":${ctx.bytesSent}`;
    if (ctx.upstreamLatencyMs >= 0) line += `,"upstream_ms":${ms(ctx.upstreamLatencyMs)}`;
    line += `,"total_ms":${ms(performance.now() - ctx.startTime)}`;
    if (ctx.events !== undefined) line += `,"events":[${ctx.events.map((e) => str(`${e.action}:${e.type}`)).join(',')}]`;
    this.pending += line + ',"msg":"request"}\n';
    if (this.pending.length >= BATCH_CHARS) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), BATCH_MS);
      this.timer.unref();
    }
  }
}

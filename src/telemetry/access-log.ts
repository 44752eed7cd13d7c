/**
 * One JSON line per request: who, what, where it went, how it ended and how
 * long it took. Never a credential: no header is logged, and paths are logged
 * without their query string, which is where keys and tokens end up.
 *
 * Built by hand rather than through pino: the fields are fixed and none is
 * secret, so pino's generic serialization and redaction bought nothing and
 * cost a third of the gateway's CPU per request (see docs/performance.md).
 * Lines go to the same buffered stream as the operational log.
 */
import type { DestinationStream } from 'pino';
import type { RequestContext } from '../pipeline/context.js';

/** Characters that need JSON escaping: quotes, backslash, controls, and lone surrogates. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f\ud800-\udfff]/;

function str(value: string): string {
  return NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : `"${value}"`;
}

function ms(value: number): string {
  return String(Math.round(value * 100) / 100);
}

export class AccessLog {
  constructor(private readonly out: DestinationStream) {}

  write(ctx: RequestContext, status: number, completed: boolean): void {
    let line = `{"level":"info","time":"${new Date().toISOString()}","type":"access","request_id":${str(ctx.id)},"client_ip":${str(ctx.clientIp)},"method":${str(ctx.method)},"path":${str(ctx.path)},"host":${str(ctx.host)}`;
    if (ctx.routeName !== undefined) line += `,"route":${str(ctx.routeName)}`;
    if (ctx.serviceName !== undefined) line += `,"service":${str(ctx.serviceName)}`;
    if (ctx.upstreamTarget !== undefined) line += `,"target":${str(ctx.upstreamTarget)}`;
    if (ctx.consumer !== undefined) line += `,"consumer":${str(ctx.consumer.name)}`;
    line += `,"status":${status}`;
    if (ctx.denial !== undefined) line += `,"code":${str(ctx.denial.code)}`;
    line += `,"completed":${completed},"bytes_sent":${ctx.bytesSent}`;
    if (ctx.upstreamLatencyMs >= 0) line += `,"upstream_ms":${ms(ctx.upstreamLatencyMs)}`;
    line += `,"total_ms":${ms(performance.now() - ctx.startTime)}`;
    if (ctx.events !== undefined) line += `,"events":[${ctx.events.map((e) => str(`${e.action}:${e.type}`)).join(',')}]`;
    this.out.write(line + ',"msg":"request"}\n');
  }
}

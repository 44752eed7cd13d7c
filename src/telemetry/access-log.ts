/**
 * One JSON line per request: who, what, where it went, how it ended and how
 * long it took. Never a credential: paths are logged without their query
 * string, which is where keys and tokens end up.
 */
import type { Logger } from 'pino';
import type { RequestContext } from '../pipeline/context.js';

export function writeAccessLog(logger: Logger, ctx: RequestContext, status: number, completed: boolean): void {
  logger.info(
    {
      type: 'access',
      request_id: ctx.id,
      client_ip: ctx.clientIp,
      method: ctx.method,
      path: ctx.path,
      host: ctx.host,
      route: ctx.routeName,
      service: ctx.serviceName,
      target: ctx.upstreamTarget,
      consumer: ctx.consumer?.name,
      status,
      code: ctx.denial?.code,
      completed,
      bytes_sent: ctx.bytesSent,
      upstream_ms: ctx.upstreamLatencyMs >= 0 ? round(ctx.upstreamLatencyMs) : undefined,
      total_ms: round(performance.now() - ctx.startTime),
      events: ctx.events?.map((e) => `${e.action}:${e.type}`),
    },
    'request',
  );
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/**
 * The object form of an access line, for access sinks other than the stdout
 * line: built only when such a sink is configured (AccessLog.tap is unset
 * otherwise, and the request path pays nothing).
 */
import type { RequestContext } from '../../pipeline/context.js';
import type { AccessRecord } from '../formats/record.js';
import { clip, HOST_MAX, PATH_MAX } from '../redact.js';

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

export function accessRecordOf(node: string, ctx: RequestContext, status: number, completed: boolean, totalMs: number): AccessRecord {
  return {
    time: new Date().toISOString(),
    node,
    requestId: ctx.id,
    traceId: ctx.traceId,
    clientIp: ctx.clientIp,
    method: ctx.method,
    path: clip(ctx.path, PATH_MAX),
    host: clip(ctx.host, HOST_MAX),
    route: ctx.routeName,
    service: ctx.serviceName,
    target: ctx.upstreamTarget,
    consumer: ctx.consumer?.name,
    status,
    code: ctx.denial?.code,
    completed,
    bytesSent: ctx.bytesSent,
    upstreamMs: ctx.upstreamLatencyMs >= 0 ? round2(ctx.upstreamLatencyMs) : undefined,
    totalMs: round2(totalMs),
    events: ctx.events?.map((e) => `${e.action}:${e.type}`),
  };
}

/**
 * A function's call outcome as the pipeline says it: a reply with the
 * function's body, or a refusal with a clear code (502 function_failed, 503
 * function_unavailable, 504 function_timeout) and a `function.failed`
 * security event.
 */
import { deny, replyWithBody, type Deny } from '../pipeline/decision.js';
import type { RequestContext } from '../pipeline/context.js';
import type { CallInfo, CallOutcome, FunctionRuntime } from './runtime.js';
import { responseHeaders, validStatus } from './http.js';

export function failure(fn: FunctionRuntime, outcome: Extract<CallOutcome, { ok: false }>): Deny {
  const code = outcome.reason === 'wall' ? 'function_timeout' : outcome.reason === 'unhealthy' || outcome.reason === 'busy' ? 'function_unavailable' : 'function_failed';
  return deny(code, {
    event: { type: 'function.failed', severity: 'medium', reason: outcome.reason, message: outcome.message.slice(0, 200), data: { function: fn.name } },
  });
}

export function callInfo(ctx: RequestContext, fn: FunctionRuntime): CallInfo {
  return {
    requestId: ctx.id,
    route: ctx.routeName,
    onFetchRefused: (refusal) =>
      ctx.recordEvent(
        `function:${fn.name}`,
        deny('function_failed', {
          event: { type: 'function.fetch_refused', severity: 'high', reason: refusal.reason, message: refusal.message.slice(0, 200), data: { function: fn.name, origin: refusal.origin } },
        }),
        'blocked',
      ),
  };
}

/** A Response the function returned, as the client's answer; a malformed one is the function's failure. */
export function replyOf(fn: FunctionRuntime, meta: { status?: unknown; headers?: unknown }, body: Uint8Array | undefined): Deny {
  const headers = responseHeaders(meta.headers as [string, string][]);
  if (!validStatus(meta.status) || typeof headers === 'string') {
    return failure(fn, { ok: false, reason: 'bad_result', message: typeof headers === 'string' ? headers : `the function answered status ${String(meta.status)}` });
  }
  return replyWithBody(meta.status, 'function_answer', headers, Buffer.from(body ?? new Uint8Array(0)));
}

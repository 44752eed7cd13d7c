/**
 * A function as a route's upstream (`services: - type: function`): the last
 * step of the route's pipeline, after every policy, answers the request with
 * the function's Response; the upstream exchange is never reached.
 */
import type { PlacedStep } from '../pipeline/build.js';
import type { PolicyInstance } from '../pipeline/policy.js';
import type { Deny } from '../pipeline/decision.js';
import type { RequestContext } from '../pipeline/context.js';
import { callInfo, failure, replyOf } from './answer.js';
import { requestHead } from './http.js';
import type { FunctionRuntime } from './runtime.js';

export function functionServiceStep(fn: FunctionRuntime): PlacedStep {
  const instance: PolicyInstance = {
    ready: () => fn.ready(),
    onRequest: (ctx) => (ctx.hasBody ? ctx.readBody(fn.maxBody).then((body) => serve(fn, ctx, body)) : serve(fn, ctx, undefined)),
  };
  return { name: `function:${fn.name}`, phase: 'transform', instance, monitor: false, failOpen: false };
}

async function serve(fn: FunctionRuntime, ctx: RequestContext, body: Buffer | undefined): Promise<Deny> {
  const outcome = await fn.call('request', requestHead(ctx), body, callInfo(ctx, fn));
  if (!outcome.ok) return failure(fn, outcome);
  const meta = JSON.parse(outcome.result.head) as { kind: string; status?: number; headers?: [string, string][] };
  if (meta.kind !== 'response') return failure(fn, { ok: false, reason: 'bad_result', message: 'a function serving a route must return a Response' });
  return replyOf(fn, meta, outcome.result.body);
}

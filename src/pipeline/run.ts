/**
 * Runs a compiled pipeline over one request. Synchronous until a policy
 * returns a promise, so a chain of synchronous policies costs no microtask.
 * Implements, once for every policy: mode (enforce | monitor), fail
 * (closed | open), and "any one authentication method may succeed".
 */
import type { Transform } from 'node:stream';
import type { Logger } from 'pino';
import type { Consumer, RequestContext, StageSpans } from './context.js';
import { deny, type Deny, type PolicyResult } from './decision.js';
import { MISSING_CREDENTIALS } from './events.js';
import type { Phase, PolicyInstance, ResponseInspector } from './policy.js';
import { BodyTooLargeError, DependencyUnavailableError, StoreFullError, StoreUnavailableError } from '../errors.js';

export interface CompiledStep {
  readonly name: string;
  readonly instance: PolicyInstance;
  readonly monitor: boolean;
  readonly failOpen: boolean;
  /** The phase the policy runs in (names its trace span). */
  readonly phase?: Phase;
}

/** One step of the request walk: a single policy, or the route's authentication methods tried in order. */
export type Stage = (
  | { kind: 'policy'; step: CompiledStep }
  /** `anonymous`: the route's low-privilege consumer for callers who presented no credentials. */
  | { kind: 'authenticate'; steps: readonly CompiledStep[]; anonymous: Consumer | undefined }
) & {
  /** How many of the pipeline's steps have run once this stage starts: their response and log hooks run. */
  readonly end: number;
};

export interface CompiledPipeline {
  readonly stages: readonly Stage[];
  /** Steps in order, for response and log hooks (run in reverse for responses). */
  readonly steps: readonly CompiledStep[];
  readonly hasResponseHooks: boolean;
  /** Some response hook is asynchronous (onResponseAsync): the route's heads wait for runResponseHooksAsync. */
  readonly hasAsyncResponseHooks?: boolean;
  readonly hasLogHooks: boolean;
  readonly hasBodyFilters: boolean;
  /** Some policy reads responses before they are sent (inspectResponse). */
  readonly hasResponseInspectors?: boolean;
  /** Cookies policies own (oidc sessions), kept from every upstream of the snapshot; filled while it compiles. */
  readonly ownedCookies: readonly string[];
  /** Owned cookies a policy of this route forwards to its upstream (keep_credential). */
  readonly keptCookies: readonly string[];
}

type Outcome = Deny | undefined;

const unauthorized = deny('unauthorized', {
  event: { type: MISSING_CREDENTIALS, message: 'no authentication method accepted the request' },
});

export function runRequest(ctx: RequestContext, pipeline: CompiledPipeline, logger: Logger): Outcome | Promise<Outcome> {
  if (ctx.headers.cookie !== undefined) {
    for (const name of pipeline.ownedCookies) if (!pipeline.keptCookies.includes(name)) ctx.removeUpstreamCookie(name);
  }
  return runFrom(ctx, pipeline.stages, 0, logger);
}

function runFrom(ctx: RequestContext, stages: readonly Stage[], start: number, logger: Logger): Outcome | Promise<Outcome> {
  const spans = ctx.stageSpans;
  for (let i = start; i < stages.length; i++) {
    const stage = stages[i]!;
    ctx.stepsRun = stage.end;
    const started = spans === undefined ? 0 : performance.now();
    const result = stage.kind === 'policy' ? runStep(ctx, stage.step, logger) : runAuthentication(ctx, stage, 0, undefined, logger);
    if (result instanceof Promise) {
      // A stage that returned a promise waited on I/O: on a recorded request it gets a span of its own.
      const settled = spans === undefined ? undefined : stageSpan(spans, stage, started);
      return result.then((outcome) => {
        settled?.(outcome !== undefined);
        return outcome ? outcome : runFrom(ctx, stages, i + 1, logger);
      });
    }
    if (result) return result;
  }
  return undefined;
}

function stageSpan(spans: StageSpans, stage: Stage, started: number): (refused: boolean) => void {
  if (stage.kind === 'authenticate') return spans.waiting('authenticate', 'authenticate', started);
  const phase = stage.step.phase ?? 'policy';
  return spans.waiting(`${phase} ${stage.step.name}`, phase, started);
}

/** One policy with its mode and fail setting applied. */
function runStep(ctx: RequestContext, step: CompiledStep, logger: Logger): Outcome | Promise<Outcome> {
  const onRequest = step.instance.onRequest;
  if (!onRequest) return undefined;
  let result: PolicyResult | Promise<PolicyResult>;
  try {
    result = onRequest.call(step.instance, ctx);
  } catch (err) {
    return failed(ctx, step, err, logger, true);
  }
  if (result instanceof Promise) {
    return result.then(
      (settled) => settle(ctx, step, settled),
      (err: unknown) => failed(ctx, step, err, logger, true),
    );
  }
  return settle(ctx, step, result);
}

function settle(ctx: RequestContext, step: CompiledStep, result: PolicyResult): Outcome {
  if (!result) return undefined;
  if (result.reply) return result; // an answer, not a refusal: nothing to record, nothing to monitor
  if (step.monitor) {
    ctx.recordEvent(step.name, result, 'monitored');
    return undefined;
  }
  ctx.recordEvent(step.name, result, 'blocked');
  return result;
}

const failedClosed = deny('internal_error', { event: { type: 'policy.failed', severity: 'medium', message: 'the policy failed and fails closed' } });
/** The refusal for a dependency that did not answer, with which one in its event (an identity provider, a directory). */
function dependencyDown(err: DependencyUnavailableError): Deny {
  const reason =
    err instanceof StoreFullError ? 'store_full'
    : err instanceof StoreUnavailableError ? 'store_unreachable'
    : err.dependency === 'LDAP directory' ? 'directory_unreachable'
    : 'idp_unreachable';
  return deny('dependency_unavailable', {
    event: { type: 'dependency.unavailable', severity: 'medium', reason, message: `${err.dependency} did not answer`, data: { dependency: err.dependency } },
  });
}

/**
 * A policy that threw: its fail mode decides. A refusal is recorded here when
 * `record` (a single policy); an authentication method's is recorded with the
 * stage's answer, like its other refusals.
 */
function failed(ctx: RequestContext, step: CompiledStep, err: unknown, logger: Logger, record: boolean): Outcome {
  if (err instanceof BodyTooLargeError) {
    return settle(ctx, step, deny('payload_too_large', { event: { type: 'request.body_too_large', message: err.message } }));
  }
  // A store outage is logged once per incident by the store (src/stores/health.ts), not once per request.
  if (!(err instanceof StoreUnavailableError)) logger.error({ err, policy: step.name, route: ctx.routeName, request_id: ctx.id }, 'policy failed');
  if (step.failOpen) return undefined;
  const refusal = err instanceof DependencyUnavailableError ? dependencyDown(err) : failedClosed;
  if (record) ctx.recordEvent(step.name, refusal, 'blocked');
  return refusal;
}

/**
 * Tries each authentication method in config order; the first that recognises
 * the caller wins. When none does, the first refusal is the answer, with every
 * method's WWW-Authenticate challenge so a client learns all it may use.
 * A route's `anonymous` consumer is used only when every method found no
 * credentials at all: a wrong credential is refused, never downgraded.
 */
function runAuthentication(
  ctx: RequestContext,
  stage: Extract<Stage, { kind: 'authenticate' }>,
  start: number,
  firstRefusal: Deny | undefined,
  logger: Logger,
): Outcome | Promise<Outcome> {
  const steps = stage.steps;
  let refusal = firstRefusal;
  for (let i = start; i < steps.length; i++) {
    const step = steps[i]!;
    const result = runStepQuietly(ctx, step, logger);
    if (result instanceof Promise) {
      return result.then((outcome) => {
        if (ctx.consumer) return undefined;
        return runAuthentication(ctx, stage, i + 1, mergeChallenges(refusal, outcome), logger);
      });
    }
    if (ctx.consumer) return undefined;
    refusal = mergeChallenges(refusal, result);
  }
  if (stage.anonymous && (refusal === undefined || refusal.event?.type === MISSING_CREDENTIALS)) {
    ctx.authenticate(stage.anonymous, undefined, 'anonymous');
    return undefined;
  }
  const answer = refusal ?? unauthorized;
  // Every method is in monitor mode: record and let the caller through unauthenticated.
  if (steps.every((s) => s.monitor)) {
    ctx.recordEvent(steps[0]!.name, answer, 'monitored');
    return undefined;
  }
  ctx.recordEvent(steps[0]!.name, answer, 'blocked');
  return answer;
}

/** Like runStep, but refusals are gathered rather than recorded one by one. */
function runStepQuietly(ctx: RequestContext, step: CompiledStep, logger: Logger): Outcome | Promise<Outcome> {
  const onRequest = step.instance.onRequest;
  if (!onRequest) return undefined;
  try {
    const result = onRequest.call(step.instance, ctx);
    if (result instanceof Promise) {
      return result.then(
        (settled) => settled ?? undefined,
        (err: unknown) => failed(ctx, step, err, logger, false),
      );
    }
    return result ?? undefined;
  } catch (err) {
    return failed(ctx, step, err, logger, false);
  }
}

/**
 * Combines two methods' refusals: the answer is the first refusal of a method
 * that found credentials and refused them (the real reason, and what the
 * security event should say), or else the first refusal; the WWW-Authenticate
 * challenges of both are kept, in config order, without duplicates.
 */
function mergeChallenges(kept: Deny | undefined, next: Outcome): Deny | undefined {
  if (!kept) return next;
  if (!next) return kept;
  const keptMissing = kept.event?.type === MISSING_CREDENTIALS;
  const primary = keptMissing && next.event?.type !== MISSING_CREDENTIALS ? next : kept;
  const challenges = toList(kept.headers?.['www-authenticate']);
  for (const c of toList(next.headers?.['www-authenticate'])) if (!challenges.includes(c)) challenges.push(c);
  if (challenges.length === 0) return primary;
  return { ...primary, headers: { ...primary.headers, 'www-authenticate': challenges.length === 1 ? challenges[0] : challenges } };
}

function toList(value: string | number | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? [...(value as string[])] : [String(value)];
}

/**
 * Response hooks, last policy first. They run for every response of the
 * route, the gateway's own refusals included, whichever policy refused: a
 * CORS or header policy placed after an authentication or rate-limit policy
 * still shapes that policy's 401 or 429. A hook that depends on what its own
 * onRequest saw keeps that state itself (rate-limit, quota and oidc keep it
 * per request and write nothing when their onRequest did not run).
 * Refusals made before routing (shedding, framing, limits, 404/405) have no
 * route, so no policy, and no hooks.
 */
export function runResponseHooks(ctx: RequestContext, pipeline: CompiledPipeline, logger: Logger): void {
  if (!pipeline.hasResponseHooks) return;
  const steps = pipeline.steps;
  for (let i = steps.length - 1; i >= 0; i--) {
    const step = steps[i]!;
    if (!step.instance.onResponse) continue;
    try {
      step.instance.onResponse(ctx);
    } catch (err) {
      logger.error({ err, policy: step.name, route: ctx.routeName, request_id: ctx.id }, 'policy response hook failed');
    }
  }
}

/**
 * runResponseHooks for a route holding an asynchronous hook: the same order,
 * each hook awaited before the next; server/respond.ts writes the head once
 * this settles. A hook that throws or rejects is logged and skipped, as in
 * the synchronous form.
 */
export async function runResponseHooksAsync(ctx: RequestContext, pipeline: CompiledPipeline, logger: Logger): Promise<void> {
  const steps = pipeline.steps;
  for (let i = steps.length - 1; i >= 0; i--) {
    const step = steps[i]!;
    try {
      if (step.instance.onResponseAsync) await step.instance.onResponseAsync(ctx);
      else step.instance.onResponse?.(ctx);
    } catch (err) {
      logger.error({ err, policy: step.name, route: ctx.routeName, request_id: ctx.id }, 'policy response hook failed');
    }
  }
}

/**
 * The body filters of the policies that ran, in pipeline order: the one place
 * both lists are assembled (the exchange pipes the request body through the
 * 'request' list and the response body through the 'response' list).
 */
export function bodyFilters(ctx: RequestContext, pipeline: CompiledPipeline, direction: 'request' | 'response'): Transform[] | undefined {
  if (!pipeline.hasBodyFilters) return undefined;
  const steps = pipeline.steps;
  let filters: Transform[] | undefined;
  for (let i = 0; i < ctx.stepsRun; i++) {
    const instance = steps[i]!.instance;
    const filter = direction === 'request' ? instance.requestBody?.(ctx) : instance.responseBody?.(ctx);
    if (filter) (filters ??= []).push(filter);
  }
  return filters;
}

/**
 * The response inspectors of the policies that ran, as one: the largest body
 * prefix any of them reads, and their verdicts in pipeline order with mode
 * (a monitored refusal is recorded and the response goes on) and fail (an
 * inspector that throws lets the response through only when fail: open).
 */
export function responseInspection(ctx: RequestContext, pipeline: CompiledPipeline, logger: Logger): ResponseInspector | undefined {
  if (pipeline.hasResponseInspectors !== true) return undefined;
  const found: { step: CompiledStep; inspector: ResponseInspector }[] = [];
  for (let i = 0; i < ctx.stepsRun; i++) {
    const step = pipeline.steps[i]!;
    const inspector = step.instance.inspectResponse?.(ctx);
    if (inspector) found.push({ step, inspector });
  }
  if (found.length === 0) return undefined;
  return {
    limit: Math.max(...found.map((f) => f.inspector.limit)),
    inspect(status, headers, body, complete) {
      for (const { step, inspector } of found) {
        const own = body.length > inspector.limit ? body.subarray(0, inspector.limit) : body;
        let result: Deny | undefined;
        try {
          result = inspector.inspect(status, headers, own, complete && own.length === body.length);
        } catch (err) {
          logger.error({ err, policy: step.name, route: ctx.routeName, request_id: ctx.id }, 'policy response inspection failed');
          if (step.failOpen) continue;
          result = deny('bad_gateway', { event: { type: 'policy.failed', severity: 'medium', message: 'the policy failed on the response and fails closed' } });
        }
        if (result === undefined) continue;
        if (step.monitor) {
          ctx.recordEvent(step.name, result, 'monitored');
          continue;
        }
        ctx.recordEvent(step.name, result, 'blocked');
        return result;
      }
      return undefined;
    },
  };
}

export function runLogHooks(ctx: RequestContext, pipeline: CompiledPipeline, logger: Logger): void {
  if (!pipeline.hasLogHooks) return;
  const steps = pipeline.steps;
  for (let i = 0; i < ctx.stepsRun; i++) {
    const step = steps[i]!;
    if (!step.instance.onLog) continue;
    try {
      step.instance.onLog(ctx);
    } catch (err) {
      logger.error({ err, policy: step.name, route: ctx.routeName, request_id: ctx.id }, 'policy log hook failed');
    }
  }
}

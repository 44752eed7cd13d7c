/**
 * The gateway's built-in screen steps, run in order before the route's
 * pipeline (server/handler.ts): health, request id, client IP, shedding, the
 * body-rate watch, framing, method, size limits, redirect, path
 * normalization, routing. A step that refuses returns a Deny, the contract
 * policies use (pipeline/decision.ts); the handler records its security
 * event and the response owner (server/respond.ts) writes the answer.
 * These run before routing: no policy is in force yet, so no response hook
 * shapes their answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestContext } from '../pipeline/context.js';
import { deny, reply, type Deny } from '../pipeline/decision.js';
import type { NormalizeResult } from '../routing/normalize.js';
import type { CompiledRoute, RuntimeSettings, Snapshot } from '../snapshot.js';
import type { Reply } from './respond.js';
import { checkFraming, poison, type FramingProblem } from './framing.js';
import type { ServerGuards } from './guards.js';
import { answerHealth, answerReadiness, isHealthCheck, type ReadinessProbe } from './health.js';
import { requestLimitProblem } from './request-limits.js';
import { randomRequestId } from '../lib/request-id.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Automatic defense's hooks on the request path (src/defense/gate.ts). */
export interface DefenseHooks {
  /** Before routing, synchronous: a blocked address. */
  screen(ctx: RequestContext): Deny | undefined;
  /** After the route's pipeline let the request through: suspensions, tighter limits, requirements. */
  admit(ctx: RequestContext): Deny | undefined | Promise<Deny | undefined>;
  /** The request is over: what detections count. */
  ended(ctx: RequestContext, status: number): void;
}

/** What the screen steps read of the handler's environment. */
export interface ScreenEnv {
  /** Automatic defense, when the gateway has it. */
  readonly defense?: DefenseHooks;
  /** Overload shedding and the slow-body watch, shared by every listener (src/server/guards.ts). */
  readonly guards?: ServerGuards;
  /** On a redirect listener: the https URL for a request's Host and target, or undefined for a Host it cannot redirect. */
  readonly redirect?: (host: string | undefined, target: string) => string | undefined;
}

/** One request as the screen steps see it. */
export interface Screened {
  readonly req: IncomingMessage;
  readonly ctx: RequestContext;
  readonly reply: Reply;
  readonly snapshot: Snapshot;
  /** The request target in origin form, or "/" when it has none. */
  readonly target: string;
  /** A problem with the request target's form (absolute form, asterisk ...). */
  readonly formProblem: FramingProblem | undefined;
  /** The method, when it is a valid one. */
  readonly method: string | undefined;
  readonly normalized: NormalizeResult;
  /** Set by the routing step. */
  route: CompiledRoute | undefined;
}

/**
 * The probe endpoints (readiness at health_path, liveness at liveness_path): answered before any other
 * step; true when it was. Without a readiness probe (a listener outside a gateway), readiness is draining or ok.
 */
export function health(req: IncomingMessage, res: ServerResponse, settings: RuntimeSettings, draining: boolean, upgrade: boolean, readiness?: ReadinessProbe): boolean {
  const { healthPath, livenessPath } = settings;
  if (healthPath === undefined && livenessPath === undefined) return false;
  const ready = healthPath !== undefined && isHealthCheck(req, healthPath);
  const live = !ready && livenessPath !== undefined && isHealthCheck(req, livenessPath);
  // Never shed, but held to the same framing rules: a smuggling attempt on the health path gets its 400 later.
  if ((!ready && !live) || upgrade || checkFraming(req) !== undefined) return false;
  if (live) answerHealth(res, 'ok');
  else if (draining || !readiness) answerHealth(res, draining ? 'draining' : 'ok');
  else answerReadiness(res, readiness);
  return true;
}

/** The request id: the client's own when trusted and well-formed, else a new one. */
export function requestId(req: IncomingMessage, settings: RuntimeSettings): string {
  const incoming = settings.trustIncomingRequestId ? req.headers[settings.requestIdHeader] : undefined;
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomRequestId();
}

/** The client address, after trusted_proxies. */
export function clientIp(req: IncomingMessage, settings: RuntimeSettings, peer: string): string {
  const forwardedFor = req.headers['x-forwarded-for'];
  return settings.trustedProxies.clientIp(peer, Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor);
}

/** Overload shedding, before any work: no routing, no policies, no upstream. */
export function shed(s: Screened, env: ScreenEnv): Deny | undefined {
  const overload = env.guards?.overload;
  if (!overload) return undefined;
  const reason = overload.check(s.snapshot.settings);
  overload.inFlight++;
  if (!reason) return undefined;
  return deny('overloaded', { headers: { 'retry-after': '1' }, event: { type: 'gateway.overloaded', severity: 'medium', reason, message: `shedding load (${reason})` } });
}

/** The slow-body watch (gateway.limits.min_body_rate): never refuses here, calls `slow` later. */
export function watchBodyRate(s: Screened, env: ScreenEnv, slow: (s: Screened) => void): undefined {
  const settings = s.snapshot.settings;
  const req = s.req;
  if (!env.guards || s.reply.tunnel || settings.minBodyRate <= 0) return undefined;
  if (req.headers['transfer-encoding'] === undefined && (req.headers['content-length'] ?? '0') === '0') return undefined;
  env.guards.bodyRate.watch(req, settings.minBodyRate, settings.bodyRateWindowMs, () => slow(s));
  return undefined;
}

/** Request smuggling surface (server/framing.ts): 400, and an HTTP/1 connection is cut after it. */
export function framing(s: Screened): Deny | undefined {
  const problem = checkFraming(s.req) ?? s.formProblem;
  if (!problem) return undefined;
  s.reply.res.shouldKeepAlive = false;
  // An HTTP/2 connection carries other streams and has no framing to desynchronise: only HTTP/1 is cut.
  if (!s.reply.h2) poison(s.req.socket);
  const code = problem === 'request_target' || problem === 'invalid_host' || problem === 'http_version' ? 'bad_request' : 'ambiguous_framing';
  return deny(code, { event: { type: 'request.smuggling_attempt', severity: 'high', reason: problem } });
}

const invalidMethod = deny('bad_request', {
  message: 'The request method is not valid: methods are upper-case tokens.',
  event: { type: 'request.invalid_method', severity: 'medium' },
});

/** One check for both HTTP versions (src/routing/method.ts): HTTP/2's :method is not parsed by llhttp. */
export function method(s: Screened): Deny | undefined {
  return s.method === undefined ? invalidMethod : undefined;
}

/** Request target length (414) and header count (431); the connection closes after. */
export function sizeLimits(s: Screened): Deny | undefined {
  const tooBig = requestLimitProblem(s.req, s.snapshot.settings);
  if (!tooBig) return undefined;
  s.reply.res.shouldKeepAlive = false;
  return deny(tooBig.code, { status: tooBig.status, event: { type: `request.${tooBig.code}`, severity: 'low', data: { limit: tooBig.limit } } });
}

const noHost = deny('bad_request', { message: 'The Host header is missing or not a valid host name.' });

/** A redirect listener's answer: 308 to the same host and target on the https listener. */
export function redirect(s: Screened, env: ScreenEnv): Deny | undefined {
  if (!env.redirect) return undefined;
  const location = env.redirect(s.req.headers.host, s.target);
  if (location === undefined) return noHost;
  return reply(308, 'redirect', { location, 'content-length': 0, 'cache-control': 'no-store' });
}

/** A path that does not normalize (routing/normalize.ts). */
export function normalization(s: Screened): Deny | undefined {
  if (s.normalized.ok) return undefined;
  return deny('invalid_path', { event: { type: 'request.invalid_path', severity: 'medium', reason: s.normalized.reason } });
}

const notFound = deny('not_found');

/** Routing: the route for host, method and path, or 404 (405 with Allow when a route holds the path for other methods). */
export function routing(s: Screened): Deny | undefined {
  const { ctx, snapshot } = s;
  const match = snapshot.router.match(ctx.method, ctx.host, ctx.path, s.req.headers);
  if (!match) {
    // RFC 9110 §15.5.6: 405 with Allow rather than 404
    const allowed = snapshot.router.allowedMethods(ctx.host, ctx.path, s.req.headers);
    return allowed ? deny('method_not_allowed', { headers: { allow: allowed.join(', ') } }) : notFound;
  }
  const route = match.route;
  ctx.routeName = route.name;
  ctx.serviceName = route.serviceName;
  ctx.matchedPrefix = match.prefix;
  s.route = route;
  s.reply.pipeline = route.pipeline;
  return undefined;
}

/**
 * The request path: framing checks → request id → path normalization →
 * router → policy pipeline → upstream exchange → access log. Everything
 * below this file sees a RequestContext, never a socket.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { CompiledRoute, Snapshot } from '../snapshot.js';
import { describeError, errorBody } from '../errors.js';
import { RequestContext } from '../pipeline/context.js';
import { deny, type Deny } from '../pipeline/decision.js';
import { runLogHooks, runRequest, runResponseHooks, type CompiledPipeline } from '../pipeline/run.js';
import { emptyPipeline } from '../pipeline/build.js';
import { checkMethod } from '../routing/method.js';
import { normalizePath } from '../routing/normalize.js';
import type { AccessLog } from '../telemetry/access-log.js';
import type { ClientCertificate } from '../pipeline/client-certificate.js';
import { Exchange } from '../upstream/proxy.js';
import { unmapIPv4 } from '../net/ip.js';
import { checkFraming, hostWithoutPort, isPoisoned, originForm, poison } from './framing.js';
import { http2ResponseCompleted, isHttp2 } from './http-version.js';
import { upstreamRequestOf } from './forwarded.js';
import { RequestBody } from './request-body.js';
import { noteUpstreamWork } from './stream-work.js';
import type { ServerGuards } from './guards.js';
import { answerHealth, isHealthCheck } from './health.js';
import { requestLimitProblem } from './request-limits.js';
import type { SnapshotHolder } from './snapshots.js';
import type { RuntimeSettings } from '../snapshot.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface HandlerEnv {
  readonly snapshots: SnapshotHolder;
  readonly logger: Logger;
  readonly accessLog: AccessLog;
  /** "http" or "https": the scheme of the listener this handler serves. */
  readonly scheme: 'http' | 'https';
  /** Overload shedding and the slow-body watch, shared by every listener (src/server/guards.ts). */
  readonly guards?: ServerGuards;
  /** On a TLS listener that asks for client certificates: the one presented on a request's connection. */
  readonly clientCertificate?: (socket: object) => ClientCertificate | undefined;
  /** The Strict-Transport-Security value, on an https listener with HSTS on. */
  readonly hsts?: string;
  /** On a redirect listener: the https URL for a request's Host and target, or undefined for a Host it cannot redirect. */
  readonly redirect?: (host: string | undefined, target: string) => string | undefined;
}

/** A WebSocket handshake: the client socket and the bytes read past the request head. */
export interface Tunnel {
  readonly socket: Duplex;
  readonly head: Buffer;
}

export class RequestHandler {
  /** Requests in progress on this handler, whatever their snapshot: graceful shutdown waits for zero. */
  inflight = 0;
  draining = false;
  private idleWaiters: Array<() => void> = [];
  /** Client sockets of WebSocket tunnels: the HTTP server no longer tracks them once upgraded. */
  private readonly tunnels = new Set<Duplex>();

  constructor(private readonly env: HandlerEnv) {}

  /** The settings of the current snapshot, for connection-level checks. */
  get settings(): RuntimeSettings {
    return this.env.snapshots.current.settings;
  }

  /** Resolves once no request is in progress. */
  whenIdle(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Cuts every WebSocket tunnel still open (the end of a graceful shutdown). */
  closeTunnels(): void {
    for (const socket of this.tunnels) socket.destroy();
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse, tunnel?: Tunnel): void => {
    if (isPoisoned(req.socket)) return; // the connection closes after the 400 already queued
    const healthPath = this.env.snapshots.current.settings.healthPath;
    // Never shed, but held to the same framing rules: a smuggling attempt on the health path gets its 400 below.
    if (healthPath !== undefined && !tunnel && isHealthCheck(req, healthPath) && checkFraming(req) === undefined) {
      answerHealth(res, this.draining);
      return;
    }
    if (tunnel) {
      this.tunnels.add(tunnel.socket);
      tunnel.socket.once('close', () => this.tunnels.delete(tunnel.socket));
    }
    const snapshot = this.env.snapshots.enter();
    this.inflight++;
    const settings = snapshot.settings;
    if (this.draining) res.shouldKeepAlive = false;
    if (this.env.hsts) res.setHeader('strict-transport-security', this.env.hsts);

    const incomingId = settings.trustIncomingRequestId ? req.headers[settings.requestIdHeader] : undefined;
    const id = typeof incomingId === 'string' && REQUEST_ID.test(incomingId) ? incomingId : randomUUID();
    const peer = unmapIPv4(req.socket.remoteAddress ?? '');
    const forwardedFor = req.headers['x-forwarded-for'];
    const clientIp = settings.trustedProxies.clientIp(peer, Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor);

    const form = originForm(req);
    const problem = checkFraming(req) ?? ('problem' in form ? form.problem : undefined);
    const target = 'path' in form ? form.path : '/';
    const q = target.indexOf('?');
    const rawPath = q === -1 ? target : target.slice(0, q);
    const normalized = normalizePath(rawPath, { keepEscapedSlashes: settings.keepEscapedSlashes, keepPathParameters: settings.keepPathParameters });
    const h2 = isHttp2(req);
    const body = new RequestBody(req, res, h2);
    // One check for both HTTP versions (src/routing/method.ts): HTTP/2's :method is not parsed by llhttp.
    const method = checkMethod(req.method);

    const ctx = new RequestContext(
      id,
      method ?? (req.method ?? '').slice(0, 32),
      normalized.ok ? normalized.path : rawPath,
      q === -1 ? '' : target.slice(q + 1),
      req.headers,
      hostWithoutPort(req.headers.host),
      clientIp,
      this.env.scheme,
      performance.now(),
      body,
    );
    if (this.env.clientCertificate) ctx.clientCertificate = this.env.clientCertificate(req.socket);
    const state: RequestState = { ctx, snapshot, pipeline: emptyPipeline, exchange: undefined, peer, body, h2, tunnelOpen: false };
    res.once('close', () => this.finish(state, res));
    const guards = this.env.guards;
    if (guards) {
      // Shed before any work: no routing, no policies, no upstream.
      const shed = guards.overload.check(settings);
      guards.overload.inFlight++;
      if (shed) {
        ctx.recordEvent('gateway', deny(503, 'overloaded', { event: { type: 'gateway.overloaded', severity: 'medium', reason: shed } }), 'blocked');
        this.respondError(state, res, 503, 'overloaded', { 'retry-after': '1' });
        return;
      }
      if (!tunnel && settings.minBodyRate > 0 && (req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0')) {
        guards.bodyRate.watch(req, settings.minBodyRate, settings.bodyRateWindowMs, () => this.slowBody(state, res));
      }
    }

    if (problem) {
      res.shouldKeepAlive = false;
      // An HTTP/2 connection carries other streams and has no framing to desynchronise: only HTTP/1 is cut.
      if (!state.h2) poison(req.socket);
      const code = problem === 'request_target' || problem === 'invalid_host' || problem === 'http_version' ? 'bad_request' : 'ambiguous_framing';
      ctx.recordEvent('gateway', deny(400, code, { event: { type: 'request.smuggling_attempt', severity: 'high', reason: problem } }), 'blocked');
      this.respondError(state, res, 400, code);
      return;
    }
    if (method === undefined) {
      ctx.recordEvent('gateway', deny(400, 'bad_request', { event: { type: 'request.invalid_method', severity: 'medium' } }), 'blocked');
      this.respondError(state, res, 400, 'bad_request', undefined, 'The request method is not valid: methods are upper-case tokens.');
      return;
    }
    const tooBig = requestLimitProblem(req, settings);
    if (tooBig) {
      res.shouldKeepAlive = false;
      ctx.recordEvent('gateway', deny(tooBig.status, tooBig.code, { event: { type: `request.${tooBig.code}`, severity: 'low' } }), 'blocked');
      this.respondError(state, res, tooBig.status, tooBig.code);
      return;
    }
    if (this.env.redirect) {
      this.redirect(state, res, this.env.redirect(req.headers.host, target));
      return;
    }
    if (!normalized.ok) {
      ctx.recordEvent('gateway', deny(400, 'invalid_path', { event: { type: 'request.invalid_path', severity: 'medium', reason: normalized.reason } }), 'blocked');
      this.respondError(state, res, 400, 'invalid_path');
      return;
    }
    const match = snapshot.router.match(ctx.method, ctx.host, ctx.path, req.headers);
    if (!match) {
      // A route holds this path for other methods: 405 with Allow (RFC 9110 §15.5.6) rather than 404
      const allowed = snapshot.router.allowedMethods(ctx.host, ctx.path, req.headers);
      if (allowed) this.respondError(state, res, 405, 'method_not_allowed', { allow: allowed.join(', ') });
      else this.respondError(state, res, 404, 'not_found');
      return;
    }
    const route = match.route;
    ctx.routeName = route.name;
    ctx.serviceName = route.service.name;
    ctx.matchedPrefix = match.prefix;
    state.pipeline = route.pipeline;

    const outcome = runRequest(ctx, route.pipeline, this.env.logger);
    if (outcome instanceof Promise) {
      outcome.then(
        (denial) => this.afterPipeline(state, req, res, route, denial, tunnel),
        (err: unknown) => {
          this.env.logger.error({ err, request_id: id }, 'pipeline failed');
          this.respondError(state, res, 500, 'internal_error');
        },
      );
    } else {
      this.afterPipeline(state, req, res, route, outcome, tunnel);
    }
  };

  private afterPipeline(state: RequestState, req: IncomingMessage, res: ServerResponse, route: CompiledRoute, denial: Deny | undefined, tunnel: Tunnel | undefined): void {
    if (res.destroyed || res.headersSent) return; // the client left, or was already answered (slow body)
    if (denial) {
      state.ctx.denial = denial;
      // A client still waiting for 100 Continue will not send its body: the connection cannot be reused.
      if (state.body.expectsContinue) res.shouldKeepAlive = false;
      if (denial.reply) this.respondReply(state, res, denial.status, denial.headers);
      else this.respondError(state, res, denial.status, denial.code, denial.headers, denial.message);
      return;
    }
    state.body.sendContinue();
    const exchange = new Exchange(state.ctx, req, res, route.service, route.pipeline, upstreamRequestOf(state.ctx, req, state.snapshot.settings, state.peer, route, state.body.present), {
      logger: this.env.logger,
      requestIdHeader: state.snapshot.settings.requestIdHeader,
      respondError: (status, code) => this.respondError(state, res, status, code),
      preserveHost: route.preserveHost,
      hiddenResponseHeaders: state.snapshot.settings.hiddenResponseHeaders,
      tunnel,
      // An open tunnel is a connection, bounded by the connection limits, not a request in progress:
      // counted in max_in_flight, a few thousand idle WebSockets would have the gateway shed everyone.
      tunnelOpened: () => {
        if (this.env.guards && !state.tunnelOpen) this.env.guards.overload.inFlight--;
        state.tunnelOpen = true;
      },
    });
    state.exchange = exchange;
    if (state.h2) noteUpstreamWork(res); // a completed stream that reached the upstream pays for a reset (h2.ts)
    exchange.start();
  }

  /** A redirect listener's answer: 308 to the same host and target on the https listener. */
  private redirect(state: RequestState, res: ServerResponse, location: string | undefined): void {
    if (location === undefined) {
      this.respondError(state, res, 400, 'bad_request', undefined, 'The Host header is missing or not a valid host name.');
      return;
    }
    res.writeHead(308, { location, 'content-length': 0, 'cache-control': 'no-store', [state.snapshot.settings.requestIdHeader]: state.ctx.id });
    res.end();
  }

  /** A response the gateway writes itself: the JSON error shape, response hooks, request id. */
  respondError(state: RequestState, res: ServerResponse, status: number, code: string, extra?: OutgoingHttpHeaders, message?: string): void {
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const { ctx } = state;
    const described = describeError(code, status);
    const body = errorBody(status, code, message ?? described.message, ctx.id);
    const response = ctx.response;
    response.status = status;
    response.headers = {
      ...extra,
      'content-type': 'application/json',
      'cache-control': 'no-store',
      // The body is JSON and nothing else: no browser may sniff it into something it would run.
      'x-content-type-options': 'nosniff',
      'content-length': Buffer.byteLength(body),
    };
    runResponseHooks(ctx, state.pipeline, this.env.logger);
    response.headers[state.snapshot.settings.requestIdHeader] = ctx.id;
    // HTTP/2 forbids Connection headers; its streams close on their own.
    if (!res.shouldKeepAlive && !state.h2) response.headers.connection = 'close';
    ctx.bytesSent = Buffer.byteLength(body);
    res.writeHead(response.status, response.headers);
    res.end(body);
  }

  /** The client sends its body too slowly (gateway.limits.min_body_rate): 408, and the connection closes. */
  private slowBody(state: RequestState, res: ServerResponse): void {
    const { ctx } = state;
    ctx.recordEvent('gateway', deny(408, 'request_timeout', { event: { type: 'request.slow_body', severity: 'medium' } }), 'blocked');
    res.shouldKeepAlive = false;
    state.exchange?.clientClosed();
    const socket = res.socket;
    this.respondError(state, res, 408, 'request_timeout');
    // The rest of the body is never read: close once the answer is out, or at once if it cannot be sent.
    if (socket && !socket.destroyed) res.once('finish', () => socket.destroy());
  }

  /** An answer a policy gave itself (a CORS preflight): its status and headers, no body. */
  private respondReply(state: RequestState, res: ServerResponse, status: number, headers: OutgoingHttpHeaders | undefined): void {
    const { ctx } = state;
    const response = ctx.response;
    response.status = status;
    response.headers = { ...headers };
    if (status !== 204 && status !== 304) response.headers['content-length'] = 0;
    runResponseHooks(ctx, state.pipeline, this.env.logger);
    response.headers[state.snapshot.settings.requestIdHeader] = ctx.id;
    if (!res.shouldKeepAlive && !state.h2) response.headers.connection = 'close';
    res.writeHead(response.status, response.headers);
    res.end();
  }

  /**
   * The client response closed, answered or not. An unanswered request (the
   * client disconnected, or reset its HTTP/2 stream) aborts its upstream
   * request and stays in progress until undici has let go of it: its
   * concurrency slot, its place in max_in_flight and its config snapshot are
   * released only then, and it is logged as not completed.
   */
  private finish(state: RequestState, res: ServerResponse): void {
    // Over HTTP/2, Node reports a reset stream's response as finished (writableFinished): ask the stream.
    const completed = state.h2 ? http2ResponseCompleted(res) : res.writableFinished;
    const exchange = state.exchange;
    if (!completed && exchange) exchange.clientClosed(() => this.settle(state, res, false));
    else this.settle(state, res, completed);
  }

  private settle(state: RequestState, res: ServerResponse, completed: boolean): void {
    const { ctx, snapshot } = state;
    if (this.env.guards && !state.tunnelOpen) this.env.guards.overload.inFlight--;
    runLogHooks(ctx, state.pipeline, this.env.logger);
    if (snapshot.settings.accessLog) this.env.accessLog.write(ctx, res.statusCode, completed);
    this.env.snapshots.leave(snapshot);
    if (--this.inflight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}

interface RequestState {
  readonly ctx: RequestContext;
  readonly snapshot: Snapshot;
  pipeline: CompiledPipeline;
  exchange: Exchange | undefined;
  readonly peer: string;
  readonly body: RequestBody;
  /** The request came over HTTP/2. */
  readonly h2: boolean;
  /** A WebSocket tunnel is open: no longer counted in flight by the overload guard. */
  tunnelOpen: boolean;
}

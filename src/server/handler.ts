/**
 * The request path: built-in screen steps (server/screens.ts) → the route's
 * policy pipeline → upstream exchange → access log. Every response head is
 * written by the response owner (server/respond.ts). Everything below this
 * file sees a RequestContext, never a socket.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { ReadinessProbe } from './health.js';
import type { RuntimeSettings } from '../snapshot.js';
import { deny, type Deny } from '../pipeline/decision.js';
import { runLogHooks, runRequest } from '../pipeline/run.js';
import type { AccessLog } from '../telemetry/access-log.js';
import type { Telemetry } from '../telemetry/hub.js';
import { emitRequestEvents } from '../telemetry/request-events.js';
import { gatewayEvents, type EmitGatewayEvent } from '../telemetry/gateway-events.js';
import { Exchange } from '../upstream/proxy.js';
import { isPoisoned } from './framing.js';
import { http2ResponseCompleted } from './http-version.js';
import { upstreamRequestOf } from './forwarded.js';
import { intake, type IntakeEnv, type RequestState } from './intake.js';
import type { ReplyEnv } from './respond.js';
import * as screen from './screens.js';
import type { ScreenEnv, Screened } from './screens.js';
import type { SnapshotHolder } from './snapshots.js';
import { OpenTunnels, type Tunnel } from './tunnels.js';
import { noteUpstreamWork } from './stream-work.js';

export type { Tunnel } from './tunnels.js';

export interface HandlerEnv extends ScreenEnv, IntakeEnv {
  readonly snapshots: SnapshotHolder;
  readonly logger: Logger;
  readonly accessLog: AccessLog;
  readonly telemetry?: Telemetry;
  /** The Strict-Transport-Security value, on an https listener with HSTS on. */
  readonly hsts?: string;
  /** The gateway's readiness (src/readiness.ts), answered at gateway.health_path. */
  readonly readiness?: ReadinessProbe;
}


/** The request state a response's 'close' listener finishes: set on the response, so one listener serves every request. */
const STATE = Symbol('portcullis.request-state');
type Tracked = ServerResponse & { [STATE]?: RequestState };

export class RequestHandler {
  /** Requests in progress on this handler, whatever their snapshot: graceful shutdown waits for zero. */
  inflight = 0;
  draining = false;
  private idleWaiters: Array<() => void> = [];
  private readonly tunnels = new OpenTunnels();
  private readonly replyEnv: ReplyEnv;
  /** Where the listener's connection-level events go (TLS handshakes, parser refusals, HTTP/2 resets). */
  readonly gatewayEvents: EmitGatewayEvent;
  /**
   * The one 'close' listener of every response (no closure or once-wrapper per request). It runs
   * once per request even if a response emits 'close' twice (a tunnel emits its own).
   */
  private readonly onResponseClose: (this: Tracked) => void;

  constructor(private readonly env: HandlerEnv) {
    const finish = (s: RequestState): void => this.finish(s);
    this.onResponseClose = function (this: Tracked) {
      const s = this[STATE];
      if (s === undefined) return;
      this[STATE] = undefined;
      finish(s);
    };
    this.gatewayEvents = env.telemetry ? gatewayEvents(env.telemetry.events) : () => {};
    // An open tunnel is a connection, bounded by the connection limits, not a request in progress:
    // counted in max_in_flight, a few thousand idle WebSockets would have the gateway shed everyone.
    this.replyEnv = {
      logger: env.logger,
      tunnelOpened: () => {
        if (env.guards) env.guards.overload.inFlight--;
      },
    };
  }

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
    this.tunnels.closeAll();
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse, tunnel?: Tunnel): void => {
    if (isPoisoned(req.socket)) return; // the connection closes after the 400 already queued
    if (screen.health(req, res, this.env.snapshots.current.settings, this.draining, tunnel !== undefined, this.env.readiness)) return;
    if (tunnel) this.tunnels.track(tunnel.socket);
    const snapshot = this.env.snapshots.enter();
    this.inflight++;
    if (this.draining) res.shouldKeepAlive = false;
    if (this.env.hsts) res.setHeader('strict-transport-security', this.env.hsts);

    const s = intake(req, res, snapshot, this.env, this.replyEnv, tunnel);
    const { ctx, reply } = s;
    (res as Tracked)[STATE] = s;
    res.on('close', this.onResponseClose);

    const env = this.env;
    const refusal =
      screen.shed(s, env) ??
      env.defense?.screen(ctx) ??
      screen.watchBodyRate(s, env, this.slowBody) ??
      screen.framing(s) ??
      screen.method(s) ??
      screen.sizeLimits(s) ??
      screen.redirect(s, env) ??
      screen.normalization(s) ??
      screen.routing(s);
    if (refusal) {
      if (refusal.event) ctx.recordEvent('gateway', refusal, 'blocked');
      reply.refuse(refusal);
      return;
    }

    const outcome = runRequest(ctx, s.reply.pipeline, env.logger);
    if (outcome instanceof Promise) {
      outcome.then(
        (denial) => this.afterPipeline(s, denial),
        (err: unknown) => {
          env.logger.error({ err, request_id: ctx.id }, 'pipeline failed');
          reply.error(500, 'internal_error');
        },
      );
    } else {
      this.afterPipeline(s, outcome);
    }
  };

  /** Automatic defense's say once the pipeline let the request through (the consumer is known now). */
  private afterPipeline(s: RequestState, denial: Deny | undefined): void {
    const defense = this.env.defense;
    const admitted = denial || !defense ? undefined : defense.admit(s.ctx);
    if (admitted instanceof Promise) {
      admitted.then(
        (refusal) => this.proceed(s, refusal && this.recorded(s, refusal)),
        () => this.proceed(s, undefined),
      );
      return;
    }
    this.proceed(s, denial ?? (admitted && this.recorded(s, admitted)));
  }

  private recorded(s: RequestState, refusal: Deny): Deny {
    s.ctx.recordEvent('defense', refusal, 'blocked');
    return refusal;
  }

  private proceed(s: RequestState, denial: Deny | undefined): void {
    const { reply, req } = s;
    const res = reply.res;
    if (res.destroyed || res.headersSent) return; // the client left, or was already answered (slow body)
    if (denial) {
      s.ctx.denial = denial;
      // A client still waiting for 100 Continue will not send its body: the connection cannot be reused.
      if (s.body.expectsContinue) res.shouldKeepAlive = false;
      reply.refuse(denial);
      return;
    }
    s.body.sendContinue();
    const settings = s.snapshot.settings;
    const route = s.route!;
    if (!route.service) {
      // A function route's last step always answers; reaching here is a bug, answered like one.
      reply.error(500, 'internal_error');
      return;
    }
    const upstream = upstreamRequestOf(s.ctx, req, settings, s.peer, route, s.body.present, reply.tunnel !== undefined, s.trace);
    const exchange = new Exchange(s.ctx, req, res, route.service, upstream, reply, this.env.logger, settings.hiddenResponseHeaders);
    s.exchange = exchange;
    if (s.reply.h2) noteUpstreamWork(res); // a completed stream that reached the upstream pays for a reset (h2.ts)
    exchange.start();
  }

  /** The client sends its body too slowly (gateway.limits.min_body_rate): 408, and the connection closes. */
  private readonly slowBody = (screened: Screened): void => {
    const s = screened as RequestState;
    const { ctx, reply } = s;
    const res = reply.res;
    ctx.recordEvent('gateway', deny('request_timeout', { event: { type: 'request.slow_body', severity: 'medium' } }), 'blocked');
    res.shouldKeepAlive = false;
    s.exchange?.clientClosed();
    const socket = res.socket;
    reply.error(408, 'request_timeout');
    // The rest of the body is never read: close once the answer is out, or at once if it cannot be sent.
    if (socket && !socket.destroyed) res.once('finish', () => socket.destroy());
  };

  /**
   * The client response closed, answered or not. An unanswered request (the
   * client disconnected, or reset its HTTP/2 stream) aborts its upstream
   * request and stays in progress until undici has let go of it: its
   * concurrency slot, its place in max_in_flight and its config snapshot are
   * released only then, and it is logged as not completed.
   */
  private finish(s: RequestState): void {
    const res = s.reply.res;
    // Over HTTP/2, Node reports a reset stream's response as finished (writableFinished): ask the stream.
    const completed = s.reply.h2 ? http2ResponseCompleted(res) : res.writableFinished;
    const exchange = s.exchange;
    if (!completed && exchange) exchange.clientClosed(() => this.settle(s, false));
    else this.settle(s, completed);
  }

  private settle(s: RequestState, completed: boolean): void {
    const { ctx, snapshot, reply } = s;
    if (this.env.guards && !reply.tunnelOpen) this.env.guards.overload.inFlight--;
    runLogHooks(ctx, reply.pipeline, this.env.logger);
    if (snapshot.settings.accessLog) this.env.accessLog.write(ctx, reply.res.statusCode, completed);
    const telemetry = this.env.telemetry;
    if (telemetry) {
      telemetry.metrics?.requestEnded(ctx, reply.res.statusCode);
      emitRequestEvents(telemetry.events, ctx, reply.res.statusCode);
    }
    try {
      this.env.defense?.ended(ctx, reply.res.statusCode);
    } catch (err) {
      // Counting is best effort; a throw here would skip the bookkeeping below and, from a close listener, end the process.
      this.env.logger.error({ err }, 'defense: counting a finished request failed');
    }
    s.trace?.finish(ctx, reply.res.statusCode, completed);
    this.env.snapshots.leave(snapshot);
    if (--this.inflight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}


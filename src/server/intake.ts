/**
 * A request's intake, before any screen step: the request target taken
 * apart and its path normalized, the method checked, the request id and
 * client address decided, and the RequestContext, the response owner and
 * the handler's per-request state made. Nothing is refused here: the screen
 * steps (server/screens.ts) judge what this found.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestContext } from '../pipeline/context.js';
import { checkMethod } from '../routing/method.js';
import { normalizePath } from '../routing/normalize.js';
import type { ClientCertificate } from '../pipeline/client-certificate.js';
import type { Snapshot } from '../snapshot.js';
import type { Exchange } from '../upstream/proxy.js';
import type { Tunnel } from '../upstream/contract.js';
import type { Telemetry } from '../telemetry/hub.js';
import type { RequestTrace } from '../telemetry/tracing/request-trace.js';
import { unmapIPv4 } from '../net/ip.js';
import { hostWithoutPort, originForm } from './framing.js';
import { isHttp2 } from './http-version.js';
import { RequestBody } from './request-body.js';
import { Reply, type ReplyEnv } from './respond.js';
import { clientIp, requestId, type Screened } from './screens.js';

/** One request as the handler keeps it, from intake to the access log. */
export interface RequestState extends Screened {
  readonly peer: string;
  readonly body: RequestBody;
  exchange: Exchange | undefined;
  /** The request's trace context and spans, when it carries one (telemetry/tracing). */
  readonly trace: RequestTrace | undefined;
}

export interface IntakeEnv {
  /** "http" or "https": the scheme of the listener. */
  readonly scheme: 'http' | 'https';
  /** On a TLS listener that asks for client certificates: the one presented on a request's connection. */
  readonly clientCertificate?: (socket: object) => ClientCertificate | undefined;
  readonly telemetry?: Telemetry;
}

/**
 * A path refused by normalization, as the access line, events and spans show
 * it: a ";" path parameter (;jsessionid=...) and a "#" fragment (an implicit
 * flow's #access_token=...) are where credentials sit in a path, so what
 * follows the first of them is left out.
 */
function refusedPath(raw: string): string {
  const cut = raw.search(/[;#]/);
  return cut === -1 ? raw : `${raw.slice(0, cut + 1)}…`;
}

export function intake(req: IncomingMessage, res: ServerResponse, snapshot: Snapshot, env: IntakeEnv, replyEnv: ReplyEnv, tunnel: Tunnel | undefined): RequestState {
  const settings = snapshot.settings;
  const peer = unmapIPv4(req.socket.remoteAddress ?? '');
  const form = originForm(req);
  const target = 'path' in form ? form.path : '/';
  const q = target.indexOf('?');
  const rawPath = q === -1 ? target : target.slice(0, q);
  const normalized = normalizePath(rawPath, { keepEscapedSlashes: settings.keepEscapedSlashes, keepPathParameters: settings.keepPathParameters });
  const h2 = isHttp2(req);
  const body = new RequestBody(req, res, h2);
  const method = checkMethod(req.method);
  const ctx = new RequestContext(
    requestId(req, settings),
    method ?? (req.method ?? '').slice(0, 32),
    normalized.ok ? normalized.path : refusedPath(rawPath),
    q === -1 ? '' : target.slice(q + 1),
    req.headers,
    hostWithoutPort(req.headers.host),
    clientIp(req, settings, peer),
    env.scheme,
    performance.now(),
    body,
  );
  if (env.clientCertificate) ctx.clientCertificate = env.clientCertificate(req.socket);
  ctx.keepWire(req);
  const trace = env.telemetry?.tracing.begin(ctx, peer, settings.trustedProxies);
  return {
    req,
    ctx,
    reply: new Reply(ctx, res, h2, settings.requestIdHeader, replyEnv, tunnel),
    snapshot,
    target,
    formProblem: 'problem' in form ? form.problem : undefined,
    method,
    normalized,
    route: undefined,
    peer,
    body,
    exchange: undefined,
    trace,
  };
}

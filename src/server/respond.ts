/**
 * The one owner of a client response (in the spirit of fastify's Reply).
 * Every response head the gateway sends is finalized here, whoever decided
 * it: a refusal of a screen step or a policy, a policy's own answer (a CORS
 * preflight, a redirect), the upstream's response, the 101 of a WebSocket
 * tunnel. Finalizing is always the same: response hooks in reverse order,
 * the request id, Connection: close on HTTP/1 when the connection is not
 * kept alive (never on HTTP/2, which forbids connection headers), writeHead.
 * The upstream exchange gets this object as its ResponseOwner.
 */
import { validateHeaderName, validateHeaderValue, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Transform } from 'node:stream';
import type { Logger } from 'pino';
import { describeError, errorBody } from '../errors.js';
import type { RequestContext } from '../pipeline/context.js';
import type { Deny } from '../pipeline/decision.js';
import { bodyFilters, responseInspection, runResponseHooks, type CompiledPipeline } from '../pipeline/run.js';
import type { ResponseInspector } from '../pipeline/policy.js';
import { HeldResponse } from './held-response.js';
import { emptyPipeline } from '../pipeline/build.js';
import type { ResponseOwner, Tunnel } from '../upstream/contract.js';

/** What every reply of a handler shares: made once per handler, not per request. */
export interface ReplyEnv {
  readonly logger: Logger;
  /** A WebSocket tunnel of this reply is open (the overload guard stops counting it in flight). */
  tunnelOpened(reply: Reply): void;
}

export class Reply implements ResponseOwner {
  /** The route's pipeline once routed: its response hooks shape every head. */
  pipeline: CompiledPipeline = emptyPipeline;
  /** A WebSocket tunnel is open (101 sent): no longer counted in flight by the overload guard. */
  tunnelOpen = false;

  constructor(
    readonly ctx: RequestContext,
    readonly res: ServerResponse,
    /** The request came over HTTP/2. */
    readonly h2: boolean,
    private readonly requestIdHeader: string,
    private readonly env: ReplyEnv,
    /** Set for a WebSocket handshake. */
    readonly tunnel: Tunnel | undefined,
  ) {}

  /** A refusal (the JSON error), or a policy's own answer when the Deny is a reply. */
  refuse(denial: Deny): void {
    if (denial.reply) this.answer(denial.status, denial.headers, denial.body);
    else this.error(denial.status, denial.code, denial.headers, denial.message);
  }

  /** The gateway's own error: the JSON error shape (src/errors.ts). */
  error(status: number, code: string, extra?: OutgoingHttpHeaders, message?: string): void {
    const res = this.res;
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    res.end(this.errorHead(status, code, extra, message));
  }

  /** Writes the head of the gateway's JSON error and returns its body. */
  private errorHead(status: number, code: string, extra?: OutgoingHttpHeaders, message?: string): string {
    const res = this.res;
    const ctx = this.ctx;
    const body = errorBody(status, code, message ?? describeError(code, status).message, ctx.id);
    const length = Buffer.byteLength(body);
    const response = ctx.response;
    response.status = status;
    response.headers = {
      ...extra,
      'content-type': 'application/json',
      'cache-control': 'no-store',
      // The body is JSON and nothing else: no browser may sniff it into something it would run.
      'x-content-type-options': 'nosniff',
      'content-length': length,
    };
    this.finalize();
    ctx.bytesSent = length;
    res.writeHead(response.status, response.headers);
    return body;
  }

  /** A policy's reply (a CORS preflight, a redirect; a function's answer with its body): its status, headers and body. */
  answer(status: number, headers: OutgoingHttpHeaders | undefined, body?: Buffer): void {
    const response = this.ctx.response;
    response.status = status;
    response.headers = { ...headers };
    const bodiless = status === 204 || status === 304;
    if (!bodiless) response.headers['content-length'] = body?.length ?? 0;
    this.finalize();
    this.res.writeHead(response.status, response.headers);
    if (body && !bodiless && this.ctx.method !== 'HEAD') {
      this.ctx.bytesSent = body.length;
      this.res.end(body);
    } else {
      this.res.end();
    }
  }

  /** Response hooks (last policy first), request id, connection handling: ctx.response is then the head to write. */
  private finalize(): void {
    const ctx = this.ctx;
    runResponseHooks(ctx, this.pipeline, this.env.logger);
    const headers = ctx.response.headers;
    headers[this.requestIdHeader] = ctx.id;
    if (!this.res.shouldKeepAlive && !this.h2) headers.connection = 'close';
  }

  // ResponseOwner: the upstream exchange's side

  onResponseHead(status: number, statusText: string, headers: OutgoingHttpHeaders): boolean {
    const response = this.ctx.response;
    response.status = status;
    response.headers = headers;
    this.finalize();
    const inspector = responseInspection(this.ctx, this.pipeline, this.env.logger);
    if (inspector) {
      // written once the inspector saw the body's start (responseFilters' HeldResponse)
      this.held = { statusText, inspector };
      return true;
    }
    return this.writeUpstreamHead(statusText);
  }

  /** A policy reads the response before the client gets it: the head waits here. */
  private held: { statusText: string; inspector: ResponseInspector } | undefined;

  private writeUpstreamHead(statusText: string): boolean {
    const response = this.ctx.response;
    try {
      // HTTP/2 has no reason phrase (Node warns when given one); an HTTP/2 upstream gives none either.
      if (statusText === '' || this.h2) this.res.writeHead(response.status, response.headers);
      else this.res.writeHead(response.status, statusText, response.headers);
    } catch (err) {
      // An upstream header Node refuses to send (invalid characters): the exchange answers a clean 502.
      this.env.logger.warn({ err, request_id: this.ctx.id, target: this.ctx.upstreamTarget }, 'upstream response header rejected');
      return false;
    }
    return true;
  }

  onFailure(status: number, code: string): void {
    this.error(status, code);
  }

  onUpgradeHead(status: number, headers: OutgoingHttpHeaders): Tunnel | undefined {
    const tunnel = this.tunnel!;
    const response = this.ctx.response;
    response.status = status;
    response.headers = headers;
    runResponseHooks(this.ctx, this.pipeline, this.env.logger);
    headers[this.requestIdHeader] = this.ctx.id;
    const head = upgradeHead(headers);
    if (head === undefined) {
      this.env.logger.warn({ request_id: this.ctx.id, target: this.ctx.upstreamTarget }, 'upstream upgrade header rejected');
      return undefined;
    }
    // The client socket now belongs to the tunnel, not to the HTTP response.
    this.res.detachSocket(tunnel.socket as Socket);
    this.res.statusCode = 101;
    tunnel.socket.write(head);
    return tunnel;
  }

  tunnelOpened(): void {
    if (this.tunnelOpen) return;
    this.tunnelOpen = true;
    this.env.tunnelOpened(this);
  }

  requestFilters(): Transform[] | undefined {
    return bodyFilters(this.ctx, this.pipeline, 'request');
  }

  responseFilters(): Transform[] | undefined {
    const filters = bodyFilters(this.ctx, this.pipeline, 'response');
    const held = this.held;
    if (!held) return filters;
    this.held = undefined;
    return [...(filters ?? []), new HeldResponse(held.inspector.limit, (prefix, complete) => this.release(held, prefix, complete))];
  }

  /** The held head goes out, or a refusal in its place (whose body then replaces the upstream's). */
  private release(held: { statusText: string; inspector: ResponseInspector }, prefix: Buffer, complete: boolean): Buffer | undefined {
    // the exchange failed meanwhile and its error was answered
    if (this.res.headersSent || this.res.destroyed) return Buffer.alloc(0);
    const response = this.ctx.response;
    const refusal = held.inspector.inspect(response.status, response.headers, prefix, complete);
    if (refusal === undefined) {
      if (this.writeUpstreamHead(held.statusText)) return undefined;
      return Buffer.from(this.errorHead(502, 'bad_gateway'));
    }
    return Buffer.from(this.errorHead(refusal.status, refusal.code, refusal.headers, refusal.message));
  }
}

/**
 * The raw 101 head of a WebSocket tunnel, written on the socket (Node's
 * writeHead is not used for it). Names and values are checked the way Node
 * checks them for any other head (tokens; no CR, LF or NUL in values): one that
 * fails gives undefined, and the client a 502, rather than a split response.
 */
export function upgradeHead(headers: OutgoingHttpHeaders): string | undefined {
  let head = 'HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n';
  try {
    for (const name of Object.keys(headers)) {
      const value = headers[name];
      if (value === undefined) continue;
      validateHeaderName(name);
      for (const v of Array.isArray(value) ? value : [value]) {
        const text = String(v);
        validateHeaderValue(name, text);
        head += `${name}: ${text}\r\n`;
      }
    }
  } catch {
    return undefined;
  }
  return head + '\r\n';
}

/**
 * The one owner of a client response (in the spirit of fastify's Reply).
 * Every response head the gateway sends is finalized here, whoever decided
 * it: a refusal of a screen step or a policy, a policy's own answer (a CORS
 * preflight, a redirect), the upstream's response, the 101 of a WebSocket
 * tunnel. Finalizing is always the same: response hooks in reverse order,
 * the request id, Connection: close on HTTP/1 when the connection is not
 * kept alive (never on HTTP/2, which forbids connection headers), writeHead.
 * A route holding an asynchronous response hook (onResponseAsync: a
 * function's, run in its thread) writes its heads once the hooks settle;
 * every other route keeps the synchronous path, untouched.
 * The upstream exchange gets this object as its ResponseOwner.
 */
import { validateHeaderName, validateHeaderValue, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Transform } from 'node:stream';
import type { Logger } from 'pino';
import { describeError, errorBody } from '../errors.js';
import type { RequestContext } from '../pipeline/context.js';
import type { Deny } from '../pipeline/decision.js';
import { bodyFilters, responseInspection, runResponseHooks, runResponseHooksAsync, type CompiledPipeline } from '../pipeline/run.js';
import type { ResponseInspector } from '../pipeline/policy.js';
import { HeadGate } from './head-gate.js';
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
    if (res.headersSent || res.destroyed || this.headWaiting) {
      res.destroy();
      return;
    }
    if (this.pipeline.hasAsyncResponseHooks === true) {
      const body = this.errorResponse(status, code, extra, message);
      this.finalizeLater(() => {
        this.ctx.bytesSent = Buffer.byteLength(body);
        res.writeHead(this.ctx.response.status, this.ctx.response.headers);
        res.end(body);
      });
      return;
    }
    res.end(this.errorHead(status, code, extra, message));
  }

  /** Writes the head of the gateway's JSON error and returns its body. */
  private errorHead(status: number, code: string, extra?: OutgoingHttpHeaders, message?: string): string {
    const body = this.errorResponse(status, code, extra, message);
    this.finalize();
    this.ctx.bytesSent = Buffer.byteLength(body);
    this.res.writeHead(this.ctx.response.status, this.ctx.response.headers);
    return body;
  }

  /** ctx.response as the gateway's JSON error, before the hooks; returns its body. */
  private errorResponse(status: number, code: string, extra?: OutgoingHttpHeaders, message?: string): string {
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
    return body;
  }

  /** A policy's reply (a CORS preflight, a redirect; a function's answer with its body): its status, headers and body. */
  answer(status: number, headers: OutgoingHttpHeaders | undefined, body?: Buffer): void {
    const response = this.ctx.response;
    response.status = status;
    response.headers = { ...headers };
    const bodiless = status === 204 || status === 304;
    if (!bodiless) response.headers['content-length'] = body?.length ?? 0;
    if (this.pipeline.hasAsyncResponseHooks === true) {
      this.finalizeLater(() => this.writeAnswer(bodiless, body));
      return;
    }
    this.finalize();
    this.writeAnswer(bodiless, body);
  }

  private writeAnswer(bodiless: boolean, body: Buffer | undefined): void {
    const response = this.ctx.response;
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
    runResponseHooks(this.ctx, this.pipeline, this.env.logger);
    this.finishHead();
  }

  private finishHead(): void {
    const headers = this.ctx.response.headers;
    headers[this.requestIdHeader] = this.ctx.id;
    if (!this.res.shouldKeepAlive && !this.h2) headers.connection = 'close';
  }

  /** A head whose asynchronous response hooks are running: nothing else may answer meanwhile. */
  private headWaiting = false;

  /** The asynchronous form of finalize: `write` runs once the hooks settled, unless the response ended meanwhile. */
  private finalizeLater(write: () => void): void {
    this.headWaiting = true;
    void runResponseHooksAsync(this.ctx, this.pipeline, this.env.logger).then(() => {
      this.headWaiting = false;
      if (this.res.headersSent || this.res.destroyed) return;
      this.finishHead();
      try {
        write();
      } catch (err) {
        // A header a hook set that Node refuses: the response cannot be sent as it is.
        this.env.logger.warn({ err, request_id: this.ctx.id }, 'response head rejected');
        this.res.destroy();
      }
    });
  }

  /** The upstream's body waits for the asynchronous hooks here (HeadGate), set by onResponseHead. */
  private gate: Promise<Buffer | undefined> | undefined;

  // ResponseOwner: the upstream exchange's side

  onResponseHead(status: number, statusText: string, headers: OutgoingHttpHeaders): boolean {
    const response = this.ctx.response;
    response.status = status;
    response.headers = headers;
    if (this.pipeline.hasAsyncResponseHooks === true) return this.asyncUpstreamHead(statusText);
    this.finalize();
    const inspector = responseInspection(this.ctx, this.pipeline, this.env.logger);
    if (inspector) {
      // written once the inspector saw the body's start (responseFilters' HeldResponse)
      this.held = { statusText, inspector };
      return true;
    }
    return this.writeUpstreamHead(statusText);
  }

  /**
   * The upstream's head on a route with asynchronous hooks: the body waits in
   * a HeadGate until they settle and the head is written (or held for an
   * inspector, as on the synchronous path).
   */
  private asyncUpstreamHead(statusText: string): boolean {
    const inspector = responseInspection(this.ctx, this.pipeline, this.env.logger);
    if (inspector) this.held = { statusText, inspector };
    this.headWaiting = true;
    this.gate = runResponseHooksAsync(this.ctx, this.pipeline, this.env.logger).then(() => {
      this.headWaiting = false;
      // answered meanwhile (the exchange failed): the upstream's bytes are dropped
      if (this.res.headersSent || this.res.destroyed) return Buffer.alloc(0);
      this.finishHead();
      if (inspector || this.writeUpstreamHead(statusText)) return undefined;
      return Buffer.from(this.errorHead(502, 'bad_gateway'));
    });
    return true;
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
    const gate = this.gate;
    if (!held && !gate) return filters;
    this.held = undefined;
    this.gate = undefined;
    const out = [...(filters ?? [])];
    if (gate) out.push(new HeadGate(gate));
    if (held) out.push(new HeldResponse(held.inspector.limit, (prefix, complete) => this.release(held, prefix, complete)));
    return out;
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

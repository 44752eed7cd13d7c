/**
 * One client request's trip to the upstream, written straight into the client
 * response through undici's dispatch handler interface (the cheapest way
 * through undici: see PERFORMANCE.md). Bodies stream both ways with
 * backpressure; nothing is buffered unless a policy read the request body.
 * Retries, timeouts, passive health and circuit breaking are decided here.
 */
import { pipeline as pipeStreams, type Duplex, type Readable, type Transform, type Writable } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import type { RequestContext } from '../pipeline/context.js';
import { runResponseHooks, type CompiledPipeline } from '../pipeline/run.js';
import { responseHeadersFrom, trailersFrom } from './headers.js';
import type { Service } from './service.js';
import type { Target } from './target.js';
import { isTlsFailure } from './tls.js';
import { BodyTooLargeError, ResponseTimeoutError } from '../errors.js';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

export interface ExchangeEnv {
  readonly logger: Logger;
  readonly requestIdHeader: string;
  /** Answers the client with a gateway error (JSON body, response hooks, request id). */
  respondError(status: number, code: string): void;
  /** Send the client's Host upstream rather than the target's. */
  readonly preserveHost: boolean;
  /** Upstream response headers never passed to the client (gateway.hide_response_headers). */
  readonly hiddenResponseHeaders: ReadonlySet<string>;
  /** Set for a WebSocket handshake: where the upgraded connection is spliced. */
  readonly tunnel: { readonly socket: Duplex; readonly head: Buffer } | undefined;
  /** The tunnel is open (101 sent). */
  tunnelOpened?(): void;
}

export interface UpstreamRequest {
  /** Path and query as sent upstream, without the target's base path. */
  readonly path: string;
  /** Flat [name, value, ...] list, ending with "host", value: the exchange sets the host per target. */
  readonly headers: string[];
  readonly hasBody: boolean;
}

type Classified = { kind: 'connect-failure' | 'timeout' | 'other'; status: number; code: string };

export class Exchange implements Dispatcher.DispatchHandler {
  private target: Target | undefined = undefined;
  private tried: Target[] | undefined = undefined;
  private attempt = 0;
  private abortUpstream: ((err?: Error) => void) | undefined = undefined;
  /** Draining a response that will be retried instead of sent. */
  private discarding = false;
  private outcomeRecorded = false;
  private clientGone = false;
  /** An upstream request is in flight (dispatched, not yet completed, failed or upgraded). */
  private attemptOpen = false;
  /** Called once no upstream request is left after the client went away. */
  private onReleased: (() => void) | undefined = undefined;
  private sink: Writable;
  private resumeUpstream: (() => void) | undefined = undefined;
  private readonly onSinkDrain = (): void => {
    this.stopStallTimer();
    this.resumeUpstream?.();
  };
  /**
   * Runs while the client takes no more of the response (backpressure): undici stops its idle timer while
   * paused, so without this a client that never reads would hold the upstream request, and one of the
   * target's connections, for ever. It gets timeouts.idle, as the upstream does.
   */
  private stallTimer: NodeJS.Timeout | undefined = undefined;
  private readonly onClientStalled = (): void => {
    this.stallTimer = undefined;
    this.env.logger.info({ request_id: this.ctx.id, service: this.service.name }, 'client stopped reading the response: connection closed');
    this.res.destroy();
  };
  /**
   * Our own timer for timeouts.response: undici's headers timeout runs on its
   * coarse timer wheel (a 200 ms timeout fires after ~1 s), too coarse for a gateway.
   */
  private responseTimer: NodeJS.Timeout | undefined = undefined;
  private timedOut = false;
  /**
   * The body streams from the client as it arrives: the time it takes to send is the client's (bounded by
   * min_body_rate and request_timeout), not the upstream's. timeouts.response is paused while it is sent,
   * else a client uploading slowly would get a 504 counted against the target (passive health, breaker).
   */
  private streamingBody = false;
  private readonly onResponseTimeout = (): void => {
    this.responseTimer = undefined;
    this.timedOut = true;
    this.abortUpstream?.(new ResponseTimeoutError(this.service.responseTimeoutMs));
  };

  constructor(
    private readonly ctx: RequestContext,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly service: Service,
    private readonly pipeline: CompiledPipeline,
    private readonly upstream: UpstreamRequest,
    private readonly env: ExchangeEnv,
  ) {
    this.sink = res;
  }

  start(): void {
    this.ctx.upstreamStart = performance.now();
    this.dispatch();
  }

  /**
   * The client went away (a closed connection, an HTTP/2 stream reset): stop the upstream exchange.
   * `released` runs once no upstream request is left: at once when none is in flight, else when
   * undici reports the aborted one over (which may wait for a request still queued for a connection
   * to be handed one). Until then the request is still in progress: it keeps its concurrency slot.
   */
  clientClosed(released?: () => void): void {
    const first = !this.clientGone;
    this.clientGone = true;
    this.stopResponseTimer();
    this.stopStallTimer();
    if (first && this.target && !this.outcomeRecorded) this.target.breaker?.release();
    if (released) {
      if (this.attemptOpen) this.onReleased = released;
      else released();
    }
    this.abortUpstream?.(new Error('client closed the connection'));
  }

  private dispatch(): void {
    const target = this.service.pick(this.hashKey(), this.tried);
    if (!target) {
      this.env.respondError(503, 'upstream_unavailable');
      return;
    }
    this.target = target;
    this.outcomeRecorded = false;
    this.discarding = false;
    this.timedOut = false;
    this.responseTimer = setTimeout(this.onResponseTimeout, this.service.responseTimeoutMs);
    this.ctx.upstreamTarget = target.origin;
    target.active++;
    this.attemptOpen = true;
    const headers = this.upstream.headers;
    if (!this.env.preserveHost) headers[headers.length - 1] = target.hostHeader;
    const tunnel = this.env.tunnel;
    const body = tunnel ? null : this.body();
    this.streamingBody = body !== null && !Buffer.isBuffer(body);
    target.pool.dispatch(
      {
        path: target.basePath + this.upstream.path,
        method: this.ctx.method,
        headers,
        body,
        headersTimeout: 0,
        bodyTimeout: tunnel ? 0 : this.service.idleTimeoutMs,
        upgrade: tunnel ? 'websocket' : null,
        servername: target.servername,
      } as Dispatcher.DispatchOptions,
      this,
    );
  }

  private body(): Buffer | Readable | null {
    if (this.ctx.bufferedBody) return this.ctx.bufferedBody;
    if (!this.upstream.hasBody) return null;
    if (!this.pipeline.hasBodyFilters) return this.req;
    const filters: Transform[] = [];
    for (const step of this.pipeline.steps.slice(0, this.ctx.stepsRun)) {
      const filter = step.instance.requestBody?.(this.ctx);
      if (filter) filters.push(filter);
    }
    if (filters.length === 0) return this.req;
    return pipeStreams([this.req, ...filters], () => {}) as unknown as Readable;
  }

  private hashKey(): string | undefined {
    switch (this.service.hashOn) {
      case 'consumer':
        return this.ctx.consumer?.name;
      case 'header': {
        return this.service.hashHeader ? this.ctx.header(this.service.hashHeader) : undefined;
      }
      default:
        return this.ctx.clientIp;
    }
  }

  private canRetry(): boolean {
    return (
      this.attempt < this.service.retry.attempts &&
      !this.clientGone &&
      !this.res.headersSent &&
      IDEMPOTENT.has(this.ctx.method) &&
      (!this.upstream.hasBody || this.ctx.bufferedBody !== undefined)
    );
  }

  private retry(): void {
    (this.tried ??= []).push(this.target!);
    this.attempt++;
    this.env.logger.info(
      { request_id: this.ctx.id, service: this.service.name, target: this.target!.origin, attempt: this.attempt },
      'retrying upstream request',
    );
    this.dispatch();
  }

  private endAttempt(): void {
    if (this.target && this.attemptOpen) this.target.active--;
    this.attemptOpen = false;
    this.abortUpstream = undefined;
    this.stopResponseTimer();
    if (this.clientGone && this.onReleased) {
      const released = this.onReleased;
      this.onReleased = undefined;
      released();
    }
  }

  private stopStallTimer(): void {
    if (this.stallTimer === undefined) return;
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  private stopResponseTimer(): void {
    if (this.responseTimer === undefined) return;
    clearTimeout(this.responseTimer);
    this.responseTimer = undefined;
  }

  // undici dispatch handler

  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.clientGone) abort(new Error('client closed the connection'));
    else if (this.timedOut) abort(new ResponseTimeoutError(this.service.responseTimeoutMs));
    else if (this.streamingBody) this.stopResponseTimer(); // the request is written now; see streamingBody
  }

  onRequestSent(): void {
    if (this.streamingBody && !this.outcomeRecorded && !this.clientGone && this.responseTimer === undefined) {
      this.responseTimer = setTimeout(this.onResponseTimeout, this.service.responseTimeoutMs);
    }
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true; // 1xx interim responses are not forwarded
    this.stopResponseTimer();
    const target = this.target!;
    this.ctx.upstreamLatencyMs = performance.now() - this.ctx.upstreamStart;
    this.outcomeRecorded = true;
    if (this.service.isFailureStatus(statusCode)) this.service.failed(target, `status ${statusCode}`);
    else this.service.succeeded(target);
    if (this.service.retry.statuses.has(statusCode) && this.canRetry()) {
      this.discarding = true;
      return true;
    }
    if (this.clientGone) return false;
    const response = this.ctx.response;
    response.status = statusCode;
    response.headers = responseHeadersFrom(rawHeaders, this.env.hiddenResponseHeaders);
    runResponseHooks(this.ctx, this.pipeline, this.env.logger);
    response.headers[this.env.requestIdHeader] = this.ctx.id;
    try {
      // HTTP/2 has no reason phrase (Node warns when given one); an HTTP/2 upstream gives none either.
      if (statusText === '' || this.req.httpVersionMajor === 2) this.res.writeHead(response.status, response.headers);
      else this.res.writeHead(response.status, statusText, response.headers);
    } catch (err) {
      // An upstream header Node refuses to send (invalid characters): the client gets a clean 502.
      this.env.logger.warn({ err, request_id: this.ctx.id, target: target.origin }, 'upstream response header rejected');
      this.abortUpstream?.(err as Error);
      return false;
    }
    this.resumeUpstream = resume;
    this.sink = this.responseSink();
    return true;
  }

  private responseSink(): Writable {
    if (!this.pipeline.hasBodyFilters) return this.res;
    const filters: Transform[] = [];
    for (const step of this.pipeline.steps.slice(0, this.ctx.stepsRun)) {
      const filter = step.instance.responseBody?.(this.ctx);
      if (filter) filters.push(filter);
    }
    if (filters.length === 0) return this.res;
    pipeStreams([...filters, this.res], () => {});
    return filters[0]!;
  }

  /** The upstream accepted the WebSocket handshake: answer 101 and splice the two connections. */
  onUpgrade(statusCode: number, rawHeaders: Buffer[] | string[] | null, upstreamSocket: Duplex): void {
    this.endAttempt();
    const tunnel = this.env.tunnel!;
    const target = this.target!;
    this.outcomeRecorded = true;
    this.service.succeeded(target);
    this.ctx.upstreamLatencyMs = performance.now() - this.ctx.upstreamStart;
    if (this.clientGone) {
      upstreamSocket.destroy();
      return;
    }
    const response = this.ctx.response;
    response.status = statusCode;
    response.headers = responseHeadersFrom(
      (rawHeaders ?? []).map((h) => (typeof h === 'string' ? Buffer.from(h, 'latin1') : h)),
      this.env.hiddenResponseHeaders,
    );
    runResponseHooks(this.ctx, this.pipeline, this.env.logger);
    response.headers[this.env.requestIdHeader] = this.ctx.id;
    let head = `HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n`;
    for (const [name, value] of Object.entries(response.headers)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${String(v)}\r\n`;
    }
    // The client socket now belongs to the tunnel, not to the HTTP response.
    this.res.detachSocket(tunnel.socket as Socket);
    this.res.statusCode = 101;
    const client = tunnel.socket;
    client.write(head + '\r\n');
    if (tunnel.head.length > 0) upstreamSocket.write(tunnel.head);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      client.destroy();
      upstreamSocket.destroy();
      this.res.emit('close');
    };
    client.on('error', close).on('close', close);
    upstreamSocket.on('error', close).on('close', close);
    client.on('data', (chunk: Buffer) => {
      this.ctx.bytesReceived += chunk.length;
    });
    upstreamSocket.on('data', (chunk: Buffer) => {
      this.ctx.bytesSent += chunk.length;
    });
    client.pipe(upstreamSocket);
    upstreamSocket.pipe(client);
    this.env.tunnelOpened?.();
  }

  onData(chunk: Buffer): boolean {
    if (this.discarding) return true;
    this.ctx.bytesSent += chunk.length;
    if (this.sink.write(chunk)) return true;
    this.sink.once('drain', this.onSinkDrain);
    this.stallTimer ??= setTimeout(this.onClientStalled, this.service.idleTimeoutMs);
    return false;
  }

  onComplete(trailers: string[] | null): void {
    this.endAttempt();
    if (this.discarding) {
      if (!this.clientGone) this.retry();
      return;
    }
    const forward = trailersFrom(trailers, this.env.hiddenResponseHeaders);
    if (forward) {
      try {
        // Sent after the body: by HTTP/2 as a trailing HEADERS frame, by HTTP/1.1 in the last chunk.
        this.res.addTrailers(forward);
      } catch (err) {
        this.env.logger.warn({ err: (err as Error).message, request_id: this.ctx.id }, 'upstream trailers dropped');
      }
    }
    this.sink.end();
  }

  onError(err: Error): void {
    this.endAttempt();
    if (this.clientGone) return;
    const target = this.target!;
    if (err instanceof BodyTooLargeError || (err as { cause?: unknown }).cause instanceof BodyTooLargeError) {
      this.fail(413, 'payload_too_large');
      return;
    }
    const classified = classify(err, this.res.headersSent);
    if (!this.outcomeRecorded && classified.kind !== 'other') {
      this.outcomeRecorded = true;
      this.service.failed(target, classified.code);
    }
    const retryable =
      (classified.kind === 'connect-failure' && this.service.retry.onConnectFailure) || (classified.kind === 'timeout' && this.service.retry.onTimeout);
    if (retryable && this.canRetry()) {
      this.retry();
      return;
    }
    this.env.logger.warn(
      { request_id: this.ctx.id, service: this.service.name, target: target.origin, code: classified.code, err: err.message },
      isTlsFailure(classified.code) ? 'upstream TLS handshake failed' : 'upstream request failed',
    );
    this.fail(classified.status, classified.status === 504 ? 'gateway_timeout' : 'bad_gateway');
  }

  private fail(status: number, code: string): void {
    if (this.res.headersSent) {
      // Mid-body: the only honest signal left is a cut connection.
      this.res.destroy();
      return;
    }
    this.env.respondError(status, code);
  }
}

function classify(err: Error, responding: boolean): Classified {
  const code = (err as NodeJS.ErrnoException).code ?? (err.cause as NodeJS.ErrnoException | undefined)?.code ?? err.name;
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return { kind: 'connect-failure', status: 504, code };
  if (CONNECT_FAILURES.has(code)) return { kind: 'connect-failure', status: 502, code };
  // The upstream could not be trusted (certificate, name, pin) or spoke no common TLS: no request was sent.
  if (!responding && isTlsFailure(code)) return { kind: 'connect-failure', status: 502, code };
  if (code === 'PORTCULLIS_RESPONSE_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT') return { kind: 'timeout', status: 504, code };
  if (code === 'UND_ERR_BODY_TIMEOUT') return { kind: 'timeout', status: 504, code };
  // A kept-alive connection the upstream closed before answering: as good as a connect failure.
  if (!responding && (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET')) return { kind: 'connect-failure', status: 502, code };
  return { kind: 'other', status: 502, code };
}

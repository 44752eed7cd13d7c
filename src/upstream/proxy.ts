/**
 * One client request's trip to the upstream, written straight into the client
 * response through undici's dispatch handler interface (the cheapest way
 * through undici). Bodies stream both ways with backpressure; nothing is
 * buffered unless a policy read the request body.
 *
 * This is the core: pick a target, dispatch, stream. The rest is composed
 * from helpers beside it: retry.ts (the retry decision and error
 * classification), timers.ts (the response and stall timers), outcome.ts
 * (passive health and breaker recording), tunnel.ts (the WebSocket splice).
 * Response heads are never written here: the ResponseOwner (contract.ts) does.
 */
import { pipeline as pipeStreams, type Duplex, type Readable, type Writable } from 'node:stream';
import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { responseHeadersFrom, trailersFrom } from './headers.js';
import type { ExchangeContext, ResponseOwner, UpstreamRequest } from './contract.js';
import type { Service } from './service.js';
import type { Target } from './target.js';
import { isTlsFailure } from './tls.js';
import { classify, mayRetry, retriesOn } from './retry.js';
import { responseTimerArmed, startResponseTimer, startStallTimer, stopResponseTimer, stopStallTimer, type Timed } from './timers.js';
import type { DeadlineList, Deadline } from './deadlines.js';
import { recordAbandoned, recordError, recordStatus, recordUpgrade, type Attempted } from './outcome.js';
import { splice } from './tunnel.js';
import { BodyTooLargeError, ResponseTimeoutError } from '../errors.js';

export type { UpstreamRequest } from './contract.js';

export class Exchange implements Dispatcher.DispatchHandler, Timed, Attempted {
  target: Target | undefined = undefined;
  outcomeRecorded = false;
  // The response timer: this exchange's place in the service's DeadlineList (deadlines.ts).
  deadlineList: DeadlineList | undefined = undefined;
  deadlinePrev: Deadline | undefined = undefined;
  deadlineNext: Deadline | undefined = undefined;
  deadlineAt = 0;
  stallTimer: NodeJS.Timeout | undefined = undefined;
  private tried: Target[] | undefined = undefined;
  private attempt = 0;
  private abortUpstream: ((err?: Error) => void) | undefined = undefined;
  /** Draining a response that will be retried instead of sent. */
  private discarding = false;
  private clientGone = false;
  /** An upstream request is in flight (dispatched, not yet completed, failed or upgraded). */
  private attemptOpen = false;
  /** Called once no upstream request is left after the client went away. */
  private onReleased: (() => void) | undefined = undefined;
  private sink: Writable;
  private resumeUpstream: (() => void) | undefined = undefined;
  /** Made the first time the client pushes back, not for every request. */
  private onSinkDrain: (() => void) | undefined = undefined;
  private timedOut = false;
  /**
   * The body streams from the client as it arrives: the time it takes to send is the client's (bounded by
   * min_body_rate and request_timeout), not the upstream's. timeouts.response is paused while it is sent,
   * else a client uploading slowly would get a 504 counted against the target (passive health, breaker).
   */
  private streamingBody = false;

  constructor(
    private readonly ctx: ExchangeContext,
    /** The client's request body, streamed upstream when no policy buffered it. */
    private readonly clientBody: Readable,
    private readonly res: ServerResponse,
    readonly service: Service,
    private readonly upstream: UpstreamRequest,
    private readonly owner: ResponseOwner,
    private readonly logger: Logger,
    /** Upstream response headers never passed to the client (gateway.hide_response_headers). */
    private readonly hiddenResponseHeaders: ReadonlySet<string>,
  ) {
    this.sink = res;
  }

  start(): void {
    const now = performance.now();
    this.ctx.upstreamStart = now;
    this.dispatch(now);
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
    stopResponseTimer(this);
    stopStallTimer(this);
    if (first) recordAbandoned(this);
    if (released) {
      if (this.attemptOpen) this.onReleased = released;
      else released();
    }
    this.abortUpstream?.(new Error('client closed the connection'));
  }

  /** timeouts.response ran out before the response head (the response timer, timers.ts). */
  deadlinePassed(): void {
    this.timedOut = true;
    this.abortUpstream?.(new ResponseTimeoutError(this.service.responseTimeoutMs));
  }

  clientStalled(): void {
    this.logger.info({ request_id: this.ctx.id, service: this.service.name }, 'client stopped reading the response: connection closed');
    this.res.destroy();
  }

  /** `now`: performance.now() when the caller just took it (the first attempt). */
  private dispatch(now?: number): void {
    const target = this.service.pick(this.hashKey(), this.tried);
    if (!target) {
      this.owner.onFailure(503, 'upstream_unavailable');
      return;
    }
    this.target = target;
    this.outcomeRecorded = false;
    this.discarding = false;
    this.timedOut = false;
    startResponseTimer(this, this.service.responseDeadlines, now);
    this.ctx.upstreamTarget = target.origin;
    target.active++;
    this.attemptOpen = true;
    const upstream = this.upstream;
    const headers = upstream.headers;
    if (!upstream.preserveHost) headers[headers.length - 1] = target.hostHeader;
    if (upstream.tracing) headers[upstream.traceparentAt!] = upstream.tracing.begin(this.attempt, target.origin, upstream.path);
    const body = upstream.upgrade ? null : this.body();
    this.streamingBody = body !== null && !Buffer.isBuffer(body);
    target.pool.dispatch(
      {
        path: target.basePath + upstream.path,
        method: this.ctx.method,
        headers,
        body,
        headersTimeout: 0,
        bodyTimeout: upstream.upgrade ? 0 : this.service.idleTimeoutMs,
        upgrade: upstream.upgrade ? 'websocket' : null,
        servername: target.servername,
      } as Dispatcher.DispatchOptions,
      this,
    );
  }

  private body(): Buffer | Readable | null {
    if (this.ctx.bufferedBody) return this.ctx.bufferedBody;
    if (!this.upstream.hasBody) return null;
    const filters = this.owner.requestFilters();
    if (filters === undefined) return this.clientBody;
    return pipeStreams([this.clientBody, ...filters], () => {}) as unknown as Readable;
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
    return !this.clientGone && !this.res.headersSent && mayRetry(this.service, this.attempt, this.ctx.method, this.upstream.hasBody, this.ctx.bufferedBody !== undefined);
  }

  private retry(): void {
    (this.tried ??= []).push(this.target!);
    this.attempt++;
    this.ctx.upstreamRetries++;
    this.logger.info({ request_id: this.ctx.id, service: this.service.name, target: this.target!.origin, attempt: this.attempt }, 'retrying upstream request');
    this.dispatch();
  }

  private endAttempt(error?: string): void {
    this.upstream.tracing?.end(error);
    if (this.target && this.attemptOpen) this.target.active--;
    this.attemptOpen = false;
    this.abortUpstream = undefined;
    stopResponseTimer(this);
    if (this.clientGone && this.onReleased) {
      const released = this.onReleased;
      this.onReleased = undefined;
      released();
    }
  }

  // undici dispatch handler

  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.clientGone) abort(new Error('client closed the connection'));
    else if (this.timedOut) abort(new ResponseTimeoutError(this.service.responseTimeoutMs));
    else if (this.streamingBody) stopResponseTimer(this); // the request is written now; see streamingBody
  }

  onRequestSent(): void {
    if (this.streamingBody && !this.outcomeRecorded && !this.clientGone && !responseTimerArmed(this)) {
      startResponseTimer(this, this.service.responseDeadlines);
    }
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true; // 1xx interim responses are not forwarded
    stopResponseTimer(this);
    this.ctx.upstreamLatencyMs = performance.now() - this.ctx.upstreamStart;
    this.upstream.tracing?.status(statusCode);
    recordStatus(this, statusCode);
    if (this.service.retry.statuses.has(statusCode) && this.canRetry()) {
      this.discarding = true;
      return true;
    }
    if (this.clientGone) return false;
    if (!this.owner.onResponseHead(statusCode, statusText, responseHeadersFrom(rawHeaders, this.hiddenResponseHeaders))) {
      // An upstream header Node refuses to send: abort, and the client gets a clean 502 (onError).
      this.abortUpstream?.(new Error('upstream response header rejected'));
      return false;
    }
    this.resumeUpstream = resume;
    this.sink = this.responseSink();
    return true;
  }

  private responseSink(): Writable {
    const filters = this.owner.responseFilters();
    if (filters === undefined) return this.res;
    pipeStreams([...filters, this.res], () => {});
    return filters[0]!;
  }

  /** The upstream accepted the WebSocket handshake: the owner answers 101, and the two connections are spliced. */
  onUpgrade(statusCode: number, rawHeaders: Buffer[] | string[] | null, upstreamSocket: Duplex): void {
    this.upstream.tracing?.status(statusCode);
    this.endAttempt();
    recordUpgrade(this);
    this.ctx.upstreamLatencyMs = performance.now() - this.ctx.upstreamStart;
    if (this.clientGone) {
      upstreamSocket.destroy();
      return;
    }
    const headers = responseHeadersFrom(
      (rawHeaders ?? []).map((h) => (typeof h === 'string' ? Buffer.from(h, 'latin1') : h)),
      this.hiddenResponseHeaders,
    );
    const tunnel = this.owner.onUpgradeHead(statusCode, headers);
    if (tunnel === undefined) {
      upstreamSocket.destroy();
      this.owner.onFailure(502, 'bad_gateway');
      return;
    }
    splice(this.ctx, tunnel, upstreamSocket, () => this.res.emit('close'));
    this.owner.tunnelOpened();
  }

  onData(chunk: Buffer): boolean {
    if (this.discarding) return true;
    this.ctx.bytesSent += chunk.length;
    if (this.sink.write(chunk)) return true;
    this.sink.once(
      'drain',
      (this.onSinkDrain ??= () => {
        stopStallTimer(this);
        this.resumeUpstream?.();
      }),
    );
    startStallTimer(this, this.service.idleTimeoutMs);
    return false;
  }

  onComplete(trailers: string[] | null): void {
    this.endAttempt();
    if (this.discarding) {
      if (!this.clientGone) this.retry();
      return;
    }
    const forward = trailersFrom(trailers, this.hiddenResponseHeaders);
    if (forward) {
      try {
        // Sent after the body: by HTTP/2 as a trailing HEADERS frame, by HTTP/1.1 in the last chunk.
        this.res.addTrailers(forward);
      } catch (err) {
        this.logger.warn({ err: (err as Error).message, request_id: this.ctx.id }, 'upstream trailers dropped');
      }
    }
    this.sink.end();
  }

  onError(err: Error): void {
    this.endAttempt((err as NodeJS.ErrnoException).code ?? err.name);
    if (this.clientGone) return;
    if (err instanceof BodyTooLargeError || (err as { cause?: unknown }).cause instanceof BodyTooLargeError) {
      this.fail(413, 'payload_too_large');
      return;
    }
    const classified = classify(err, this.res.headersSent);
    recordError(this, classified);
    if (retriesOn(this.service, classified) && this.canRetry()) {
      this.retry();
      return;
    }
    this.logger.warn(
      { request_id: this.ctx.id, service: this.service.name, target: this.target!.origin, code: classified.code, err: err.message },
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
    this.owner.onFailure(status, code);
  }
}

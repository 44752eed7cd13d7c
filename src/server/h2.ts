/**
 * HTTP/2 on a TLS listener (ALPN "h2"): a node:http2 server that never
 * listens itself; the TLS front hands it the connections that chose h2.
 * Requests go to the same RequestHandler as HTTP/1.1 through Node's
 * compatibility API. What differs from HTTP/1.1 is settled here or named in
 * the handler: the authority comes as :authority (copied to Host when the
 * client sent no Host), there are no hop-by-hop headers (nghttp2 refuses
 * them), pseudo-headers are never forwarded, and a connection is shared by
 * many streams, so it is never "poisoned" or closed for one bad request.
 */
import {
  constants,
  createServer,
  Http2ServerResponse,
  type Http2Server,
  type Http2ServerRequest,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { RuntimeSettings } from '../snapshot.js';
import type { RequestHandler } from './handler.js';
import { startedUpstreamWork } from './stream-work.js';

/** Streams the gateway itself reset or destroyed: they do not count as the client's resets. */
const SERVER_RESET = new WeakSet<ServerHttp2Stream>();

/** How long a connection cut off for rapid reset is given to write its GOAWAY before it is destroyed. */
const GOAWAY_GRACE_MS = 100;

/** nginx's default; enough for browsers and gRPC clients, small enough to bound one connection's cost. */
const MAX_CONCURRENT_STREAMS = 128;

/**
 * Node's HTTP/2 response with the one member of an HTTP/1 response it lacks
 * and the handler relies on: `destroyed`, which the handler asks before it
 * answers (the client may have reset the stream meanwhile). Without it, an
 * answer was written to a closed stream, which Node 20.19 and 22.13 refuse
 * by throwing ERR_HTTP2_INVALID_STREAM (newer releases ignore it), out of
 * undici's abort and before it closed the upstream connection.
 */
class GatewayHttp2Response extends Http2ServerResponse {
  /** The gateway cuts this stream (slow body, a client not reading, an upstream failing mid-body): not a client reset. */
  override destroy(error?: Error): this {
    SERVER_RESET.add(this.stream);
    return super.destroy(error);
  }
}
// Defined on the prototype: @types/node declares the response a Writable (it is a plain Stream), so a
// getter in the class body would not type-check as overriding a property.
Object.defineProperty(GatewayHttp2Response.prototype, 'destroyed', {
  get(this: Http2ServerResponse): boolean {
    return this.stream.destroyed || this.stream.closed;
  },
});

export class Http2Front {
  readonly server: Http2Server;
  private readonly sessions = new Set<ServerHttp2Session>();
  private idleTimeoutMs: number;
  private requestTimeoutMs: number;
  private maxResets: number;

  constructor(
    private readonly handler: RequestHandler,
    settings: RuntimeSettings,
    private readonly logger: Logger,
    private readonly listener: string,
  ) {
    this.idleTimeoutMs = settings.keepAliveTimeoutMs;
    this.requestTimeoutMs = settings.requestTimeoutMs;
    this.maxResets = settings.http2MaxResets;
    this.server = createServer({
      settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS, maxHeaderListSize: settings.maxHeaderSize, enablePush: false },
      maxSessionMemory: 10,
      peerMaxConcurrentStreams: 100,
      Http2ServerResponse: GatewayHttp2Response,
    });
    this.server.on('request', this.onRequest);
    // Expect: 100-continue is answered by the handler once the pipeline has accepted the request, as for HTTP/1.1.
    this.server.on('checkContinue', this.onRequest);
    this.server.on('session', (session: ServerHttp2Session) => this.track(session));
    // A client that drops its connection (ECONNRESET, EPIPE) is routine on the internet: debug, not a line per disconnect at info.
    this.server.on('sessionError', (err: NodeJS.ErrnoException) => {
      const routine = err.code === 'ECONNRESET' || err.code === 'EPIPE' || err.code === 'ECONNABORTED';
      this.logger[routine ? 'debug' : 'info']({ listener: this.listener, err: err.message, code: err.code }, 'HTTP/2 session error');
    });
  }

  private readonly onRequest = (req: Http2ServerRequest, res: Http2ServerResponse): void => {
    const headers = req.headers;
    const authority = headers[':authority'];
    if (headers.host === undefined && authority !== undefined) headers.host = authority;
    if (!req.stream.endAfterHeaders) {
      req.once('aborted', () => failTruncatedBody(req));
      this.boundBody(req.stream);
    }
    // The handler works on the HTTP/1 request and response shapes; Node's HTTP/2 compatibility
    // objects provide the same members it uses (checked by test/e2e/http2.test.ts).
    this.handler.handle(req as unknown as IncomingMessage, res as unknown as ServerResponse);
  };

  private track(session: ServerHttp2Session): void {
    this.sessions.add(session);
    const open = new Set<ServerHttp2Stream>();
    /** Streams the client reset before their response was complete, less streams the upstream served (never below 0). */
    let debt = 0;
    /** Resets left before the connection's ceiling (refilled with time, never by completions); see resetBudget(). */
    let budget = resetBurst(this.maxResets);
    let refilledAt = performance.now();
    /** Every client reset on this connection, for the log. */
    let total = 0;
    let cut = false;
    const counted = new WeakSet<ServerHttp2Stream>();
    const closed = (stream: ServerHttp2Stream): void => {
      open.delete(stream);
      if (this.maxResets === 0 || cut || session.destroyed || counted.has(stream)) return;
      counted.add(stream);
      if (!clientReset(stream)) {
        // Only a stream the upstream served pays for a reset: a 401 or 404 the gateway answers itself costs
        // the client nothing, and would let it start upstream work on other streams for ever.
        if (debt > 0 && startedUpstreamWork(stream)) debt--;
        return;
      }
      const now = performance.now();
      budget = Math.min(resetBurst(this.maxResets), budget + ((now - refilledAt) / 1000) * resetRefillPerSecond(this.maxResets));
      refilledAt = now;
      budget--;
      total++;
      if (++debt > this.maxResets || budget < 0) {
        cut = true;
        this.cutOff(session, open, total, budget < 0);
      }
    };
    session.on('stream', (stream: ServerHttp2Stream) => {
      // Node emits 'stream' on the next tick: a stream the client reset in the meantime (HEADERS and
      // RST_STREAM read in one go) is counted now, its 'close' may have been emitted already.
      if (stream.closed || stream.destroyed) {
        closed(stream);
        return;
      }
      open.add(stream);
      stream.once('close', () => closed(stream));
    });
    // An idle connection (no stream open) is closed after the keep-alive timeout, as HTTP/1.1 ones are.
    session.setTimeout(this.idleTimeoutMs, () => {
      if (open.size === 0) session.close();
    });
    session.on('error', () => {}); // reported by sessionError; the socket is destroyed by Node
    session.once('close', () => this.sessions.delete(session));
  }

  /**
   * Rapid reset (CVE-2023-44487): a client that opens streams and resets them
   * at once never waits for an answer, so a stream limit does not bound the
   * work it starts. Each reset stream's upstream request is aborted (the
   * handler), but the upstream may go on with it. Every client RST_STREAM of
   * a stream whose response was not complete counts, and a connection is
   * closed with GOAWAY ENHANCE_YOUR_CALM (its open streams end, their
   * upstream requests with them) when
   * - its resets exceed the streams the upstream served by more than
   *   gateway.limits.http2_max_resets (answers the gateway gives itself,
   *   such as a 401, pay for nothing), or
   * - its resets exceed a ceiling that completions do not raise: a burst of
   *   ten times the limit, refilled at a tenth of the limit per second
   *   (1,000 and 10/s by default, nghttp2's own burst), so a client cannot
   *   buy unbounded upstream work with as many cheap upstream requests.
   */
  private cutOff(session: ServerHttp2Session, streams: ReadonlySet<ServerHttp2Stream>, resets: number, ceiling: boolean): void {
    this.logger.warn(
      {
        listener: this.listener,
        client_ip: session.socket?.remoteAddress,
        resets,
        limit: this.maxResets,
        reason: ceiling ? 'ceiling' : 'unpaid',
        event: 'http2.rapid_reset',
      },
      'HTTP/2 client reset too many streams: connection closed',
    );
    this.handler.gatewayEvents({
      type: 'http2.rapid_reset',
      source: 'http2',
      message: 'an HTTP/2 client reset too many streams: connection closed',
      reason: ceiling ? 'ceiling' : 'unpaid',
      details: { listener: this.listener, client_ip: session.socket?.remoteAddress, resets, limit: this.maxResets },
    });
    // GOAWAY first: nghttp2 refuses every newer stream from here on, and a client that honours it closes.
    session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
    // Its open streams end now, their upstream requests with them.
    for (const stream of streams) {
      SERVER_RESET.add(stream);
      if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
    }
    // Then the connection, once the GOAWAY had time to be written (a destroy in the same turn drops it).
    setTimeout(() => session.destroy(), GOAWAY_GRACE_MS).unref();
  }

  /**
   * A stream whose body never ends (no END_STREAM) would stay open for ever,
   * even after its response: counted in flight, holding its config snapshot
   * (and, until the response, an upstream request), keeping its connection
   * from ever being idle. As over HTTP/1.1, the body must end within
   * request_timeout, else the stream is reset (CANCEL).
   */
  private boundBody(stream: ServerHttp2Stream): void {
    const timer = setTimeout(() => {
      if (!stream.closed && !bodyEnded(stream)) {
        SERVER_RESET.add(stream);
        stream.close(constants.NGHTTP2_CANCEL);
      }
    }, this.requestTimeoutMs);
    const stop = () => clearTimeout(timer);
    stream.once('end', stop);
    stream.once('close', stop);
  }

  applySettings(settings: RuntimeSettings): void {
    this.idleTimeoutMs = settings.keepAliveTimeoutMs;
    this.requestTimeoutMs = settings.requestTimeoutMs;
    this.maxResets = settings.http2MaxResets;
    this.server.updateSettings({ maxHeaderListSize: settings.maxHeaderSize });
  }

  /** GOAWAY to every session: no new streams, the open ones finish. */
  closeIdle(): void {
    for (const session of this.sessions) if (!session.closed) session.close();
  }

  destroyAll(): void {
    for (const session of this.sessions) session.destroy();
  }
}

/** Resets a connection may make in a burst, however many streams it completes. */
function resetBurst(maxResets: number): number {
  return maxResets * 10;
}

/** How fast that burst comes back, per second. */
function resetRefillPerSecond(maxResets: number): number {
  return maxResets / 10;
}

/**
 * The client reset this stream (RST_STREAM, or the connection went) before
 * the gateway ended its response: not a stream the gateway reset itself,
 * nor one the client closed with NO_ERROR after a complete response (RFC
 * 9113 §8.1 lets it stop sending a body so).
 */
function clientReset(stream: ServerHttp2Stream): boolean {
  if (SERVER_RESET.has(stream)) return false;
  if (stream.aborted) return true;
  // Closed before the handler saw it (HEADERS + RST_STREAM in one read): nothing was ended, nothing was aborted.
  return stream.rstCode !== undefined && stream.rstCode !== constants.NGHTTP2_NO_ERROR && !stream.writableFinished;
}

/**
 * The client reset the stream (or lost the connection) before its body
 * ended. Node's compatibility request then ends as if the body were whole,
 * and the upstream would receive half a body as a complete request: it is
 * failed instead, so whatever reads it (the upstream exchange, a policy)
 * aborts. The no-op listener keeps an error nobody reads from being thrown.
 */
function failTruncatedBody(req: Http2ServerRequest): void {
  if (req.readableEnded || req.destroyed) return;
  req.on('error', () => {});
  req.destroy(Object.assign(new Error('the HTTP/2 stream was reset before the request body ended'), { code: 'ECONNRESET' }));
}

/** END_STREAM has arrived, even if the body has not all been read yet (readableEnded waits for that). */
function bodyEnded(stream: ServerHttp2Stream): boolean {
  return stream.readableEnded || (stream as { _readableState?: { ended?: boolean } })._readableState?.ended === true;
}

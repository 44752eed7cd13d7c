/**
 * HTTP listeners: a node:http server per configured listener, strict parsing,
 * bounded header size and times, and the socket-level answers (parse errors,
 * CONNECT, upgrades) that never reach the router. An https listener puts a
 * TLS front (src/server/tls/front.ts) before the same HTTP/1.1 server, and
 * an HTTP/2 server (src/server/h2.ts) beside it for clients that choose h2.
 */
import { randomUUID } from 'node:crypto';
import { createServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { ListenerConfig } from '../config/schema.js';
import type { RuntimeSettings } from '../snapshot.js';
import { parseListenAddress } from '../config/ajv.js';
import { errorBody } from '../errors.js';
import type { RequestHandler } from './handler.js';
import { isPoisoned } from './framing.js';
import { CONNECTIONS_CHECKING_INTERVAL_MS, limitConnections, maxConnectionsFor } from './connection-limits.js';
import { PARSER_MAX_HEADERS_COUNT } from './request-limits.js';
import { oneAtATime } from './pipelining.js';
import { Http2Front } from './h2.js';
import { TlsFront } from './tls/front.js';
import type { ListenerTls } from './tls/material.js';
import type { CertificateInventory } from '../telemetry/certificates.js';
import type { EmitGatewayEvent } from '../telemetry/gateway-events.js';
import { SourceLimit } from '../telemetry/source-limit.js';
import { unmapIPv4 } from '../net/ip.js';

export interface Listener {
  readonly name: string;
  readonly config: ListenerConfig;
  readonly server: Server;
  readonly handler: RequestHandler;
  /** Where it actually listens (the real port when the config said 0). */
  readonly address: { host: string; port: number };
  readonly url: string;
  /** For an https listener: the TLS side that accepts connections and feeds `server`. */
  readonly front: TlsFront | undefined;
}

/** What an https listener needs beyond its config: the loaded TLS material. */
export interface ListenerTlsSetup {
  readonly material: ListenerTls;
  readonly baseDir: string;
  readonly inventory: CertificateInventory | undefined;
}

const PARSE_ERRORS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large'],
  HPE_URI_TOO_LONG: [414, 'uri_too_long'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout'],
};

export async function openListener(
  config: ListenerConfig,
  settings: RuntimeSettings,
  handler: RequestHandler,
  logger: Logger,
  tls?: ListenerTlsSetup,
): Promise<Listener> {
  // Pipelined requests are served one at a time per connection (src/server/pipelining.ts).
  const serve = oneAtATime(handler.handle);
  const server = createServer(
    {
      maxHeaderSize: settings.maxHeaderSize,
      requestTimeout: settings.requestTimeoutMs,
      headersTimeout: settings.headersTimeoutMs,
      keepAliveTimeout: settings.keepAliveTimeoutMs,
      // Checked in framing.ts instead, so that requests pipelined behind a refusal are dropped too.
      requireHostHeader: false,
      connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS,
      joinDuplicateHeaders: false,
      insecureHTTPParser: false,
    },
    serve,
  );
  applySettings(server, settings);
  // Expect: 100-continue is answered by the handler once the pipeline has accepted the request.
  server.on('checkContinue', serve);
  const parserRefusals = new ParserRefusals(config.name, handler.gatewayEvents);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => answerClientError(err, socket, logger, config.name, parserRefusals));
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    takeOver(socket);
    if (closeAfterAnswerInProgress(socket)) return;
    writeRaw(socket, 405, 'method_not_allowed', 'CONNECT is not supported.');
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    takeOver(socket);
    if (closeAfterAnswerInProgress(socket)) return;
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    res.once('finish', () => closeWhenFlushed(socket));
    const isWebSocket = req.headers.upgrade?.toLowerCase() === 'websocket' && req.method === 'GET';
    if (isWebSocket) {
      handler.handle(req, res, { socket, head });
      return;
    }
    // Any other upgrade (h2c above all) is never passed on: the request is served as plain HTTP/1.1,
    // on a connection that closes after it, since the parser has let go of the socket.
    const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
    if (hasBody || head.length > 0) {
      writeRaw(socket, 400, 'bad_request', 'An upgrade request cannot carry a body.');
      return;
    }
    handler.handle(req, res);
  });

  const address = parseListenAddress(config.address)!;
  let front: TlsFront | undefined;
  if (!(config.tls && tls)) limitConnections(server, () => handler.settings, logger, config.name);
  if (config.tls && tls) {
    front = new TlsFront({
      listener: config.name,
      config: config.tls,
      baseDir: tls.baseDir,
      material: tls.material,
      http1: server,
      http2: config.tls.http2 ? new Http2Front(handler, settings, logger, config.name) : undefined,
      handshakeTimeoutMs: settings.headersTimeoutMs,
      logger,
      inventory: tls.inventory,
      events: handler.gatewayEvents,
    });
    // Counted where TCP connections arrive, before the (costly) handshake; refused by closing, as no HTTP can be spoken yet.
    limitConnections(front.server, () => handler.settings, logger, config.name, (socket) => socket.destroy());
    front.applySettings(settings);
    try {
      await front.listen(address.port, address.host);
    } catch (err) {
      front.closeAll();
      await front.close();
      throw err;
    }
  } else {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, address.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }
  const bound = (front?.server ?? server).address();
  const port = typeof bound === 'object' && bound ? bound.port : address.port;
  const hostForUrl = address.host.includes(':') ? `[${address.host}]` : address.host;
  return { name: config.name, config, server, handler, address: { host: address.host, port }, url: `${config.protocol}://${hostForUrl}:${port}`, front };
}

/** Timeouts and limits Node lets us change on a running server (a reload applies them). */
export function applySettings(server: Server, settings: RuntimeSettings): void {
  server.requestTimeout = settings.requestTimeoutMs;
  server.headersTimeout = settings.headersTimeoutMs;
  server.keepAliveTimeout = settings.keepAliveTimeoutMs;
  server.maxRequestsPerSocket = settings.maxRequestsPerConnection;
  server.maxHeadersCount = PARSER_MAX_HEADERS_COUNT;
  server.maxConnections = maxConnectionsFor(settings);
}

/** applySettings for every server of a listener (the HTTP/2 one too). */
export function applyListenerSettings(listener: Listener, settings: RuntimeSettings): void {
  applySettings(listener.server, settings);
  listener.front?.applySettings(settings);
}

/** The event for a request the parser refused: one per client address at most 5 per 10 s (source-limit.ts). */
class ParserRefusals {
  private readonly limit = new SourceLimit();

  constructor(
    private readonly listener: string,
    private readonly emit: EmitGatewayEvent,
  ) {}

  refused(socket: Duplex, code: string, errorCode: string): void {
    const address = (socket as Socket).remoteAddress;
    const ip = address === undefined ? 'unknown' : unmapIPv4(address);
    const suppressed = this.limit.take(ip);
    if (suppressed === undefined) return;
    this.emit({
      type: 'request.malformed',
      source: 'listener',
      message: `the HTTP parser refused a request (${errorCode})`,
      reason: errorCode,
      details: { listener: this.listener, parser_code: code, client_ip: ip, suppressed },
    });
  }
}

function answerClientError(err: NodeJS.ErrnoException, socket: Duplex, logger: Logger, listener: string, refusals: ParserRefusals): void {
  const code = err.code ?? 'unknown';
  if (code === 'ECONNRESET' || !socket.writable || isPoisoned(socket)) {
    socket.destroy();
    return;
  }
  const [status, errorCode] = PARSE_ERRORS[code] ?? [400, 'bad_request'];
  logger.info({ listener, code, reason: (err as { reason?: string }).reason }, 'refused malformed request');
  refusals.refused(socket, code, errorCode);
  writeRaw(socket, status, errorCode, undefined);
}

/** A complete response written straight to a socket that has no HTTP response object, then closed. */
function writeRaw(socket: Duplex, status: number, code: string, message: string | undefined): void {
  const body = errorBody(status, code, message ?? 'The request could not be parsed.', randomUUID());
  socket.write(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
  closeWhenFlushed(socket);
}

/**
 * Node lets go of a socket once it emits 'upgrade' or 'connect': its error
 * and timeout handlers leave with the parser. An 'error' nobody listens to
 * (a client's RST) would be thrown out of the event loop and stop the
 * process, so such a socket gets a listener before anything else happens.
 */
function takeOver(socket: Duplex): void {
  socket.on('error', () => socket.destroy());
}

/**
 * An Upgrade or CONNECT pipelined behind a request still being answered: the
 * socket belongs to that answer (assigning it to another response throws,
 * out of the parser's callback, which would stop the process), and what is
 * written now would land in the middle of it. The request is not served; the
 * connection closes once the answer in progress is out.
 */
function closeAfterAnswerInProgress(socket: Duplex): boolean {
  const inProgress = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!inProgress) return false;
  inProgress.once('close', () => closeWhenFlushed(socket));
  return true;
}

/**
 * Ends the socket once what was written is out, and closes it whole: a bare
 * end() leaves it half-open for as long as the client likes, and no timeout
 * watches a socket Node has let go of.
 */
function closeWhenFlushed(socket: Duplex): void {
  socket.end(() => socket.destroy());
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
};

/**
 * The admin listener: a small HTTP server apart from the traffic listeners,
 * so nothing on it is ever reachable through a route. It answers only the
 * routes registered on it (exact paths, GET and HEAD for now; the admin API
 * adds its own), reads no request body, and has tight limits of its own:
 * small headers, short timeouts, few connections.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { parseListenAddress } from '../config/ajv.js';

export type AdminHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

const LIMITS = {
  maxHeaderSize: 8 * 1024,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  /** Prometheus, a probe, an operator: a handful is plenty. */
  maxConnections: 64,
  /**
   * Per peer address: one client holding every slot with slow or idle
   * connections would keep the scraper and the probes out (blinding the
   * monitoring during an attack is worth something to an attacker).
   */
  maxConnectionsPerPeer: 8,
  /** How often Node enforces headersTimeout/requestTimeout (its default, 30 s, made the 5 s headers limit a 35 s one). */
  checkIntervalMs: 1_000,
};

/** Answers with a short JSON body; the admin listener never echoes anything of the request. */
export function answer(res: ServerResponse, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export class AdminServer {
  /** path → method → handler. */
  private readonly routes = new Map<string, Map<string, AdminHandler>>();

  private constructor(
    private readonly server: Server,
    /** As configured ("127.0.0.1:9901"): a reload that keeps it keeps this server. */
    readonly address: string,
    private readonly logger: Logger,
  ) {}

  /** Listens on `address` (host:port); rejects when it cannot (in use, not permitted). */
  static async open(address: string, logger: Logger): Promise<AdminServer> {
    const parsed = parseListenAddress(address);
    if (!parsed) throw new Error(`admin.address: not host:port: ${address}`);
    const server = createServer({
      maxHeaderSize: LIMITS.maxHeaderSize,
      requestTimeout: LIMITS.requestTimeoutMs,
      headersTimeout: LIMITS.headersTimeoutMs,
      keepAliveTimeout: LIMITS.keepAliveTimeoutMs,
      connectionsCheckingInterval: LIMITS.checkIntervalMs,
    });
    server.maxConnections = LIMITS.maxConnections;
    const perPeer = new Map<string, number>();
    server.on('connection', (socket) => {
      const peer = socket.remoteAddress ?? '';
      const count = (perPeer.get(peer) ?? 0) + 1;
      if (count > LIMITS.maxConnectionsPerPeer) {
        socket.destroy();
        return;
      }
      perPeer.set(peer, count);
      socket.once('close', () => {
        const left = (perPeer.get(peer) ?? 1) - 1;
        if (left <= 0) perPeer.delete(peer);
        else perPeer.set(peer, left);
      });
    });
    const admin = new AdminServer(server, address, logger);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => admin.handle(req, res));
    server.on('clientError', (_err, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new Error(`admin listener on ${address}: ${err.message}`, { cause: err })));
      server.listen(parsed.port, parsed.host, () => {
        server.removeAllListeners('error');
        resolve();
      });
    });
    server.on('error', (err) => logger.error({ err }, 'admin listener error'));
    return admin;
  }

  /** Serves `method path` (GET routes answer HEAD too). */
  route(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, handler: AdminHandler): void {
    let methods = this.routes.get(path);
    if (!methods) this.routes.set(path, (methods = new Map<string, AdminHandler>()));
    methods.set(method, handler);
  }

  get url(): string {
    const a = this.server.address() as AddressInfo;
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    res.setHeader('cache-control', 'no-store');
    res.setHeader('x-content-type-options', 'nosniff');
    // Nothing here reads a body: a client that sent one gets its answer on a connection that then closes.
    if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined) res.shouldKeepAlive = false;
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const methods = this.routes.get(q === -1 ? target : target.slice(0, q));
    if (!methods) return answer(res, 404, { error: 'not_found' });
    const handler = methods.get(req.method === 'HEAD' ? 'GET' : (req.method ?? ''));
    if (!handler) {
      const allow = [...methods.keys()].flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]));
      return answer(res, 405, { error: 'method_not_allowed' }, { allow: allow.join(', ') });
    }
    const failed = (err: unknown) => {
      this.logger.error({ err, path: req.url }, 'admin request failed');
      if (!res.headersSent) answer(res, 500, { error: 'internal_error' });
      else res.destroy();
    };
    try {
      const done = handler(req, res);
      if (done instanceof Promise) done.catch(failed);
    } catch (err) {
      failed(err);
    }
  }
}

/**
 * The admin listener: a small HTTP server apart from the traffic listeners,
 * so nothing on it is ever reachable through a route. It answers only the
 * routes registered on it (exact paths, or paths with {param} segments: the
 * admin API's), reads a body only when a handler asks (readBody, bounded),
 * and has tight limits of its own: small headers, short timeouts, few
 * connections.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { constants as cryptoConstants } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { parseListenAddress } from '../config/ajv.js';

export type AdminHandler = (req: IncomingMessage, res: ServerResponse, params: Readonly<Record<string, string>>) => void | Promise<void>;
export type AdminMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** A route path with {param} segments, split once. */
interface Pattern {
  readonly path: string;
  readonly segments: readonly string[];
  readonly methods: Map<string, AdminHandler>;
}

/** The largest request body any admin route reads (a whole config document is at most this). */
export const MAX_ADMIN_BODY = 4 * 1024 * 1024;

export class BodyTooLarge extends Error {}

/** HTTPS on the admin listener (admin.tls), as PEM text. */
export interface AdminTls {
  readonly cert: string;
  readonly key: string;
  readonly passphrase?: string;
  /** With it, a client certificate is asked for (not required: token clients have none) and checked against it. */
  readonly ca?: string;
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
}

function tlsOptions(tls: AdminTls) {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.passphrase === undefined ? {} : { passphrase: tls.passphrase }),
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    // Asked for, never required here: the API decides per request (a token, or a certificate it maps to a role).
    requestCert: tls.ca !== undefined,
    rejectUnauthorized: false,
    minVersion: tls.minVersion,
    // TLS 1.2 renegotiation would let a client show a trusted certificate, then another: Node keeps
    // `authorized` from the first handshake while the peer certificate read is the second's.
    secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION | cryptoConstants.SSL_OP_NO_COMPRESSION,
  };
}

/** Reads the request body, refusing past `limit` bytes (413 by the caller); the socket is not kept alive after a refusal. */
export async function readBody(req: IncomingMessage, limit = MAX_ADMIN_BODY): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new BodyTooLarge(`body larger than ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLarge(`body larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

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
  /** Paths with {param} segments, in the order registered. */
  private readonly patterns: Pattern[] = [];

  private constructor(
    private readonly server: Server | HttpsServer,
    /** As configured ("127.0.0.1:9901"): a reload that keeps it keeps this server. */
    readonly address: string,
    private readonly logger: Logger,
    private tls: AdminTls | undefined,
  ) {}

  /** Listens on `address` (host:port), over HTTPS with `tls`; rejects when it cannot (in use, not permitted, bad TLS material). */
  static async open(address: string, logger: Logger, tls?: AdminTls): Promise<AdminServer> {
    const parsed = parseListenAddress(address);
    if (!parsed) throw new Error(`admin.address: not host:port: ${address}`);
    const limits = {
      maxHeaderSize: LIMITS.maxHeaderSize,
      requestTimeout: LIMITS.requestTimeoutMs,
      headersTimeout: LIMITS.headersTimeoutMs,
      keepAliveTimeout: LIMITS.keepAliveTimeoutMs,
      connectionsCheckingInterval: LIMITS.checkIntervalMs,
    };
    const server = tls ? createHttpsServer({ ...limits, ...tlsOptions(tls) }) : createServer(limits);
    server.maxConnections = LIMITS.maxConnections;
    const perPeer = new Map<string, number>();
    server.on('connection', (socket: Socket) => {
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
    const admin = new AdminServer(server, address, logger, tls);
    server.on('secureConnection', (socket: TLSSocket) => admin.noteHandshake(socket));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => admin.handle(req, res));
    server.on('clientError', (_err: Error, socket: Duplex) => socket.destroy());
    // A failed handshake (an old TLS version, a plain-HTTP client): dropped, as a bad request is.
    server.on('tlsClientError', (_err: Error, socket: Duplex) => socket.destroy());
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

  /** Serves `method path` (GET routes answer HEAD too); `{name}` segments match one segment each. */
  route(method: AdminMethod, path: string, handler: AdminHandler): void {
    if (path.includes('{')) {
      let pattern = this.patterns.find((p) => p.path === path);
      if (!pattern) this.patterns.push((pattern = { path, segments: path.split('/'), methods: new Map() }));
      pattern.methods.set(method, handler);
      return;
    }
    let methods = this.routes.get(path);
    if (!methods) this.routes.set(path, (methods = new Map<string, AdminHandler>()));
    methods.set(method, handler);
  }

  /** Whether it serves HTTPS. */
  get secure(): boolean {
    return 'setSecureContext' in this.server;
  }

  /** Whether it asks for client certificates (admin.tls.client_ca): a server option, which new TLS material cannot change. */
  get asksForCertificates(): boolean {
    return this.tls?.ca !== undefined;
  }

  /**
   * New TLS material for the connections to come (a renewed certificate, another client CA). Open
   * connections keep the handshake they made, so when the client CA changes they are closed: one
   * verified against a CA no longer trusted would otherwise stay an admin for as long as it is kept busy.
   */
  updateTls(tls: AdminTls): void {
    if ('setSecureContext' in this.server) this.server.setSecureContext(tlsOptions(tls));
    if (this.tls?.ca !== tls.ca) {
      this.caGeneration++;
      this.server.closeIdleConnections();
    }
    this.tls = tls;
  }

  /** Which client CA each TLS connection was verified against (a count of client_ca changes). */
  private caGeneration = 0;
  private readonly verifiedUnder = new WeakMap<object, number>();

  private noteHandshake(socket: object): void {
    this.verifiedUnder.set(socket, this.caGeneration);
  }

  /**
   * A connection still busy when the client CA changed: its certificate was checked against a CA no
   * longer configured, so it is no longer taken as verified (a request on it may still carry a token),
   * and it closes after this answer.
   */
  private dropStaleVerification(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket as Partial<TLSSocket>;
    const under = this.verifiedUnder.get(req.socket);
    if (under === undefined || under === this.caGeneration) return;
    socket.authorized = false;
    res.shouldKeepAlive = false;
  }

  get url(): string {
    const a = this.server.address() as AddressInfo;
    return `${this.secure ? 'https' : 'http'}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** The handlers of a path: an exact one first, then the first pattern that matches. */
  private find(path: string): { methods: Map<string, AdminHandler>; params: Record<string, string> } | undefined {
    const exact = this.routes.get(path);
    if (exact) return { methods: exact, params: {} };
    const segments = path.split('/');
    for (const pattern of this.patterns) {
      if (pattern.segments.length !== segments.length) continue;
      const params: Record<string, string> = {};
      const matched = pattern.segments.every((seg, i) => {
        const actual = segments[i]!;
        if (!seg.startsWith('{')) return seg === actual;
        let value: string;
        try {
          value = decodeURIComponent(actual);
        } catch {
          return false;
        }
        if (value === '' || value.length > 256 || value.includes('/')) return false;
        params[seg.slice(1, -1)] = value;
        return true;
      });
      if (matched) return { methods: pattern.methods, params };
    }
    return undefined;
  }

  /** Every route served, as `METHOD path` (the OpenAPI test compares them with the document). */
  served(): string[] {
    const out: string[] = [];
    for (const [path, methods] of this.routes) for (const m of methods.keys()) out.push(`${m} ${path}`);
    for (const p of this.patterns) for (const m of p.methods.keys()) out.push(`${m} ${p.path}`);
    return out;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.dropStaleVerification(req, res);
    res.setHeader('cache-control', 'no-store');
    res.setHeader('x-content-type-options', 'nosniff');
    // GET, HEAD and DELETE read no body: a client that sent one gets its answer on a connection that then closes.
    const bodyless = req.method === 'GET' || req.method === 'HEAD' || req.method === 'DELETE';
    if (bodyless && (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined)) res.shouldKeepAlive = false;
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const found = this.find(q === -1 ? target : target.slice(0, q));
    if (!found) return answer(res, 404, { error: 'not_found' });
    const { methods, params } = found;
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
      const done = handler(req, res, params);
      if (done instanceof Promise) done.catch(failed);
    } catch (err) {
      failed(err);
    }
  }
}

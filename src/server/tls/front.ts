/**
 * The TLS side of an https listener: accepts TCP connections, chooses the
 * certificate by SNI, checks client certificates, and hands each finished
 * handshake to the HTTP/1.1 server (the same strict one plain listeners use)
 * or, when the client chose h2 by ALPN, to the HTTP/2 server. Certificates
 * are swapped in place (watch or reload): new handshakes get the new ones,
 * established connections keep going.
 */
import { randomBytes } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { createServer, type SecureContext, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { RuntimeSettings } from '../../snapshot.js';
import type { ListenerTlsConfig } from '../../config/tls-schema.js';
import { parseDuration } from '../../config/units.js';
import type { CertificateInventory } from '../../telemetry/certificates.js';
import { maxConnectionsFor } from '../connection-limits.js';
import type { Http2Front } from '../h2.js';
import { FileWatcher } from './cert-watch.js';
import { CertificateRenewer } from './renewer.js';
import { loadListenerTls, type ListenerTls } from './material.js';
import { readClientCertificate } from './peer.js';
import type { EmitGatewayEvent } from '../../telemetry/gateway-events.js';
import { SourceLimit } from '../../telemetry/source-limit.js';
import { unmapIPv4 } from '../../net/ip.js';

export interface TlsFrontOptions {
  readonly listener: string;
  readonly config: ListenerTlsConfig;
  /** Where relative file names in `config` are resolved from. */
  readonly baseDir: string;
  readonly material: ListenerTls;
  readonly http1: HttpServer;
  readonly http2: Http2Front | undefined;
  readonly handshakeTimeoutMs: number;
  readonly logger: Logger;
  readonly inventory: CertificateInventory | undefined;
  /** Where handshake failures go as events (tls.handshake_failed), at most 5 per client address per 10 s. */
  readonly events?: EmitGatewayEvent;
  /** How often watched files are polled (tests shorten it). */
  readonly watchIntervalMs?: number;
}

export class TlsFront {
  readonly server: TlsServer;
  private material: ListenerTls;
  private config: ListenerTlsConfig;
  private baseDir: string;
  private readonly sockets = new Set<Socket>();
  private ticketKeys: Buffer | undefined;
  private ticketTimer: NodeJS.Timeout | undefined;
  private readonly watcher: FileWatcher;
  private readonly renewer: CertificateRenewer;
  private readonly failures: FailureLog;
  private readonly eventLimit = new SourceLimit();
  private closed = false;

  constructor(private readonly options: TlsFrontOptions) {
    const { material, config } = options;
    this.material = material;
    this.config = config;
    this.baseDir = options.baseDir;
    this.failures = new FailureLog(options.logger, options.listener);
    this.server = createServer({
      ...material.serverContext,
      SNICallback: (servername, callback) => this.selectContext(servername, callback),
      ALPNProtocols: config.http2 && options.http2 ? ['h2', 'http/1.1'] : ['http/1.1'],
      requestCert: material.clientAuth !== 'none',
      // Client certificates are judged in accept(), so that every refusal is logged with its reason
      // (Node would otherwise drop a connection with an untrusted certificate without a word).
      rejectUnauthorized: false,
      handshakeTimeout: options.handshakeTimeoutMs,
    });
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.server.on('secureConnection', (socket: TLSSocket) => this.accept(socket));
    this.server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => this.handshakeFailed(err, socket));
    // The HTTP/1.1 server never listens: this starts its header and request timeouts and its
    // connection tracking, which Node otherwise starts when it begins listening.
    options.http1.emit('listening');
    if (config.session_tickets) {
      this.rotateTicketKeys();
      this.ticketTimer = setInterval(() => this.rotateTicketKeys(), parseDuration(config.ticket_key_rotation));
      this.ticketTimer.unref();
    }
    this.watcher = new FileWatcher(() => this.reloadFromFiles(), options.watchIntervalMs);
    if (config.watch) this.watcher.watch(material.files);
    this.renewer = new CertificateRenewer(options.listener, options.logger, () => this.reloadFromFiles(), options.events);
    this.renewer.plan(material.renewals);
    this.report(material);
  }

  /** The certificates served now (the inventory's entry for this listener, put back when a replacement is rolled back). */
  get certificates(): ListenerTls['certificates'] {
    return this.material.certificates;
  }

  /** Serves new material: the next handshake uses it, open connections are untouched. */
  update(material: ListenerTls, config: ListenerTlsConfig, baseDir: string): void {
    if (material.digest === this.material.digest) return;
    const clientTrustChanged = this.material.clientAuth !== 'none' && !sameClientTrust(this.material, material);
    this.material = material;
    this.config = config;
    this.baseDir = baseDir;
    this.server.setSecureContext(material.serverContext);
    // A session ticket carries the client's verification result: after the client CA or CRL changed,
    // old tickets must not resume. Otherwise keep the keys, so clients keep resuming.
    if (this.ticketKeys) {
      if (clientTrustChanged) this.rotateTicketKeys();
      else this.server.setTicketKeys(this.ticketKeys);
    }
    this.watcher.watch(config.watch ? material.files : []);
    this.renewer.plan(material.renewals);
    this.options.logger.info(
      { listener: this.options.listener, certificates: material.certificates.filter((c) => c.role === 'server').map((c) => ({ hosts: c.hosts, serial: c.serial, not_after: c.notAfter.toISOString() })) },
      'TLS certificates reloaded',
    );
    this.report(material);
  }

  /** A watched file changed: load everything again; on any problem keep what is serving. */
  private reloadFromFiles(): void {
    if (this.closed) return;
    const problems: string[] = [];
    const next = loadListenerTls(this.options.listener, this.config, this.baseDir, (path, message) => problems.push(`${path.join('.')}: ${message}`));
    if (!next) {
      this.options.logger.error({ listener: this.options.listener, problems }, 'TLS certificate reload refused: the previous certificates keep serving');
      return;
    }
    this.update(next, this.config, this.baseDir);
  }

  private report(material: ListenerTls): void {
    for (const warning of material.warnings) this.options.logger.warn({ listener: this.options.listener, problem: warning }, 'TLS material problem');
    this.options.inventory?.set(`listener:${this.options.listener}`, material.certificates);
  }

  private selectContext(servername: string, callback: (err: Error | null, ctx?: SecureContext) => void): void {
    const context = this.material.sni.lookup(servername);
    if (context) callback(null, context);
    else callback(Object.assign(new Error(`no certificate for server name "${servername}"`), { code: 'ERR_UNKNOWN_SNI' }));
  }

  private accept(socket: TLSSocket): void {
    if (this.material.clientAuth !== 'none') {
      const identity = readClientCertificate(socket);
      if (this.material.clientAuth === 'required' && !identity?.verified) {
        this.failures.log('warn', 'client certificate refused', socket, identity ? identity.error! : 'no client certificate', {
          subject: identity?.subject,
          serial: identity?.serial,
        });
        socket.destroy();
        return;
      }
    }
    if (socket.alpnProtocol === 'h2' && this.options.http2) this.options.http2.server.emit('connection', socket);
    else this.options.http1.emit('connection', socket);
  }

  private handshakeFailed(err: NodeJS.ErrnoException, socket: TLSSocket): void {
    let reason = err.code ?? err.message;
    if (this.config.require_sni && !socket.servername && /NO_SHARED_CIPHER|NO_SUITABLE|SSLV3_ALERT_HANDSHAKE_FAILURE|HANDSHAKE_FAILURE/i.test(reason)) {
      reason = 'no SNI server name (require_sni is on)';
    }
    this.failures.log('info', 'TLS handshake failed', socket, reason, { detail: err.message, servername: socket.servername || undefined });
    this.emitFailure(socket, reason, err.message);
    socket.destroy();
  }

  private emitFailure(socket: TLSSocket, reason: string, detail: string): void {
    const emit = this.options.events;
    if (!emit) return;
    const ip = peerAddress(socket);
    const suppressed = this.eventLimit.take(ip);
    if (suppressed === undefined) return;
    emit({
      type: 'tls.handshake_failed',
      source: 'tls',
      message: `TLS handshake failed on listener ${this.options.listener}`,
      reason: handshakeReason(reason),
      details: { listener: this.options.listener, client_ip: ip, sni: socket.servername || undefined, detail, suppressed },
    });
  }

  /**
   * Keys shared by every worker of a node, so that a session resumes on
   * whichever worker the connection lands (src/cluster/workers/): from now on
   * the supervisor rotates them, not this front's own timer.
   */
  useTicketKeys(keys: Buffer): void {
    if (!this.ticketKeys) return;
    clearInterval(this.ticketTimer);
    this.ticketTimer = undefined;
    this.ticketKeys = keys;
    this.server.setTicketKeys(keys);
  }

  private rotateTicketKeys(): void {
    this.ticketKeys = randomBytes(48);
    this.server.setTicketKeys(this.ticketKeys);
  }

  applySettings(settings: RuntimeSettings): void {
    this.server.maxConnections = maxConnectionsFor(settings);
    this.options.http2?.applySettings(settings);
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** Stops accepting; resolves once every connection is gone. */
  close(): Promise<void> {
    this.closed = true;
    this.watcher.close();
    this.renewer.close();
    clearInterval(this.ticketTimer);
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Closes what is idle: kept-alive HTTP/1.1 connections, and HTTP/2 sessions after their open streams. */
  closeIdle(): void {
    this.options.http1.closeIdleConnections();
    this.options.http2?.closeIdle();
  }

  /** Cuts every connection still open, handshaking or not. */
  closeAll(): void {
    this.options.http1.closeAllConnections();
    this.options.http2?.destroyAll();
    for (const socket of this.sockets) socket.destroy();
    // Stops the HTTP/1.1 server's timeout checks (it was never listening, so close() reports that; ignored).
    this.options.http1.close(() => {});
  }
}

/**
 * The client's address on a socket whose handshake failed. The TLS socket has
 * already let go of its handle then (remoteAddress is undefined on Node 20 to
 * 24), but the TCP socket it wraps (_parent, set by tls.Server for every
 * connection) still knows it.
 */
function peerAddress(socket: TLSSocket): string {
  const address = socket.remoteAddress ?? (socket as TLSSocket & { _parent?: Socket })._parent?.remoteAddress;
  return address === undefined ? 'unknown' : unmapIPv4(address);
}

/**
 * OpenSSL's and Node's codes as a stable reason: what a SIEM rule keys on
 * (a scanner's "no_shared_cipher", an expired client certificate, a probe
 * for a name the gateway does not serve). Codes not named here pass as
 * themselves, lower-cased, when they are tokens.
 */
function handshakeReason(reason: string): string {
  if (reason.startsWith('no SNI')) return 'no_sni';
  if (reason === 'ERR_UNKNOWN_SNI') return 'unknown_sni';
  if (/NO_SHARED_CIPHER|NO_SUITABLE_SIGNATURE|NO_SHARED_GROUP/i.test(reason)) return 'no_shared_cipher';
  if (/UNSUPPORTED_PROTOCOL|VERSION_TOO_LOW|TLSV1_ALERT_PROTOCOL_VERSION/i.test(reason)) return 'unsupported_protocol';
  if (/HTTP_REQUEST|WRONG_VERSION_NUMBER/i.test(reason)) return 'not_tls';
  if (/CERTIFICATE|CERT_/i.test(reason)) return 'client_certificate';
  if (/ETIMEDOUT|TIMEOUT/i.test(reason)) return 'timeout';
  if (/ECONNRESET/i.test(reason)) return 'reset';
  const token = reason.toLowerCase().replace(/^err_ssl_/, '');
  return /^[a-z0-9_]{1,64}$/.test(token) ? token : 'handshake_failed';
}

function sameClientTrust(a: ListenerTls, b: ListenerTls): boolean {
  const trust = (m: ListenerTls) => JSON.stringify(m.certificates.filter((c) => c.role === 'client-ca').map((c) => c.fingerprint256)) + String(m.serverContext.crl);
  return a.clientAuth === b.clientAuth && trust(a) === trust(b);
}

/**
 * Handshake failures are routine on a public port (scanners, old clients):
 * each is logged with its reason, at most 20 per 10 s per listener, with a
 * count of the rest, so a flood cannot flood the log.
 */
class FailureLog {
  private windowStart = 0;
  private count = 0;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly listener: string,
  ) {}

  log(level: 'info' | 'warn', msg: string, socket: TLSSocket, reason: string, extra: Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.windowStart > 10_000) {
      if (this.suppressed > 0) this.logger.warn({ listener: this.listener, suppressed: this.suppressed }, 'more TLS handshake failures were not logged');
      this.windowStart = now;
      this.count = 0;
      this.suppressed = 0;
    }
    if (++this.count > 20) {
      this.suppressed++;
      return;
    }
    this.logger[level]({ listener: this.listener, client: peerAddress(socket), reason, ...extra }, msg);
  }
}

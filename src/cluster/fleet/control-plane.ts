/**
 * The control plane: a gateway that also serves its config to data planes,
 * on its own fleet listener (mutual TLS, certificates from the fleet CA).
 *
 * Every successful reload of its gateway (file change, signal, admin API)
 * becomes a new pushed version, handed at once to every data plane waiting
 * in a long poll (protocol.ts). Data planes enrol here with a one-time token
 * (tokens.ts) and report their state; the latest report of each is kept.
 */
import { readFileSync } from 'node:fs';
import type { webcrypto } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP, type Socket } from 'node:net';
import { resolve } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { CertificateAuthority } from '../../ca/authority.js';
import { parseListenAddress } from '../../config/ajv.js';
import type { FleetConfig } from '../../config/fleet.js';
import { parseDuration } from '../../config/units.js';
import type { Gateway } from '../../gateway.js';
import { gatewayEvents, type EmitGatewayEvent } from '../../telemetry/gateway-events.js';
import { forDataPlanes, type Pushed } from './document.js';
import { CONTROL_PLANE_ID, MAX_REQUEST_BYTES, nodeId, nodeNameOf, PATHS, type Credentials, type NodeReport } from './protocol.js';
import { consumeToken } from './tokens.js';
import { requestedKey } from './csr.js';
import { readBody } from './http.js';

/** The control plane's own certificate lives this long, and is reissued in place past half of it. */
const SERVER_CERT_TTL_MS = 30 * 86_400_000;
const SERVER_CERT_CHECK_MS = 3_600_000;
/** At most one refused-peer event per client address this often: a misconfigured node retries every few seconds. */
const PEER_EVENT_EVERY_MS = 60_000;

export interface NodeState {
  readonly name: string;
  readonly serial: string;
  /** When the last report came (ms since the epoch). */
  readonly seen: number;
  readonly report: NodeReport;
}

interface Version extends Pushed {
  /** Counts the versions this control plane served since it started (1 is the one it started with). */
  readonly revision: number;
  /** The text as UTF-8, encoded once for every node it is sent to. */
  readonly body: Buffer;
}

function version(pushed: Pushed, revision: number): Version {
  return { ...pushed, revision, body: Buffer.from(pushed.text, 'utf8') };
}

export class ControlPlane {
  private version: Version;
  private readonly waiting = new Set<() => void>();
  private readonly states = new Map<string, NodeState>();
  private readonly peerEvents = new Map<string, number>();
  private readonly events: EmitGatewayEvent;
  private readonly unsubscribe: () => void;
  private readonly timer: NodeJS.Timeout;
  private serverNotAfter = 0;
  private closed = false;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly gateway: Gateway,
    private readonly authority: CertificateAuthority,
    private readonly server: Server,
    /** The fleet section at start: the listener, the CA, the state folder and max_nodes are read from it once. */
    private readonly initial: FleetConfig,
    private readonly stateDir: string,
    /** https://host:port of the fleet listener. */
    readonly url: string,
  ) {
    this.events = gatewayEvents(gateway.telemetry.events);
    // Every connection from its first byte, TLS handshake included: closeAllConnections() sees only those
    // already speaking HTTP, and one still in its handshake at close would then keep the server open for
    // as long as its data plane keeps polling on it.
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.version = version(forDataPlanes(gateway.source.text), 1);
    // A new version for every reload the gateway accepted, whoever asked for it.
    this.unsubscribe = gateway.telemetry.events.subscribe((event) => {
      if (event.type === 'config.reloaded') this.publish();
    });
    this.timer = setInterval(() => void this.renewServerCertificate(), SERVER_CERT_CHECK_MS);
    this.timer.unref();
  }

  /** Opens the fleet listener of a gateway whose config has `fleet.role: control_plane`. */
  static async start(gateway: Gateway): Promise<ControlPlane> {
    const config = gateway.snapshot.config;
    const settings = config.fleet;
    const baseDir = gateway.snapshot.baseDir;
    if (settings.role !== 'control_plane' || !settings.ca?.key || !settings.address || !settings.state_dir) throw new Error('fleet.role is not control_plane');
    const caPem = readFileSync(resolve(baseDir, settings.ca.cert), 'utf8');
    const authority = await CertificateAuthority.load(caPem, readFileSync(resolve(baseDir, settings.ca.key)), settings.ca.key_passphrase);
    const own = await issueServerCertificate(authority, settings.server_names);
    const server = createServer({
      key: own.keyPem,
      cert: own.certPem,
      ca: caPem,
      // Asked for, not required: enrolment comes without one. Every other path checks it (authenticate()).
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.3',
    });
    const pollMs = parseDuration(settings.poll_timeout);
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    // Longer than the data planes' pause between polls, so that a poll reuses its connection.
    server.keepAliveTimeout = pollMs + 10_000;
    server.maxConnections = settings.max_nodes + 16;
    server.maxHeadersCount = 50;
    const address = parseListenAddress(settings.address)!;
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(address.port, address.host, () => {
        server.off('error', fail);
        done();
      });
    });
    const port = (server.address() as { port: number }).port;
    const host = isIP(address.host) === 6 ? `[${address.host}]` : address.host;
    const plane = new ControlPlane(gateway, authority, server, settings, resolve(baseDir, settings.state_dir), `https://${host}:${port}`);
    plane.serverNotAfter = own.notAfter.getTime();
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      plane.handle(req, res).catch((err: unknown) => {
        gateway.logger.error({ err: (err as Error).message }, 'fleet: request failed');
        if (!res.headersSent) reply(res, 500, { error: 'internal error' });
        else res.destroy();
      });
    });
    // What the admin API (GET /api/v1/fleet, the dashboard) shows: the version served and every node's latest report.
    gateway.fleetView = { role: 'control_plane', current: () => plane.current, nodes: () => plane.nodes().map((n) => ({ ...n.report, name: n.name, seen: n.seen })) };
    gateway.logger.info({ url: plane.url, hash: plane.version.hash.slice(0, 12) }, 'fleet: control plane listening');
    return plane;
  }

  /** The version data planes are given now. */
  get current(): { hash: string; revision: number } {
    return { hash: this.version.hash, revision: this.version.revision };
  }

  /** The fleet section running now: node_certificate_ttl, poll_timeout and revoked follow reloads. */
  private get settings(): FleetConfig {
    return this.gateway.snapshot.config.fleet;
  }

  /** The latest report of every data plane that reported. */
  nodes(): NodeState[] {
    return [...this.states.values()];
  }

  /** Makes the gateway's running config the version data planes get, and wakes every waiting poll. */
  private publish(): void {
    let next: Pushed;
    try {
      next = forDataPlanes(this.gateway.source.text);
    } catch (err) {
      this.gateway.logger.error({ err: (err as Error).message }, 'fleet: the running config could not be prepared for data planes; they keep the previous version');
      return;
    }
    if (next.hash === this.version.hash) return;
    this.version = version(next, this.version.revision + 1);
    this.gateway.logger.info({ hash: next.hash.slice(0, 12), revision: this.version.revision, waiting: this.waiting.size }, 'fleet: new config version pushed');
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const wake of waiting) wake();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (path === PATHS.enrol) {
      if (req.method !== 'POST') return reply(res, 405, { error: 'POST only' });
      return this.enrol(req, res);
    }
    const peer = this.authenticate(req);
    if (!peer) return reply(res, 403, { error: 'a node certificate from the fleet CA is required' });
    if (path === PATHS.config && req.method === 'GET') return this.serveConfig(req, res);
    if (path === PATHS.report && req.method === 'POST') return this.takeReport(req, res, peer);
    if (path === PATHS.renew && req.method === 'POST') {
      let key: webcrypto.CryptoKey;
      try {
        key = await requestedKey((JSON.parse((await readBody(req, MAX_REQUEST_BYTES)).toString('utf8')) as { csr?: unknown }).csr);
      } catch (err) {
        return reply(res, 400, { error: (err as Error).message });
      }
      return reply(res, 200, await this.credentials(peer.name, key));
    }
    reply(res, 404, { error: 'not found' });
  }

  /** The node a request comes from, or undefined (after an event) when its certificate is not an acceptable node certificate. */
  private authenticate(req: IncomingMessage): { name: string; serial: string } | undefined {
    const socket = req.socket as TLSSocket;
    const cert = socket.getPeerCertificate();
    let reason: string | undefined;
    let name: string | undefined;
    const serial = cert?.serialNumber?.toUpperCase();
    if (!cert || !cert.raw) reason = 'no_certificate';
    else if (!socket.authorized) reason = 'untrusted';
    else if ((name = nodeNameOf(cert)) === undefined) reason = 'not_a_node';
    else if (this.settings.revoked.some((s) => s.toUpperCase() === serial)) reason = 'revoked';
    if (reason === undefined && name !== undefined && serial !== undefined) return { name, serial };
    this.peerRefused(socket.remoteAddress ?? 'unknown', reason ?? 'untrusted', name, serial);
    return undefined;
  }

  private peerRefused(clientIp: string, reason: string, node: string | undefined, serial: string | undefined): void {
    const now = Date.now();
    const last = this.peerEvents.get(clientIp);
    if (last !== undefined && now - last < PEER_EVENT_EVERY_MS) return;
    if (this.peerEvents.size >= 10_000) this.peerEvents.clear();
    this.peerEvents.set(clientIp, now);
    this.gateway.logger.warn({ client_ip: clientIp, reason, node, serial }, 'fleet: a peer without an acceptable node certificate was refused');
    this.events({ type: 'fleet.peer_refused', source: 'fleet', message: `fleet peer refused: ${reason}`, reason, details: { client_ip: clientIp, node, serial } });
  }

  /** The pushed version now, or (when the node runs it already) the next one, or 304 after poll_timeout. */
  private serveConfig(req: IncomingMessage, res: ServerResponse): void {
    const have = /^"([0-9a-f]{64})"$/.exec(req.headers['if-none-match'] ?? '')?.[1];
    const send = () => {
      const { body, hash, revision } = this.version;
      res.writeHead(200, {
        'content-type': 'application/yaml; charset=utf-8',
        'content-length': body.length,
        etag: `"${hash}"`,
        'x-portcullis-revision': String(revision),
        'cache-control': 'no-store',
      });
      res.end(body);
    };
    if (have !== this.version.hash) return send();
    let timer: NodeJS.Timeout | undefined = undefined;
    const wake = () => {
      clearTimeout(timer);
      res.off('close', gone);
      if (!res.destroyed) send();
    };
    const gone = () => {
      clearTimeout(timer);
      this.waiting.delete(wake);
    };
    timer = setTimeout(() => {
      this.waiting.delete(wake);
      res.off('close', gone);
      res.writeHead(304, { etag: `"${this.version.hash}"` });
      res.end();
    }, parseDuration(this.settings.poll_timeout));
    res.on('close', gone);
    this.waiting.add(wake);
  }

  private async takeReport(req: IncomingMessage, res: ServerResponse, peer: { name: string; serial: string }): Promise<void> {
    let report: NodeReport;
    try {
      report = parseReport(await readBody(req, MAX_REQUEST_BYTES));
    } catch (err) {
      return reply(res, 400, { error: (err as Error).message });
    }
    const before = this.states.get(peer.name);
    if (!before && this.states.size >= this.initial.max_nodes) return reply(res, 429, { error: 'too many nodes' });
    this.states.set(peer.name, { name: peer.name, serial: peer.serial, seen: Date.now(), report });
    if (report.refused && report.refused.hash !== before?.report.refused?.hash) {
      // The issues go to the log only, as the gateway's own refused reloads do: a config error can quote a value.
      this.gateway.logger.warn({ node: peer.name, hash: report.refused.hash.slice(0, 12), issues: report.refused.issues }, 'fleet: a data plane refused a pushed version and keeps its previous one');
      this.events({
        type: 'fleet.config_refused',
        source: 'fleet',
        message: `data plane ${peer.name} refused a pushed config version`,
        details: { node: peer.name, hash: report.refused.hash.slice(0, 12), issues: report.refused.issues.length },
      });
    }
    res.writeHead(204);
    res.end();
  }

  private async enrol(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const clientIp = req.socket.remoteAddress ?? 'unknown';
    let body: { token?: unknown; name?: unknown; csr?: unknown };
    try {
      body = JSON.parse((await readBody(req, MAX_REQUEST_BYTES)).toString('utf8')) as typeof body;
    } catch {
      return reply(res, 400, { error: 'expected a JSON body { token, name, csr }' });
    }
    const name = typeof body.name === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(body.name) ? body.name : undefined;
    if (typeof body.token !== 'string' || !name) return reply(res, 400, { error: 'expected a JSON body { token, name, csr }' });
    // The request is checked before the token is used up: a malformed one must not cost the node its token.
    let key: webcrypto.CryptoKey;
    try {
      key = await requestedKey(body.csr);
    } catch (err) {
      return reply(res, 400, { error: (err as Error).message });
    }
    const check = consumeToken(this.stateDir, body.token, name);
    if (!check.ok) {
      this.gateway.logger.warn({ client_ip: clientIp, node: name, enrolment_id: check.id, reason: check.reason }, 'fleet: enrolment refused');
      this.events({ type: 'fleet.enrolment_refused', source: 'fleet', message: `enrolment refused: ${check.reason}`, reason: check.reason, details: { client_ip: clientIp, node: name, enrolment_id: check.id } });
      return reply(res, 403, { error: `enrolment refused: ${check.reason === 'wrong_name' ? 'the token is for another node name' : `${check.reason} token`}` });
    }
    const credentials = await this.credentials(name, key);
    this.gateway.logger.info({ client_ip: clientIp, node: name, enrolment_id: check.id, serial: credentials.serial }, 'fleet: node enrolled');
    this.events({ type: 'fleet.node_enrolled', source: 'fleet', message: `data plane ${name} enrolled`, details: { client_ip: clientIp, node: name, enrolment_id: check.id, serial: credentials.serial } });
    reply(res, 200, credentials);
  }

  /** A client certificate for the node, of the public key its request proved it holds. */
  private async credentials(name: string, publicKey: webcrypto.CryptoKey): Promise<Credentials> {
    const issued = await this.authority.issue({
      spiffe: nodeId(name),
      commonName: name,
      usage: 'client',
      publicKey,
      ttlMs: parseDuration(this.settings.node_certificate_ttl),
    });
    return { cert: issued.certPem, ca: this.authority.certPem, serial: issued.serial, not_after: issued.notAfter.toISOString() };
  }

  private async renewServerCertificate(): Promise<void> {
    if (Date.now() < this.serverNotAfter - SERVER_CERT_TTL_MS / 2) return;
    const own = await issueServerCertificate(this.authority, this.initial.server_names);
    this.server.setSecureContext({ key: own.keyPem, cert: own.certPem, ca: this.authority.certPem, minVersion: 'TLSv1.3' });
    this.serverNotAfter = own.notAfter.getTime();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.gateway.fleetView?.role === 'control_plane') this.gateway.fleetView = undefined;
    this.unsubscribe();
    clearInterval(this.timer);
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const wake of waiting) wake();
    await new Promise<void>((done) => {
      this.server.close(() => done());
      this.server.closeAllConnections();
      for (const socket of this.sockets) socket.destroy();
    });
  }
}

async function issueServerCertificate(authority: CertificateAuthority, names: readonly string[]) {
  return authority.issue({
    spiffe: CONTROL_PLANE_ID,
    dns: names.filter((n) => isIP(n) === 0),
    ips: names.filter((n) => isIP(n) !== 0),
    commonName: 'portcullis control plane',
    usage: 'server',
    ttlMs: SERVER_CERT_TTL_MS,
  });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** A report as sent, with only the fields and shapes it may have. */
function parseReport(body: Buffer): NodeReport {
  const raw = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  if (typeof raw !== 'object' || raw === null) throw new Error('a report is a JSON object');
  const hash = typeof raw.hash === 'string' && /^[0-9a-f]{64}$/.test(raw.hash) ? raw.hash : undefined;
  const requests: Record<string, number> = {};
  if (typeof raw.requests === 'object' && raw.requests !== null) {
    for (const [k, v] of Object.entries(raw.requests as Record<string, unknown>).slice(0, 16)) if (/^[1-5]xx$/.test(k) && typeof v === 'number') requests[k] = v;
  }
  let refused: NodeReport['refused'];
  const r = raw.refused as { hash?: unknown; issues?: unknown } | undefined;
  if (r && typeof r.hash === 'string' && /^[0-9a-f]{64}$/.test(r.hash) && Array.isArray(r.issues)) {
    refused = { hash: r.hash, issues: r.issues.filter((i): i is string => typeof i === 'string').slice(0, 50).map((i) => i.slice(0, 1000)) };
  }
  return {
    ...(hash ? { hash } : {}),
    version: typeof raw.version === 'number' ? raw.version : 0,
    ready: raw.ready === true,
    reasons: Array.isArray(raw.reasons) ? raw.reasons.filter((x): x is string => typeof x === 'string').slice(0, 10).map((x) => x.slice(0, 200)) : [],
    requests,
    ...(refused ? { refused } : {}),
    started_at: typeof raw.started_at === 'string' ? raw.started_at.slice(0, 40) : '',
    ...(typeof raw.software === 'string' && /^[\w .+-]{1,80}$/.test(raw.software) ? { software: raw.software } : {}),
  };
}

/**
 * Certificates made by the built-in CA for the tests, written to a temporary
 * folder, and HTTPS / HTTP/2 clients that say what the server presented.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  connect as http2Connect,
  createSecureServer,
  type ClientHttp2Session,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type IncomingHttpHeaders as H2Headers,
} from 'node:http2';
import { createServer as createHttpsServer, request as httpsRequest, type RequestOptions } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { CertificateAuthority, type IssueOptions } from '../../src/ca/authority.js';

export interface IssuedFiles {
  cert: string;
  key: string;
  certPem: string;
  keyPem: string;
  serial: string;
}

export interface Pki {
  dir: string;
  ca: CertificateAuthority;
  caPem: string;
  caFile: string;
  /** Issues a certificate and writes NAME.crt / NAME.key into the folder. */
  issue(name: string, options: Partial<IssueOptions> & { ttlMs?: number }): Promise<IssuedFiles>;
  /** Writes a file into the folder and returns its path. */
  write(name: string, content: string): string;
}

export async function makePki(caName = 'Test CA', dir = mkdtempSync(join(tmpdir(), 'portcullis-pki-'))): Promise<Pki> {
  const { authority } = await CertificateAuthority.create({ name: caName });
  const write = (name: string, content: string) => {
    const file = join(dir, name);
    writeFileSync(file, content);
    return file;
  };
  const caFile = write(`${caName.replace(/\W/g, '_')}.crt`, authority.certPem);
  return {
    dir,
    ca: authority,
    caPem: authority.certPem,
    caFile,
    write,
    async issue(name, options) {
      const issued = await authority.issue({ ttlMs: options.ttlMs ?? 90 * 86_400_000, ...options });
      return { cert: write(`${name}.crt`, issued.certPem), key: write(`${name}.key`, issued.keyPem), certPem: issued.certPem, keyPem: issued.keyPem, serial: issued.serial };
    },
  };
}

export interface TlsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  trailers: Record<string, string | undefined>;
  json<T = any>(): T;
  /** What the server presented: SHA-256 fingerprint (lower-case hex), subject CN, ALPN. */
  peer: { fingerprint256: string; cn: string | undefined; alpn: string | false | null; protocol: string | null };
}

export interface TlsClientOptions {
  ca?: string;
  servername?: string;
  cert?: string;
  key?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Set to false to send no SNI at all. */
  sni?: boolean;
  timeoutMs?: number;
}

/** One HTTPS/1.1 request on a fresh connection (so each makes a full TLS handshake). */
export function httpsGet(url: string, path: string, options: TlsClientOptions = {}): Promise<TlsResponse> {
  const u = new URL(url);
  const requestOptions: RequestOptions & { servername?: string; ALPNProtocols?: string[] } = {
    host: u.hostname,
    port: u.port,
    path,
    method: options.method ?? 'GET',
    headers: options.headers,
    ca: options.ca,
    cert: options.cert,
    key: options.key,
    agent: false,
    ALPNProtocols: ['http/1.1'],
    timeout: options.timeoutMs ?? 5000,
  };
  if (options.sni !== false) requestOptions.servername = options.servername ?? 'localhost';
  else requestOptions.servername = '';
  return new Promise((resolve, reject) => {
    const req = httpsRequest(requestOptions, (res) => {
      const socket = res.socket as TLSSocket;
      const peerCert = socket.getPeerX509Certificate();
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text,
          trailers: res.trailers,
          json: () => JSON.parse(text),
          peer: {
            fingerprint256: peerCert?.fingerprint256.replace(/:/g, '').toLowerCase() ?? '',
            cn: /CN=([^\n]+)/.exec(peerCert?.subject ?? '')?.[1],
            alpn: socket.alpnProtocol,
            protocol: socket.getProtocol(),
          },
        });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface H2Response {
  status: number;
  headers: H2Headers;
  trailers: H2Headers | undefined;
  text: string;
  body: Buffer;
}

/** An HTTP/2 session to a TLS listener. */
export function h2Session(url: string, options: { ca?: string; servername?: string; cert?: string; key?: string } = {}): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(url, { ca: options.ca, servername: options.servername ?? 'localhost', cert: options.cert, key: options.key });
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

/** One request on an HTTP/2 session, reading the whole response and its trailers. */
export function h2Request(session: ClientHttp2Session, headers: Record<string, string>, body?: string | Buffer): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'GET', ...headers }, { endStream: body === undefined });
    let status = 0;
    let responseHeaders: H2Headers = {};
    let trailers: H2Headers | undefined;
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      status = Number(h[':status']);
      responseHeaders = h;
    });
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const all = Buffer.concat(chunks);
      resolve({ status, headers: responseHeaders, trailers, text: all.toString(), body: all });
    });
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

export interface RawTlsResult {
  text: string;
  status: number;
  closed: boolean;
}

/** Writes raw bytes over TLS (HTTP/1.1) and collects the reply until the server closes or `waitMs` passes. */
export function rawTlsExchange(port: number, payload: string, options: { ca: string; servername?: string; waitMs?: number; writeDelayMs?: number }): Promise<RawTlsResult> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ port, host: '127.0.0.1', ca: options.ca, servername: options.servername ?? 'localhost', ALPNProtocols: ['http/1.1'] });
    let text = '';
    let closed = false;
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ text, status: m ? Number(m[1]) : 0, closed });
    };
    const timer = setTimeout(done, options.waitMs ?? 1000);
    socket.once('secureConnect', () => socket.write(Buffer.from(payload, 'latin1')));
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('end', () => {
      closed = true;
      done();
    });
    socket.on('close', () => {
      closed = true;
      done();
    });
    socket.on('error', (err: Error) => {
      if (text === '' && !closed) reject(err);
      closed = true;
      done();
    });
  });
}

/** A bare TLS handshake: resolves with what was negotiated, rejects with the handshake error. */
export function tlsHandshake(port: number, options: ConnectionOptions): Promise<{ protocol: string | null; cipher: string; fingerprint256: string; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ port, host: '127.0.0.1', ...options });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerX509Certificate();
      resolve({
        protocol: socket.getProtocol(),
        cipher: socket.getCipher().name,
        fingerprint256: cert?.fingerprint256.replace(/:/g, '').toLowerCase() ?? '',
        alpn: socket.alpnProtocol,
      });
      socket.destroy();
    });
    socket.once('error', (err: Error) => {
      socket.destroy();
      reject(err);
    });
  });
}

export interface TlsUpstreamSeen {
  url: string;
  method: string;
  httpVersion: string;
  servername: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  /** The client certificate the gateway presented, if any. */
  clientCert: { subject: string; uri: string | undefined; serial: string } | undefined;
  body: string;
}

export interface TlsUpstream {
  url: string;
  port: number;
  seen: TlsUpstreamSeen[];
  /** Cuts every open connection (so the next request makes a new handshake). */
  dropConnections(): void;
  close(): Promise<void>;
}

/**
 * A real TLS upstream: HTTPS/1.1, or HTTP/2 only when `http2` is set. It
 * echoes what it saw as JSON; /trailers answers with trailers.
 */
export async function startTlsUpstream(options: { cert: string; key: string; ca?: string; requireClientCert?: boolean; http2?: boolean }): Promise<TlsUpstream> {
  const seen: TlsUpstreamSeen[] = [];
  const sockets = new Set<Socket>();
  const handler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
    const socket = req.socket as TLSSocket;
    const peer = socket.getPeerX509Certificate?.();
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const record: TlsUpstreamSeen = {
        url: req.url ?? '',
        method: req.method ?? '',
        httpVersion: req.httpVersion,
        servername: socket.servername || undefined,
        headers: req.headers,
        clientCert: peer ? { subject: peer.subject, uri: /URI:([^,\s]+)/.exec(peer.subjectAltName ?? '')?.[1], serial: peer.serialNumber } : undefined,
        body,
      };
      seen.push(record);
      if (req.url === '/trailers') {
        // Trailers need a body of unknown length on HTTP/1.1 (chunked); HTTP/2 sends them as a HEADERS frame.
        res.writeHead(200, { 'content-type': 'application/grpc', trailer: 'grpc-status' });
        (res as unknown as Writable).write('payload');
        res.addTrailers({ 'grpc-status': '0', 'grpc-message': 'ok', 'set-cookie': 'sneaky=1', 'x-powered-by': 'Express' });
        res.end();
        return;
      }
      const text = JSON.stringify(record);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  };
  const tlsOptions = { cert: options.cert, key: options.key, ca: options.ca, requestCert: options.requireClientCert ?? false, rejectUnauthorized: options.requireClientCert ?? false };
  const server = options.http2 ? createSecureServer({ ...tlsOptions, allowHTTP1: false }, handler) : createHttpsServer(tlsOptions, handler);
  server.on('secureConnection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    seen,
    dropConnections: () => {
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

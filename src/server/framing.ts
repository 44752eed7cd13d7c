/**
 * Request framing checks the HTTP parser leaves to us. llhttp (strict) already
 * refuses Content-Length with Transfer-Encoding, duplicate or malformed
 * Content-Length, and bad header syntax; these are the rest of the request
 * smuggling surface. Each failure is answered 400 and the connection closed.
 */
import type { IncomingMessage } from 'node:http';
import { isHttp2 } from './http-version.js';

export type FramingProblem =
  | 'http_version'
  | 'transfer_encoding'
  | 'duplicate_host'
  | 'missing_host'
  | 'invalid_host'
  | 'absolute_form_host'
  | 'request_target'
  | 'authority_mismatch';


export function checkFraming(req: IncomingMessage): FramingProblem | undefined {
  // HTTP/2 (nghttp2 already refuses connection-specific fields): a Host that names another
  // authority than :authority would let the gateway and the upstream disagree on the host (RFC 9113 §8.3.1).
  if (isHttp2(req)) {
    const authority = req.headers[':authority'];
    const host = req.headers.host;
    if (typeof authority === 'string' && host !== undefined && authority.toLowerCase() !== host.toLowerCase()) return 'authority_mismatch';
    return host === undefined || isValidHost(host) ? undefined : 'invalid_host';
  }
  // An HTTP/1 connection speaks HTTP/1.0 or 1.1; llhttp also takes "HTTP/2.0" and HTTP/0.9's bare "GET /".
  if (req.httpVersionMajor !== 1) return 'http_version';
  const te = req.headers['transfer-encoding'];
  // HTTP/1.0 has no chunked coding: a 1.0 peer in front may take the "chunks" for the next request (RFC 9112 §6.1).
  if (te !== undefined && (te.toLowerCase() !== 'chunked' || req.httpVersionMinor === 0)) return 'transfer_encoding';
  if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1) return 'missing_host';
  if (req.headers.host !== undefined && !isValidHost(req.headers.host)) return 'invalid_host';
  const raw = req.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host' && ++hosts > 1) return 'duplicate_host';
  }
  return undefined;
}

const POISONED = Symbol('portcullis.framing-refused');

/**
 * After a framing refusal nothing else on the connection can be trusted: the
 * parser may already have read "requests" out of what was really a body.
 * Requests parsed after the refusal are dropped; the connection closes once
 * the 400 is written.
 */
export function poison(socket: object): void {
  (socket as Record<symbol, boolean>)[POISONED] = true;
}

export function isPoisoned(socket: object): boolean {
  return (socket as Record<symbol, boolean | undefined>)[POISONED] === true;
}

/**
 * The request target as an origin-form path. Absolute-form ("GET http://h/p")
 * is accepted only when its authority is the Host header: otherwise the
 * gateway and the upstream could disagree on which host was asked for.
 */
export function originForm(req: IncomingMessage): { path: string } | { problem: FramingProblem } {
  const url = req.url ?? '';
  if (url.charCodeAt(0) === 0x2f) return { path: url };
  const scheme = /^https?:\/\//i.exec(url);
  if (!scheme) return { problem: 'request_target' };
  const rest = url.slice(scheme[0].length);
  const slash = rest.search(/[/?]/);
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const host = req.headers.host;
  if (host === undefined || authority.toLowerCase() !== host.toLowerCase() || authority.includes('@')) return { problem: 'absolute_form_host' };
  if (slash === -1) return { path: '/' };
  const tail = rest.slice(slash);
  return { path: tail.startsWith('?') ? '/' + tail : tail };
}

/**
 * "Example.com:8080" → "example.com"; "[::1]:80" → "::1". The DNS root's dot
 * goes too: "admin.example.com." is the same host as "admin.example.com" (and
 * is served as such by most upstreams), so it must meet the same routes.
 */
export function hostWithoutPort(host: string | undefined): string {
  if (!host) return '';
  if (host.charCodeAt(0) === 0x5b) {
    const end = host.indexOf(']');
    return (end === -1 ? host : host.slice(1, end)).toLowerCase();
  }
  const colon = host.indexOf(':');
  let name = colon === -1 ? host : host.slice(0, colon);
  if (name.charCodeAt(name.length - 1) === 0x2e) name = name.slice(0, -1);
  return name.toLowerCase();
}

/**
 * Host = host [ ":" port ] (RFC 9110 §7.2), with host a DNS name or IPv4
 * address (letters, digits, "-", "_", "."; no empty label, but the DNS
 * root's one trailing dot) or a bracketed IPv6 literal; empty
 * is allowed (RFC 9112 §3.2). Anything else ("a@b", "a b", "a/b", "a:1:2")
 * is answered 400 (RFC 9112 §3.2 requires it): routing reads a host out of
 * it one way, and an upstream given it (preserve_host, X-Forwarded-Host)
 * may read another.
 */
export function isValidHost(host: string): boolean {
  let i = 0;
  const n = host.length;
  if (host.charCodeAt(0) === 0x5b /* [ */) {
    for (i = 1; i < n; i++) {
      const c = host.charCodeAt(i);
      if (c === 0x5d /* ] */) break;
      if (!(isHexDigit(c) || c === 0x3a /* : */ || c === 0x2e)) return false;
    }
    if (i === n || i === 1) return false;
    i++;
  } else {
    for (; i < n; i++) {
      const c = host.charCodeAt(i);
      if (c === 0x3a) break;
      // An empty label (".admin", "admin..", "a..b"): routing reads "admin.example.com.." as another
      // host than "admin.example.com", an upstream that trims dots as the same one.
      if (c === 0x2e && (i === 0 || host.charCodeAt(i - 1) === 0x2e)) return false;
      if (!(isHexDigit(c) || (c >= 0x67 && c <= 0x7a) || (c >= 0x47 && c <= 0x5a) || c === 0x2d || c === 0x2e || c === 0x5f)) return false;
    }
  }
  if (i === n) return true;
  if (host.charCodeAt(i) !== 0x3a) return false;
  for (i++; i < n; i++) {
    const c = host.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return n - host.lastIndexOf(':') <= 6;
}

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

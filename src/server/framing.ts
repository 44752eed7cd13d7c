/**
 * Request framing checks the HTTP parser leaves to us. llhttp (strict) already
 * refuses Content-Length with Transfer-Encoding, duplicate or malformed
 * Content-Length, and bad header syntax; these are the rest of the request
 * smuggling surface. Each failure is answered 400 and the connection closed.
 */
import type { IncomingMessage } from 'node:http';

export type FramingProblem = 'transfer_encoding' | 'duplicate_host' | 'missing_host' | 'absolute_form_host' | 'request_target' | 'authority_mismatch';


export function checkFraming(req: IncomingMessage): FramingProblem | undefined {
  // HTTP/2 (nghttp2 already refuses connection-specific fields): a Host that names another
  // authority than :authority would let the gateway and the upstream disagree on the host (RFC 9113 §8.3.1).
  if (req.httpVersionMajor === 2) {
    const authority = req.headers[':authority'];
    const host = req.headers.host;
    return typeof authority === 'string' && host !== undefined && authority.toLowerCase() !== host.toLowerCase() ? 'authority_mismatch' : undefined;
  }
  const te = req.headers['transfer-encoding'];
  if (te !== undefined && te.toLowerCase() !== 'chunked') return 'transfer_encoding';
  if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1) return 'missing_host';
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

/** "Example.com:8080" → "example.com"; "[::1]:80" → "::1". */
export function hostWithoutPort(host: string | undefined): string {
  if (!host) return '';
  if (host.charCodeAt(0) === 0x5b) {
    const end = host.indexOf(']');
    return (end === -1 ? host : host.slice(1, end)).toLowerCase();
  }
  const colon = host.indexOf(':');
  return (colon === -1 ? host : host.slice(0, colon)).toLowerCase();
}

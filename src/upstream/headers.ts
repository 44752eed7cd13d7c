/**
 * Header rules at the proxy boundary: hop-by-hop headers never cross it, the
 * gateway's own headers (forwarding, identity, request id) replace whatever
 * the client sent under those names.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** RFC 9110 §7.6.1 connection-specific fields, plus old proxies' Proxy-Connection. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** Headers that tell the upstream who the caller is; only the gateway sets them. */
export const IDENTITY_HEADERS: ReadonlySet<string> = new Set([
  'x-consumer-name',
  'x-consumer-groups',
  'x-credential-id',
  'x-authenticated-scopes',
]);

/** Headers the gateway writes itself toward the upstream. */
export const FORWARDING_HEADERS: ReadonlySet<string> = new Set(['host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded']);

/** Names listed in a Connection header, lower-cased, or undefined when there are none. */
export function connectionListed(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  let names: Set<string> | undefined;
  for (const part of text.split(',')) {
    const name = part.trim().toLowerCase();
    if (name !== '' && name !== 'close' && name !== 'keep-alive') (names ??= new Set()).add(name);
  }
  return names;
}

/**
 * Response headers from the upstream, as a mutable object without hop-by-hop
 * fields and without `hidden` ones (Server, X-Powered-By: what the upstream
 * runs is not the client's business).
 */
export function responseHeadersFrom(raw: Buffer[], hidden?: ReadonlySet<string>): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  let listed: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase();
    const value = raw[i + 1]!.toString('latin1');
    if (name === 'connection') {
      listed = connectionListed(value);
      continue;
    }
    if (HOP_BY_HOP.has(name) || hidden?.has(name)) continue;
    const existing = headers[name];
    if (existing === undefined) headers[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else headers[name] = [String(existing), value];
  }
  if (listed) for (const name of listed) delete headers[name];
  return headers;
}

/** The client's headers minus what must not cross, as undici's flat [name, value, ...] list. */
export function forwardableRequestHeaders(headers: IncomingHttpHeaders, skip: ReadonlySet<string> | undefined, requestIdHeader: string): string[] {
  const out: string[] = [];
  const listed = connectionListed(headers.connection);
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || FORWARDING_HEADERS.has(name) || IDENTITY_HEADERS.has(name) || name === requestIdHeader) continue;
    if (listed?.has(name) || skip?.has(name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) out.push(name, v);
    else out.push(name, value);
  }
  return out;
}

/** RFC 7239 node: IPv6 addresses are quoted and bracketed. */
export function forwardedNode(ip: string): string {
  return ip.includes(':') ? `"[${ip}]"` : ip;
}

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
  'x-forwarded-client-cert', // CLIENT_CERT_HEADER: the verified client certificate (src/pipeline/client-certificate.ts)
]);

/**
 * Fields a trailer section may not carry (RFC 9110 §6.5.1: framing, routing,
 * authentication, content metadata) plus everything hop-by-hop; HTTP/2 also
 * refuses connection-specific fields there.
 */
const NOT_IN_TRAILERS: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP,
  'content-length',
  'content-type',
  'content-encoding',
  'content-range',
  'host',
  'authorization',
  'set-cookie',
  'cache-control',
  'expect',
  'max-forwards',
  'www-authenticate',
]);

/** Headers the gateway writes itself toward the upstream. */
export const FORWARDING_HEADERS: ReadonlySet<string> = new Set(['host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded']);

/**
 * Headers that proxies (not clients) set and that upstream frameworks believe
 * when they trust the proxy in front of them, which is the gateway: the
 * client address (chi's RealIP reads True-Client-IP and X-Real-IP before
 * X-Forwarded-For), the parts of the public URL, and the path overrides of
 * IIS, Symfony and Zend. The gateway does not set them; they are passed on
 * only from gateway.trusted_proxies, like X-Forwarded-For.
 */
export const PROXY_HEADERS: ReadonlySet<string> = new Set([
  'x-real-ip',
  'true-client-ip',
  'x-client-ip',
  'x-cluster-client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
  'x-original-forwarded-for',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-forwarded-server',
  'x-forwarded-ssl',
  'x-forwarded-scheme',
  'x-url-scheme',
  'front-end-https',
  'x-original-host',
  'x-original-url',
  'x-rewrite-url',
  // nginx auth_request setups, Traefik, Envoy: the path the front proxy was asked for.
  'x-original-uri',
  'x-forwarded-uri',
  'x-forwarded-path',
  'x-envoy-original-path',
  // Client address, scheme and host under other proxies' names.
  'client-ip',
  'x-proxyuser-ip',
  'x-remote-addr',
  'x-remote-ip',
  'x-forwarded-protocol',
  'x-scheme',
  'x-host',
  'x-http-host-override',
]);

/**
 * Headers no client (and no proxy in front of the gateway) may send the
 * upstream, always removed:
 * - method overrides (Flask's HTTPMethodOverrideMiddleware, Express
 *   method-override, Symfony, ASP.NET): the gateway routes and applies
 *   policies on the request's own method, so an override would run a
 *   method's handler the route never admitted (a GET on a public route
 *   becoming the upstream's protected DELETE). Any client can send any
 *   method over HTTP/1.1 and HTTP/2, so there is no opt-out.
 * - the identity headers of authenticating proxies (oauth2-proxy's
 *   X-Auth-Request-* and X-Forwarded-*, Apache/nginx REMOTE_USER
 *   conventions, Pomerium, Authelia): an upstream written for such a proxy
 *   believes them. Behind the gateway, identity is what it authenticated
 *   (X-Consumer-Name and the other IDENTITY_HEADERS).
 */
export const CLIENT_FORBIDDEN_HEADERS: ReadonlySet<string> = new Set([
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-original-method',
  'x-forwarded-method',
  'remote-user',
  'x-remote-user',
  'x-user',
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-groups',
  'x-forwarded-preferred-username',
  'x-forwarded-access-token',
  'x-auth-request-user',
  'x-auth-request-email',
  'x-auth-request-groups',
  'x-auth-request-preferred-username',
  'x-auth-request-access-token',
  'x-authenticated-user',
  'x-authenticated-userid',
  'x-authenticated-groups',
  'x-remote-group',
  'x-remote-groups',
  'remote-email',
  'remote-groups',
  'remote-name',
  'x-pomerium-claim-email',
  'x-pomerium-claim-user',
  'x-pomerium-claim-groups',
  'x-webauth-user',
]);

/**
 * Every name forwardableRequestHeaders drops whoever sent it (hop-by-hop, forwarding, identity,
 * client-forbidden): one Set lookup per client header on the request path instead of four.
 */
const NEVER_FORWARDED: ReadonlySet<string> = new Set([...HOP_BY_HOP, ...FORWARDING_HEADERS, ...IDENTITY_HEADERS, ...CLIENT_FORBIDDEN_HEADERS]);

/** Names listed in a Connection header, lower-cased, or undefined when there are none. */
export function connectionListed(value: string | string[] | undefined): Set<string> | undefined {
  // What nearly every upstream and client sends: names nothing (a split, a trim and a lower-casing saved)
  if (value === undefined || value === 'keep-alive' || value === 'close') return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  let names: Set<string> | undefined;
  for (const part of text.split(',')) {
    const name = part.trim().toLowerCase();
    if (name !== '' && name !== 'close' && name !== 'keep-alive') (names ??= new Set()).add(name);
  }
  return names;
}

/**
 * Response header names upstreams commonly send, lower-case, by length. A raw
 * name that spells one of them in any case is given that string: two new
 * strings per header (the bytes read out, then lower-cased) saved per response.
 */
const COMMON_NAMES: ReadonlyArray<readonly string[] | undefined> = (() => {
  const byLength: string[][] = [];
  for (const name of [
    'date', 'server', 'content-type', 'content-length', 'connection', 'keep-alive', 'transfer-encoding', 'etag',
    'last-modified', 'cache-control', 'vary', 'expires', 'accept-ranges', 'content-encoding', 'content-language',
    'content-disposition', 'location', 'set-cookie', 'x-powered-by', 'age', 'pragma', 'via', 'link', 'alt-svc',
    'access-control-allow-origin', 'access-control-allow-credentials', 'strict-transport-security',
    'x-content-type-options', 'x-frame-options', 'content-security-policy', 'referrer-policy', 'www-authenticate',
    'retry-after', 'x-request-id', 'trailer', 'upgrade',
  ]) (byLength[name.length] ??= []).push(name);
  return byLength;
})();

/** `raw` (a header name as received) lower-cased: raw.toString('latin1').toLowerCase(), without new strings for a common name. */
export function headerNameOf(raw: Buffer): string {
  const candidates = COMMON_NAMES[raw.length];
  if (candidates !== undefined) {
    for (const name of candidates) if (spells(raw, name)) return name;
  }
  return raw.toString('latin1').toLowerCase();
}

/** Whether `raw` is `name` (lower-case letters and "-") in any case: "Content-Type" spells content-type. */
function spells(raw: Buffer, name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const b = raw[i]!;
    if (b !== c && (c < 0x61 || b !== c - 0x20)) return false;
  }
  return true;
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
    const name = headerNameOf(raw[i]!);
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

/**
 * The client's headers minus what must not cross (and minus `skip` and `removed`: the caller's
 * own and what policies removed), as undici's flat [name, value, ...] list,
 * written into `out` from index 0; returns how many entries it wrote (out.length is left to the
 * caller, which adds its own headers after them).
 * `fromTrustedProxy`: the peer is in gateway.trusted_proxies (PROXY_HEADERS pass).
 */
export function forwardableRequestHeaders(
  headers: IncomingHttpHeaders,
  skip: ReadonlySet<string>,
  removed: ReadonlySet<string> | undefined,
  requestIdHeader: string,
  fromTrustedProxy: boolean,
  out: string[],
): number {
  let n = 0;
  const listed = connectionListed(headers.connection);
  for (const name in headers) {
    // HTTP/2 pseudo-headers (:method, :path, :authority, :scheme) are the request line, never fields.
    if (name.charCodeAt(0) === 0x3a) continue;
    if (NEVER_FORWARDED.has(name) || name === requestIdHeader) {
      // An HTTP/2 client's "TE: trailers" (the only TE HTTP/2 allows) says it takes trailers; gRPC
      // upstreams insist on hearing it, and the proxy passes trailers on. HTTP/2 requests are the ones with pseudo-headers.
      if (name === 'te' && headers[':method'] !== undefined && headers.te === 'trailers') {
        out[n++] = 'te';
        out[n++] = 'trailers';
      }
      continue;
    }
    if (listed?.has(name) || skip.has(name) || removed?.has(name) || (!fromTrustedProxy && PROXY_HEADERS.has(name))) continue;
    // CGI, WSGI, Rack and PHP read "x_consumer_name" as X-Consumer-Name: such a spelling of a header
    // the gateway owns would let a client add to (or, where the gateway sets none, be) the real one.
    if (name.includes('_') && isGatewayOwned(name.replaceAll('_', '-'), requestIdHeader)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      for (const v of value) {
        out[n++] = name;
        out[n++] = v;
      }
    } else {
      out[n++] = name;
      out[n++] = value;
    }
  }
  return n;
}

function isGatewayOwned(name: string, requestIdHeader: string): boolean {
  return (
    FORWARDING_HEADERS.has(name) ||
    IDENTITY_HEADERS.has(name) ||
    PROXY_HEADERS.has(name) ||
    CLIENT_FORBIDDEN_HEADERS.has(name) ||
    name === requestIdHeader.replaceAll('_', '-')
  );
}

/**
 * Upstream trailers as an object fit to send, or undefined for none. undici
 * types them as a string list, but gives HTTP/1.1 ones as a flat Buffer list
 * and HTTP/2 ones as an object: all three are read. `hidden` are the
 * response headers the gateway removes (hide_response_headers): a trailer
 * must not carry them past it either.
 */
export function trailersFrom(raw: unknown, hidden: ReadonlySet<string>): Record<string, string> | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  let out: Record<string, string> | undefined;
  const add = (name: string, value: string) => {
    const lower = name.toLowerCase();
    if (lower.charCodeAt(0) === 0x3a || NOT_IN_TRAILERS.has(lower) || hidden.has(lower)) return;
    out ??= {};
    out[lower] = out[lower] === undefined ? value : `${out[lower]}, ${value}`;
  };
  const text = (v: unknown): string => (Buffer.isBuffer(v) ? v.toString('latin1') : String(v));
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) add(text(raw[i]), text(raw[i + 1]));
  } else {
    for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
      if (value === undefined) continue;
      add(name, Array.isArray(value) ? value.map(text).join(', ') : text(value));
    }
  }
  return out;
}

/** RFC 7239 node: IPv6 addresses are quoted and bracketed. */
export function forwardedNode(ip: string): string {
  return ip.includes(':') ? `"[${ip}]"` : ip;
}

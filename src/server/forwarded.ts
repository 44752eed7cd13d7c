/**
 * What is sent upstream for a request: the client's headers less hop-by-hop
 * and gateway-owned ones, the forwarding headers (X-Forwarded-*, Forwarded:
 * the client's own kept only from trusted proxies), the request id, the
 * identity headers of the authenticated consumer, what policies set, and the
 * path after strip_prefix and rewrites.
 */
import type { IncomingMessage } from 'node:http';
import type { RequestContext } from '../pipeline/context.js';
import { CLIENT_CERT_HEADER } from '../pipeline/client-certificate.js';
import type { CompiledRoute, RuntimeSettings } from '../snapshot.js';
import { forwardableRequestHeaders, forwardedNode } from '../upstream/headers.js';
import type { UpstreamRequest } from '../upstream/contract.js';
import type { RequestTrace } from '../telemetry/tracing/request-trace.js';

/**
 * Request headers never forwarded as received: the gateway answers Expect
 * itself, and writes the trace context itself (telemetry/tracing): a
 * client's traceparent is replaced, its tracestate passed on only bounded.
 */
const NOT_FORWARDED = new Set(['expect', 'traceparent', 'tracestate']);

/** The most entries the gateway adds itself: 5 forwarding and request id, client certificate, 4 identity, trace context, host. */
const GATEWAY_ENTRIES = 2 * (5 + 1 + 4 + 2 + 1);

let lastPeer = '';
let lastHost = '';
let lastScheme = '';
let lastElement = 'for=;host="";proto=';

/**
 * This gateway's Forwarded element (RFC 7239: for, the quoted host, proto).
 * A connection's requests come from one peer, and a gateway sees the same few
 * Host values over and over: the last element is kept and made again only
 * when one of the three changes (strings compared, not the element rebuilt
 * and the host JSON-quoted per request).
 */
function forwardedElement(peer: string, host: string, scheme: string): string {
  if (peer !== lastPeer || host !== lastHost || scheme !== lastScheme) {
    lastElement = `for=${forwardedNode(peer)};host=${JSON.stringify(host)};proto=${scheme}`;
    lastPeer = peer;
    lastHost = host;
    lastScheme = scheme;
  }
  return lastElement;
}

export function upstreamRequestOf(
  ctx: RequestContext,
  req: IncomingMessage,
  settings: RuntimeSettings,
  peer: string,
  route: CompiledRoute,
  hasBody: boolean,
  upgrade: boolean,
  trace?: RequestTrace,
): UpstreamRequest {
  const trusted = settings.trustedProxies.trusts(peer);
  // Sized once: the client's header lines bound what is forwarded of them, and the gateway adds at most
  // GATEWAY_ENTRIES of its own (policies' header sets aside). Pushed onto [], the list was copied into a
  // bigger one once or twice per request; it is written by index and its length set once at the end.
  const headers = new Array<string>(req.rawHeaders.length + GATEWAY_ENTRIES);
  // The policies' removals are read beside NOT_FORWARDED, not merged into it (three Set insertions a request).
  let n = forwardableRequestHeaders(req.headers, NOT_FORWARDED, ctx.upstreamHeaderRemovals, settings.requestIdHeader, trusted, headers);

  const xff = req.headers['x-forwarded-for'];
  headers[n++] = 'x-forwarded-for';
  headers[n++] = trusted && xff ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${peer}` : peer;
  const proto = trusted ? req.headers['x-forwarded-proto'] : undefined;
  headers[n++] = 'x-forwarded-proto';
  headers[n++] = typeof proto === 'string' ? proto : ctx.scheme;
  const host = req.headers.host ?? '';
  const forwardedHost = trusted ? req.headers['x-forwarded-host'] : undefined;
  headers[n++] = 'x-forwarded-host';
  headers[n++] = typeof forwardedHost === 'string' ? forwardedHost : host;
  const element = forwardedElement(peer, host, ctx.scheme);
  const forwarded = trusted ? req.headers.forwarded : undefined;
  headers[n++] = 'forwarded';
  headers[n++] = forwarded ? `${forwarded}, ${element}` : element;
  headers[n++] = settings.requestIdHeader;
  headers[n++] = ctx.id;

  if (ctx.clientCertificate?.verified) {
    headers[n++] = CLIENT_CERT_HEADER;
    headers[n++] = ctx.clientCertificate.forwarded;
  }
  const consumer = ctx.consumer;
  if (consumer) {
    headers[n++] = 'x-consumer-name';
    headers[n++] = consumer.name;
    if (consumer.groups.length > 0) {
      headers[n++] = 'x-consumer-groups';
      headers[n++] = consumer.groups.join(',');
    }
    if (ctx.credentialId) {
      headers[n++] = 'x-credential-id';
      headers[n++] = ctx.credentialId;
    }
    if (ctx.scopes && ctx.scopes.length > 0) {
      headers[n++] = 'x-authenticated-scopes';
      headers[n++] = ctx.scopes.join(' ');
    }
  }
  if (ctx.upstreamHeaderSets) {
    for (const [name, value] of ctx.upstreamHeaderSets) {
      if (Array.isArray(value)) {
        for (const v of value) {
          headers[n++] = name;
          headers[n++] = v;
        }
      } else {
        headers[n++] = name;
        headers[n++] = value;
      }
    }
  }
  let traceparentAt: number | undefined;
  if (trace?.propagate) {
    headers[n++] = 'traceparent';
    traceparentAt = n;
    headers[n++] = trace.traceparent();
    if (trace.tracestate !== undefined) {
      headers[n++] = 'tracestate';
      headers[n++] = trace.tracestate;
    }
  }
  // Last, so the exchange can set the target's own host per attempt.
  headers[n++] = 'host';
  headers[n++] = host;
  headers.length = n;

  let path = ctx.upstreamPath ?? ctx.path;
  if (route.stripPrefix && ctx.matchedPrefix !== '' && ctx.upstreamPath === undefined) {
    path = path.slice(ctx.matchedPrefix.length);
    if (path.charCodeAt(0) !== 0x2f) path = '/' + path;
  }
  const query = ctx.upstreamQuery ?? ctx.query;
  return {
    path: query === '' ? path : `${path}?${query}`,
    headers,
    hasBody,
    preserveHost: route.preserveHost,
    upgrade,
    tracing: traceparentAt === undefined ? undefined : trace!.attempts(),
    traceparentAt,
  };
}

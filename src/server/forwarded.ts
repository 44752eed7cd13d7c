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
  let skip = ctx.upstreamHeaderRemovals;
  if (skip) for (const name of NOT_FORWARDED) skip.add(name);
  else skip = NOT_FORWARDED;
  const trusted = settings.trustedProxies.trusts(peer);
  const headers = forwardableRequestHeaders(req.headers, skip, settings.requestIdHeader, trusted);

  const xff = req.headers['x-forwarded-for'];
  headers.push('x-forwarded-for', trusted && xff ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${peer}` : peer);
  const proto = trusted ? req.headers['x-forwarded-proto'] : undefined;
  headers.push('x-forwarded-proto', typeof proto === 'string' ? proto : ctx.scheme);
  const host = req.headers.host ?? '';
  const forwardedHost = trusted ? req.headers['x-forwarded-host'] : undefined;
  headers.push('x-forwarded-host', typeof forwardedHost === 'string' ? forwardedHost : host);
  const element = forwardedElement(peer, host, ctx.scheme);
  const forwarded = trusted ? req.headers.forwarded : undefined;
  headers.push('forwarded', forwarded ? `${forwarded}, ${element}` : element);
  headers.push(settings.requestIdHeader, ctx.id);

  if (ctx.clientCertificate?.verified) headers.push(CLIENT_CERT_HEADER, ctx.clientCertificate.forwarded);
  const consumer = ctx.consumer;
  if (consumer) {
    headers.push('x-consumer-name', consumer.name);
    if (consumer.groups.length > 0) headers.push('x-consumer-groups', consumer.groups.join(','));
    if (ctx.credentialId) headers.push('x-credential-id', ctx.credentialId);
    if (ctx.scopes && ctx.scopes.length > 0) headers.push('x-authenticated-scopes', ctx.scopes.join(' '));
  }
  if (ctx.upstreamHeaderSets) {
    for (const [name, value] of ctx.upstreamHeaderSets) {
      if (Array.isArray(value)) for (const v of value) headers.push(name, v);
      else headers.push(name, value);
    }
  }
  let traceparentAt: number | undefined;
  if (trace?.propagate) {
    headers.push('traceparent', trace.traceparent());
    traceparentAt = headers.length - 1;
    if (trace.tracestate !== undefined) headers.push('tracestate', trace.tracestate);
  }
  // Last, so the exchange can set the target's own host per attempt.
  headers.push('host', host);

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

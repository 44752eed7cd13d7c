/**
 * Header names the headers policy may not touch, refused at load.
 *
 * These lists repeat the gateway's own (src/upstream/headers.ts), which a
 * policy may not import (docs/ARCHITECTURE.md); headers.test.ts checks that
 * every name of those lists is refused here, so the two cannot drift apart.
 */

/** RFC 9110 §7.6.1 connection-specific fields: they describe one hop; setting them breaks framing or HTTP/2. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings'];

/** Framing: a length the gateway did not count would desynchronize the upstream's or the client's parser. */
const FRAMING = ['content-length', 'expect'];

/** What the gateway writes toward the upstream: the target's host, forwarding, trace context. */
const FORWARDING = ['host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'traceparent', 'tracestate'];

/** Who the caller is: only authentication sets these (ctx.authenticate), so a config cannot forge them. */
const IDENTITY = ['x-consumer-name', 'x-consumer-groups', 'x-credential-id', 'x-authenticated-scopes', 'x-forwarded-client-cert'];

/**
 * Headers no client may send upstream (method overrides, the identity headers of
 * authenticating proxies), and the client address and URL headers of other
 * proxies, which upstreams believe from the gateway. A rename could hand the
 * client's own value to one of them; a set would speak for the gateway.
 */
const CLIENT_FORBIDDEN = [
  'x-http-method-override', 'x-http-method', 'x-method-override', 'x-original-method', 'x-forwarded-method',
  'remote-user', 'x-remote-user', 'x-user', 'x-forwarded-user', 'x-forwarded-email', 'x-forwarded-groups',
  'x-forwarded-preferred-username', 'x-forwarded-access-token', 'x-auth-request-user', 'x-auth-request-email',
  'x-auth-request-groups', 'x-auth-request-preferred-username', 'x-auth-request-access-token', 'x-authenticated-user',
  'x-authenticated-userid', 'x-authenticated-groups', 'x-remote-group', 'x-remote-groups', 'remote-email', 'remote-groups',
  'remote-name', 'x-pomerium-claim-email', 'x-pomerium-claim-user', 'x-pomerium-claim-groups', 'x-webauth-user',
];
const PROXY = [
  'x-real-ip', 'true-client-ip', 'x-client-ip', 'x-cluster-client-ip', 'cf-connecting-ip', 'fastly-client-ip',
  'x-original-forwarded-for', 'x-forwarded-port', 'x-forwarded-prefix', 'x-forwarded-server', 'x-forwarded-ssl',
  'x-forwarded-scheme', 'x-url-scheme', 'front-end-https', 'x-original-host', 'x-original-url', 'x-rewrite-url',
  'x-original-uri', 'x-forwarded-uri', 'x-forwarded-path', 'x-envoy-original-path', 'client-ip', 'x-proxyuser-ip',
  'x-remote-addr', 'x-remote-ip', 'x-forwarded-protocol', 'x-scheme', 'x-host', 'x-http-host-override',
];

const REQUEST_OUT_OF_REACH: ReadonlyMap<string, string> = new Map([
  ...HOP_BY_HOP.map((n) => [n, 'a hop-by-hop header'] as const),
  ...FRAMING.map((n) => [n, 'framing, which the gateway writes'] as const),
  ...FORWARDING.map((n) => [n, 'a forwarding header the gateway writes'] as const),
  ...IDENTITY.map((n) => [n, 'an identity header only authentication sets'] as const),
  ...CLIENT_FORBIDDEN.map((n) => [n, 'a header upstreams believe about the method or the caller, never forwarded'] as const),
  ...PROXY.map((n) => [n, 'a proxy header upstreams believe about the client address or URL'] as const),
]);

const RESPONSE_OUT_OF_REACH: ReadonlyMap<string, string> = new Map([
  ...HOP_BY_HOP.map((n) => [n, 'a hop-by-hop header'] as const),
  ['content-length', 'framing, which the gateway writes'],
]);

/**
 * Why the gateway keeps `name` (lower case) for itself in that direction, or undefined when the policy may touch it.
 * CGI-style servers read `x_consumer_name` as X-Consumer-Name, so underscore spellings count as the header.
 */
export function outOfReach(name: string, direction: 'request' | 'response', requestIdHeader: string): string | undefined {
  const table = direction === 'request' ? REQUEST_OUT_OF_REACH : RESPONSE_OUT_OF_REACH;
  const dashed = name.replaceAll('_', '-');
  if (dashed === requestIdHeader.toLowerCase().replaceAll('_', '-')) return 'the request id header, which the gateway writes';
  return table.get(name) ?? (direction === 'request' ? table.get(dashed) : undefined);
}

/** RFC 9110 §5.1 field names: tokens. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
export const isToken = (name: string): boolean => TOKEN.test(name);

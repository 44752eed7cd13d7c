/**
 * The registry of every event type the gateway emits: its category, default
 * severity, the actions it can carry, the stable reasons it may give, and the
 * schema of its details. An event reaches the stream only through this
 * schema (telemetry/redact.ts): a detail field a type does not declare is
 * dropped, a reason it does not list is dropped, a `sample` is truncated and
 * masked. Secrets are kept out by what may be said, not by spotting them.
 *
 * Like errors.ts, this file imports no code: the pipeline, policies and the
 * server name their event types from it (SecurityEventDetails.type is an
 * EventType), so an unregistered type does not compile. docs/events.md is
 * generated from it (npm run docs) and a test checks the two agree.
 */
import type { EventAction, EventCategory, Severity } from './event.js';

/**
 * What a detail field may hold:
 * - id: a name or token the gateway knows (a rule id, a target such as
 *   `query:id`, a window, a key kind, a file name): at most 256 characters, printable;
 * - text: a short sentence the gateway wrote: at most 200 characters;
 * - number, bool: as such;
 * - sample: client data shown to an analyst (what a waf rule matched): at
 *   most 128 characters, credential-looking parts masked, and withheld
 *   whole when the event's target names a credential (Authorization, a
 *   cookie, a password or token field);
 * - record: a whole audit record line (telemetry/audit/), whose secrets the
 *   audit trail has already masked by the config schema's secret marks: kept
 *   as written, at most 64 KiB, so a SIEM's copy verifies like the file.
 */
export type DetailKind = 'id' | 'text' | 'number' | 'bool' | 'sample' | 'record';

export interface EventTypeSpec {
  readonly category: EventCategory;
  readonly severity: Severity;
  readonly actions: readonly EventAction[];
  /** What it means and when it is emitted, for docs/events.md. */
  readonly description: string;
  /** The stable reasons it may carry; a reason not listed is dropped. */
  readonly reasons?: readonly string[];
  readonly details: Readonly<Record<string, DetailKind>>;
  /**
   * Types that come in floods exactly when the gateway can least afford to
   * describe each one (shedding): at most `events` per window across the
   * gateway; the next one let through carries `suppressed`.
   */
  readonly flood?: { readonly events: number; readonly windowMs: number };
}

const REFUSED = ['blocked', 'monitored'] as const;
/** What every audit event carries: the record's place in the chain and the signed line. */
const AUDIT_RECORD = { seq: 'number', kid: 'id', hash: 'id', prev: 'id', record: 'record' } as const;
const AUDIT_CHANGE = {
  ...AUDIT_RECORD,
  action: 'id',
  actor: 'text',
  origin: 'text',
  version_before: 'number',
  version_after: 'number',
  digest_before: 'id',
  digest_after: 'id',
  changes: 'number',
} as const;
const OBSERVED = ['observed'] as const;
const CHANGED = ['changed'] as const;

/** Why a credential was not accepted: the event says which, the client only gets the same 401. */
export const AUTH_REASONS = [
  'malformed',
  'bad_signature',
  'wrong_issuer',
  'wrong_audience',
  'expired',
  'not_yet_valid',
  'issued_in_future',
  'too_old',
  'missing_claim',
  'invalid_claim',
  'unknown_key',
  'no_matching_key',
  'alg_not_allowed',
  'type_not_accepted',
  'unsupported',
  'unknown_consumer',
  'introspection_inactive',
  'introspection_refused',
  'unknown_credential',
  'wrong_password',
  'empty_password',
  'certificate_unverified',
  'unknown_certificate',
  'signature_missing_components',
  'signature_expired',
  'digest_mismatch',
  'unknown_user',
] as const;
export type AuthReason = (typeof AUTH_REASONS)[number];

const WAF_DETAILS = {
  rule: 'id',
  rules: 'id',
  category: 'id',
  paranoia: 'number',
  rule_paranoia: 'number',
  score: 'number',
  threshold: 'number',
  target: 'id',
  sample: 'sample',
} as const;

function waf(name: string): EventTypeSpec {
  return {
    category: 'threat',
    severity: 'high',
    actions: REFUSED,
    description: `The waf's anomaly score reached its threshold; the top finding is ${name}. \`target\` is where (\`query:id\`, \`body:user.name\`, \`header:user-agent\`, \`path\`), \`sample\` a masked excerpt of the value.`,
    details: WAF_DETAILS,
  };
}

const REQUEST_LIMIT = { limit: 'number' } as const;

export const EVENT_TYPES = {
  // authentication
  'auth.missing_credentials': {
    category: 'authentication',
    severity: 'low',
    actions: REFUSED,
    description: 'No credential for the route\'s authentication methods was presented (a route with `anonymous` lets these through). `method` names the bearer-token method (jwt, oauth2-introspection) that looked.',
    details: { method: 'id' },
  },
  'auth.malformed_credentials': {
    category: 'authentication',
    severity: 'medium',
    actions: REFUSED,
    description: 'A credential was presented but cannot be read (not a bearer token, bad Basic encoding, unparsable signature header).',
    reasons: ['malformed'],
    details: { method: 'id' },
  },
  'auth.invalid_credentials': {
    category: 'authentication',
    severity: 'medium',
    actions: REFUSED,
    description: 'A credential was read and refused; `reason` says why (the client gets the same 401 whatever it is). JWT issuer, audience and claim problems name the claim in `claim`, key problems the `kid`.',
    reasons: AUTH_REASONS,
    details: { method: 'id', claim: 'id', kid: 'id', alg: 'id', issuer: 'id' },
  },
  'auth.consumer_namespace': {
    category: 'authentication',
    severity: 'medium',
    actions: REFUSED,
    description: 'An identity\'s name holds ":" from a party without `consumer.prefix`: it could pass for another party\'s prefixed name.',
    details: {},
  },
  'auth.replayed_signature': {
    category: 'authentication',
    severity: 'high',
    actions: REFUSED,
    description: 'hmac-auth: a signature already accepted was sent again.',
    details: {},
  },
  'auth.password_checks_saturated': {
    category: 'authentication',
    severity: 'medium',
    actions: REFUSED,
    description: 'basic-auth: too many password checks running and waiting gateway-wide; refused, not queued.',
    details: {},
  },
  'auth.password_checks_per_client': {
    category: 'authentication',
    severity: 'medium',
    actions: REFUSED,
    description: 'basic-auth: one client holds more than its share of the password checks.',
    details: { max: 'number' },
  },
  'auth.login_failed': {
    category: 'authentication',
    severity: 'medium',
    actions: REFUSED,
    description: 'oidc: a sign-in callback failed (provider error, state mismatch, code exchange refused, token not valid).',
    reasons: ['provider_error', 'no_login', 'state_mismatch', 'code_exchange_refused', 'invalid_id_token', 'unknown_consumer'],
    details: {},
  },
  'auth.login_redirect': {
    category: 'authentication',
    severity: 'info',
    actions: REFUSED,
    description: 'oidc: a browser without a session was sent to the provider to sign in.',
    details: {},
  },
  'auth.login_complete': {
    category: 'authentication',
    severity: 'info',
    actions: REFUSED,
    description: 'oidc: a sign-in completed and a session was issued.',
    details: {},
  },
  'auth.logout': {
    category: 'authentication',
    severity: 'info',
    actions: REFUSED,
    description: 'oidc: a session was ended.',
    details: {},
  },

  // authorization
  'authz.no_consumer': {
    category: 'authorization',
    severity: 'medium',
    actions: REFUSED,
    description: 'acl: no authenticated consumer to check groups of.',
    details: {},
  },
  'authz.group_denied': {
    category: 'authorization',
    severity: 'medium',
    actions: REFUSED,
    description: 'acl: the consumer is in a denied group; `group` names it.',
    details: { group: 'id' },
  },
  'authz.group_not_allowed': {
    category: 'authorization',
    severity: 'medium',
    actions: REFUSED,
    description: 'acl: the consumer is in no allowed group.',
    details: {},
  },
  'authz.insufficient_scope': {
    category: 'authorization',
    severity: 'medium',
    actions: REFUSED,
    description: 'claims: a required scope is missing; `required` lists the scopes the route asks for.',
    details: { required: 'id' },
  },
  'authz.no_claims': {
    category: 'authorization',
    severity: 'medium',
    actions: REFUSED,
    description: 'claims: the identity carries no claims (it was not authenticated by a token).',
    details: {},
  },
  'authz.claim_mismatch': {
    category: 'authorization',
    severity: 'medium',
    actions: REFUSED,
    description: 'claims: the claim rules do not hold, or the identity is from an issuer the rules do not trust.',
    reasons: ['rules_failed', 'untrusted_issuer'],
    details: {},
  },
  'cors.rejected': {
    category: 'authorization',
    severity: 'low',
    actions: REFUSED,
    description: 'cors: a cross-origin request from an origin, method or header the route does not allow.',
    details: { origin: 'sample' },
  },
  'policy.refused': {
    category: 'authorization',
    severity: 'low',
    actions: REFUSED,
    description: 'A policy refused the request without a type of its own in this registry; `source` and `code` say which policy and how, `reason` is the policy\'s token, `value` a masked sample of what it refused.',
    details: { value: 'sample' },
  },
  'policy.failed': {
    category: 'authorization',
    severity: 'medium',
    actions: REFUSED,
    description: 'A policy failed (a bug or an unexpected answer) and its `fail: closed` refused the request with a 500.',
    details: {},
  },

  // functions (src/functions/)
  'function.failed': {
    category: 'threat',
    severity: 'medium',
    actions: REFUSED,
    description:
      'A function (a service or a hook) failed: it went over its CPU, memory, stack or wall-clock limit, threw, returned something else than a Response or Request, answered too large a body, or is marked unhealthy after failing too often; the client got 502, 503 or 504. `function` names it, `reason` says how.',
    reasons: ['cpu', 'memory', 'stack', 'wall', 'crash', 'bad_result', 'too_large', 'unhealthy', 'busy'],
    details: { function: 'id' },
  },
  'function.fetch_refused': {
    category: 'threat',
    severity: 'high',
    actions: REFUSED,
    description:
      'A function called fetch() for an origin not in its allowlist, or for a name that resolved to a loopback, link-local, metadata or (without allow_private) private address (DNS rebinding); the fetch threw inside the function. `function` names it, `origin` is what it asked for.',
    reasons: ['not_allowed', 'address_refused', 'too_many'],
    details: { function: 'id', origin: 'sample' },
  },

  // traffic
  'rate_limit.exceeded': {
    category: 'traffic',
    severity: 'low',
    actions: REFUSED,
    description: 'rate-limit: the caller used up its requests for the window. `limit` and `window` are the (first) limit, `limits` all of them as in RateLimit-Policy, `key` what callers are told apart by (`ip`, `consumer`, `header:x-tenant`; never the value).',
    details: { limit: 'number', window: 'id', limits: 'id', key: 'id' },
  },
  'quota.exceeded': {
    category: 'traffic',
    severity: 'low',
    actions: REFUSED,
    description: 'quota: the caller used up its quota for the period; `key` is what callers are told apart by, never the value.',
    details: { limit: 'number', period: 'id', key: 'id' },
  },
  'concurrency.exceeded': {
    category: 'traffic',
    severity: 'low',
    actions: REFUSED,
    description: 'concurrency-limit: the caller (or the route) has as many requests in progress as it may; `key` is what callers are told apart by, never the value.',
    details: { max: 'number', key: 'id' },
  },

  // threat
  'waf.sqli': waf('SQL injection'),
  'waf.xss': waf('cross-site scripting'),
  'waf.lfi': waf('path traversal / local file inclusion'),
  'waf.rfi': waf('remote file inclusion'),
  'waf.rce': waf('OS command injection'),
  'waf.ssti': waf('template or expression injection'),
  'waf.ssrf': waf('server-side request forgery'),
  'waf.ldap': waf('LDAP filter injection'),
  'waf.proto': waf('prototype pollution'),
  'waf.crs': {
    category: 'threat',
    severity: 'high',
    actions: REFUSED,
    description:
      "The waf's CRS engine refused the request: its inbound anomaly score reached the threshold (CRS rule 949110), or a rule denied it outright; with `response.enabled`, also an upstream response whose outbound score reached its threshold (959100: the client got a 502, `target` RESPONSE_BODY or a response header, `score` the outbound score). `rule` is the first rule that scored, `rules` every rule that matched, `target` the variable it matched (`ARGS:q`, `REQUEST_HEADERS:User-Agent`), `sample` a masked excerpt of what it matched.",
    details: { ...WAF_DETAILS, msg: 'text', tags: 'id' },
  },
  'waf.rule': {
    category: 'threat',
    severity: 'medium',
    actions: OBSERVED,
    description:
      "One CRS rule matched (every match is reported, blocked or not, as ModSecurity's audit log has it): `rule` its id, `msg` its message, `tags` its tags, `rule_paranoia` its paranoia level, `target` the variable it matched, `sample` a masked excerpt of the matched data, `score` the inbound anomaly score so far (the outbound one for a response rule).",
    details: { ...WAF_DETAILS, msg: 'text', tags: 'id', severity_level: 'number' },
  },
  'waf.protocol': { ...waf('a body that does not parse or is too complex'), severity: 'medium' },
  'bot.empty_user_agent': {
    category: 'threat',
    severity: 'medium',
    actions: REFUSED,
    description: 'bot-detection: the request has no User-Agent (with `block_empty`).',
    details: {},
  },
  'bot.scanner': {
    category: 'threat',
    severity: 'medium',
    actions: REFUSED,
    description: 'bot-detection: the User-Agent names a known scanner; `bot` says which.',
    details: { bot: 'id', user_agent: 'sample' },
  },
  'bot.denied': {
    category: 'threat',
    severity: 'medium',
    actions: REFUSED,
    description: 'bot-detection: the User-Agent matches a configured deny pattern.',
    details: { user_agent: 'sample' },
  },

  // validation
  'validation.failed': {
    category: 'validation',
    severity: 'low',
    actions: REFUSED,
    description: 'request-validation: the request does not match the API description; `location` (path, query, header, cookie, body) and `message` say where and what.',
    details: { location: 'id', message: 'text' },
  },
  'validation.undeclared_operation': {
    category: 'validation',
    severity: 'low',
    actions: REFUSED,
    description: 'request-validation: the path or method is not declared in the API description.',
    reasons: ['undeclared_path', 'undeclared_method'],
    details: {},
  },
  'validation.unsupported_media_type': {
    category: 'validation',
    severity: 'low',
    actions: REFUSED,
    description: 'request-validation: the body\'s content type is not accepted or not declared.',
    details: { content_type: 'sample' },
  },

  // network
  'ip.denied': {
    category: 'network',
    severity: 'medium',
    actions: REFUSED,
    description: 'ip-restriction: the client address is on the deny list.',
    details: { ip: 'id' },
  },
  'ip.dynamically_denied': {
    category: 'network',
    severity: 'medium',
    actions: REFUSED,
    description: 'ip-restriction: the client address is on the dynamic deny list.',
    details: { ip: 'id' },
  },
  'ip.not_allowed': {
    category: 'network',
    severity: 'medium',
    actions: REFUSED,
    description: 'ip-restriction: the client address is not on the allow list.',
    details: { ip: 'id' },
  },

  // protocol
  'request.smuggling_attempt': {
    category: 'protocol',
    severity: 'high',
    actions: ['blocked'],
    description: 'Ambiguous or invalid framing (Content-Length with Transfer-Encoding, duplicate lengths, bad Host, ...); `reason` names the problem. The connection is closed.',
    details: {},
  },
  'request.malformed': {
    category: 'protocol',
    severity: 'low',
    actions: ['blocked'],
    description: 'The HTTP parser refused the request before it had a head (bad syntax, head too large, head too slow): `reason` is the error code the client got, `parser_code` the parser\'s. No request id: it never became a request. At most 5 per client address per 10 s; `suppressed` counts the ones left out before this one.',
    details: { listener: 'id', parser_code: 'id', client_ip: 'id', suppressed: 'number' },
  },
  'request.invalid_method': {
    category: 'protocol',
    severity: 'medium',
    actions: ['blocked'],
    description: 'The request method is not an upper-case token.',
    details: {},
  },
  'request.invalid_path': {
    category: 'protocol',
    severity: 'medium',
    actions: ['blocked'],
    description: 'The path does not normalize (encoded slashes or dots, bad percent-encoding, ...); `reason` says which.',
    details: {},
  },
  'request.uri_too_long': {
    category: 'protocol',
    severity: 'low',
    actions: REFUSED,
    description: 'The request target is longer than the limit.',
    details: REQUEST_LIMIT,
  },
  'request.too_many_headers': {
    category: 'protocol',
    severity: 'low',
    actions: REFUSED,
    description: 'The request has more header fields than the limit.',
    details: REQUEST_LIMIT,
  },
  'request.headers_too_large': {
    category: 'protocol',
    severity: 'low',
    actions: REFUSED,
    description: 'request-size: the request head is larger than the limit.',
    details: REQUEST_LIMIT,
  },
  'request.too_many_query_params': {
    category: 'protocol',
    severity: 'low',
    actions: REFUSED,
    description: 'request-size: the query has more parameters than the limit.',
    details: REQUEST_LIMIT,
  },
  'request.body_too_large': {
    category: 'protocol',
    severity: 'low',
    actions: REFUSED,
    description: 'The body is larger than the limit.',
    details: REQUEST_LIMIT,
  },
  'request.slow_body': {
    category: 'protocol',
    severity: 'medium',
    actions: ['blocked'],
    description: 'The client sent its body slower than `gateway.limits.min_body_rate`: 408 and the connection closed.',
    details: {},
  },

  // overload and dependencies
  'gateway.overloaded': {
    category: 'overload',
    severity: 'medium',
    actions: ['blocked'],
    description: 'The gateway is shedding load (too many requests in flight, or the event loop lags): 503 before any work. At most 20 per 10 s for the whole gateway, since they come when it can least afford to describe each one; `suppressed` counts the ones left out before this one.',
    reasons: ['in_flight', 'event_loop_delay'],
    details: { suppressed: 'number' },
    flood: { events: 20, windowMs: 10_000 },
  },
  'dependency.unavailable': {
    category: 'store',
    severity: 'medium',
    actions: REFUSED,
    description: 'A service a policy depends on did not answer (`reason`: an identity provider\'s JWKS, discovery, introspection or token endpoint, an LDAP directory, or the shared store, down or full; `dependency` names it), and the policy fails closed with 503.',
    reasons: ['idp_unreachable', 'directory_unreachable', 'store_unreachable', 'store_full'],
    details: { dependency: 'id' },
  },

  // gateway happenings: no request
  'tls.handshake_failed': {
    category: 'tls',
    severity: 'low',
    actions: OBSERVED,
    description: 'A TLS handshake on an https listener failed. `reason`: `no_shared_cipher`, `unsupported_protocol`, `not_tls` (plain HTTP or garbage), `unknown_sni`, `no_sni` (with `require_sni`), `client_certificate`, `timeout`, `reset`, or OpenSSL\'s code lower-cased. At most 5 per client address per 10 s; `suppressed` counts the address\'s events left out before this one.',
    details: { listener: 'id', client_ip: 'id', sni: 'sample', detail: 'text', suppressed: 'number' },
  },
  'http2.rapid_reset': {
    category: 'protocol',
    severity: 'high',
    actions: ['blocked'],
    description: 'An HTTP/2 client reset more streams than allowed (CVE-2023-44487): GOAWAY and the connection closed.',
    reasons: ['ceiling', 'unpaid'],
    details: { listener: 'id', client_ip: 'id', resets: 'number', limit: 'number' },
  },
  'admin.unauthorized': {
    category: 'authentication',
    severity: 'medium',
    actions: ['blocked'],
    description:
      'An admin API call without a valid admin token or admin client certificate (401). At most 5 per client address per 10 s; `suppressed` counts those left out before this one.',
    reasons: ['missing_token', 'invalid_token', 'untrusted_certificate', 'unknown_certificate'],
    details: { method: 'id', path: 'id', client_ip: 'id', suppressed: 'number' },
  },
  'admin.forbidden': {
    category: 'authorization',
    severity: 'medium',
    actions: ['blocked'],
    description: "An admin API call whose token's or client certificate's role does not grant the route's resource and verb, or a cross-site request on a client certificate (403). Rate-limited like admin.unauthorized.",
    details: { actor: 'id', role: 'id', resource: 'id', verb: 'id', method: 'id', path: 'id', client_ip: 'id', suppressed: 'number' },
  },
  'config.reloaded': {
    category: 'config',
    severity: 'info',
    actions: CHANGED,
    description: 'A new config was loaded and serves new requests.',
    details: { file: 'id', version_before: 'number', version_after: 'number', routes: 'number', services: 'number' },
  },
  'config.reload_refused': {
    category: 'config',
    severity: 'medium',
    actions: OBSERVED,
    description: 'A reload was refused (the config does not load, validate or compile, or a listener cannot open): the running config keeps serving. `issues` counts the problems; the log holds them.',
    details: { file: 'id', version: 'number', issues: 'number' },
  },
  'fleet.node_enrolled': {
    category: 'config',
    severity: 'info',
    actions: CHANGED,
    description: 'A data plane enrolled with the control plane: its one-time token is used up and it was issued a node certificate (`serial`; list it in `fleet.revoked` to cut the node off).',
    details: { client_ip: 'id', node: 'id', enrolment_id: 'id', serial: 'id' },
  },
  'fleet.enrolment_refused': {
    category: 'authentication',
    severity: 'medium',
    actions: ['blocked'],
    description: 'An enrolment with the control plane was refused: the token is not one (`malformed`, `unknown`), was used already (`used`), has expired (`expired`) or was made for another node name (`wrong_name`).',
    reasons: ['malformed', 'unknown', 'used', 'expired', 'wrong_name'],
    details: { client_ip: 'id', node: 'id', enrolment_id: 'id' },
  },
  'fleet.peer_refused': {
    category: 'tls',
    severity: 'medium',
    actions: ['blocked'],
    description: 'The control plane refused a peer on its fleet listener: no client certificate (`no_certificate`), one that does not chain to the fleet CA (`untrusted`), one that is no node certificate (`not_a_node`), or a node listed in `fleet.revoked` (`revoked`). At most one per client address a minute.',
    reasons: ['no_certificate', 'untrusted', 'not_a_node', 'revoked'],
    details: { client_ip: 'id', node: 'id', serial: 'id' },
  },
  'fleet.config_refused': {
    category: 'config',
    severity: 'high',
    actions: OBSERVED,
    description: 'A data plane refused a config version the control plane pushed (it does not load, validate or compile there, or a listener cannot open) and keeps its previous one. `issues` counts the problems; the control plane\'s log holds them.',
    details: { node: 'id', hash: 'id', issues: 'number' },
  },
  'certificate.expiring': {
    category: 'certificate',
    severity: 'medium',
    actions: OBSERVED,
    description: 'A certificate the gateway holds is inside its warning window (at most once a day per certificate).',
    details: { source: 'id', role: 'id', subject: 'text', serial: 'id', not_after: 'id', days_left: 'number' },
  },
  'certificate.expired': {
    category: 'certificate',
    severity: 'high',
    actions: OBSERVED,
    description: 'A certificate the gateway holds has expired (at most once a day per certificate).',
    details: { source: 'id', role: 'id', subject: 'text', serial: 'id', not_after: 'id' },
  },
  'certificate.renewed': {
    category: 'certificate',
    severity: 'info',
    actions: CHANGED,
    description: 'A listener certificate with `renew:` was renewed from the built-in CA: a new key and certificate were written over its files and are served from the next handshake.',
    details: { source: 'id', file: 'id', previous_serial: 'id' },
  },
  'certificate.renewal_failed': {
    category: 'certificate',
    severity: 'high',
    actions: OBSERVED,
    description: 'A listener certificate with `renew:` could not be renewed (the CA did not load, or its files could not be written); retried every minute while the certificate on disk still serves.',
    details: { source: 'id', file: 'id', not_after: 'id' },
  },
  'store.unavailable': {
    category: 'store',
    severity: 'high',
    actions: OBSERVED,
    description: 'The shared store stopped answering: limits follow each policy\'s fail mode until it is back. Once per incident.',
    details: { store: 'id', error: 'text' },
  },
  'store.recovered': {
    category: 'store',
    severity: 'info',
    actions: OBSERVED,
    description: 'The shared store answers again after an outage.',
    details: { store: 'id', down_ms: 'number', failed_operations: 'number' },
  },

  // automatic defense (src/defense/, docs/defense.md)
  'defense.detected': {
    category: 'defense',
    severity: 'medium',
    actions: ['observed', 'monitored'],
    description: 'A detection crossed its threshold for a key (`key_kind`, `key`; for `ip` an IPv4 address or an IPv6 network of `defense.ipv6_prefix` bits, `2001:db8:1:2::/64`): `count` matching requests (or distinct values, or the share in thousandths for a ratio) within `window`. `monitored` when the detection is in monitor mode. The playbook\'s actions follow as defense.action events.',
    details: { detection: 'id', playbook: 'id', key_kind: 'id', key: 'id', count: 'number', threshold: 'number', window: 'id' },
  },
  'defense.action': {
    category: 'defense',
    severity: 'high',
    actions: ['changed', 'monitored'],
    description: 'An action was taken (`changed`), or would have been in monitor mode (`monitored`): `kind` block, suspend, tighten or require, on `scope` (ip, consumer, credential) `target`, until `expires_at`; `by` says who (a detection, the admin API); `strike` counts repeats (escalation).',
    details: { id: 'id', kind: 'id', scope: 'id', target: 'id', duration_ms: 'number', expires_at: 'id', by: 'text', detection: 'id', strike: 'number', policy: 'id', limit: 'number' },
  },
  'defense.lifted': {
    category: 'defense',
    severity: 'low',
    actions: CHANGED,
    description: 'An action ended: `reason` expired (its time was up) or lifted (the admin API, `portcullis defense lift`).',
    reasons: ['expired', 'lifted'],
    details: { id: 'id', kind: 'id', scope: 'id', target: 'id', by: 'text' },
  },
  'defense.skipped': {
    category: 'defense',
    severity: 'medium',
    actions: OBSERVED,
    description: 'An action a playbook asked for was not taken: `reason` allowlisted (the target is on defense.allowlist), no_target (the request had no consumer to suspend, say), rate_limited (max_actions_per_minute), full (max_actions in force), store_unavailable.',
    reasons: ['allowlisted', 'no_target', 'rate_limited', 'full', 'store_unavailable'],
    details: { detection: 'id', kind: 'id', scope: 'id', target: 'id' },
  },
  'defense.refused': {
    category: 'defense',
    severity: 'medium',
    actions: ['blocked'],
    description: 'A request refused by an action in force (an address block is ip.dynamically_denied): `reason` suspended (403 access_suspended), tightened (429 rate_limited), mtls_required (403), retry_later (429).',
    reasons: ['suspended', 'tightened', 'mtls_required', 'retry_later'],
    details: { id: 'id', scope: 'id' },
  },
  'defense.notify_failed': {
    category: 'defense',
    severity: 'medium',
    actions: OBSERVED,
    description: 'A webhook or email notification could not be delivered (after its timeout); `notifier` names it, `error` says why.',
    details: { notifier: 'id', error: 'text' },
  },

  // the audit trail (telemetry/audit/): each record also goes on the stream, so a SIEM holds a copy
  'audit.config_load': {
    category: 'audit',
    severity: 'info',
    actions: CHANGED,
    description: 'The audit record of the config loaded at start (docs/audit.md); `record` is the signed line as written to the trail.',
    details: AUDIT_CHANGE,
  },
  'audit.config_reload': {
    category: 'audit',
    severity: 'low',
    actions: CHANGED,
    description: 'The audit record of a reload: who asked, from where, versions and digests before and after, and how many changes the masked diff holds.',
    details: AUDIT_CHANGE,
  },
  'audit.config_refused': {
    category: 'audit',
    severity: 'medium',
    actions: CHANGED,
    description: 'The audit record of a refused reload; the running config keeps serving.',
    details: AUDIT_CHANGE,
  },
  'audit.checkpoint': {
    category: 'audit',
    severity: 'info',
    actions: OBSERVED,
    description: 'A signed checkpoint of the audit trail (every `checkpoint_every` records and at shutdown): a tail cut after it is detected.',
    details: { ...AUDIT_RECORD, count: 'number' },
  },
  'audit.chain_broken': {
    category: 'audit',
    severity: 'critical',
    actions: OBSERVED,
    description: 'At start, the audit trail\'s tail did not verify: a new segment starts and names the broken line (`portcullis audit verify` shows the rest).',
    details: { ...AUDIT_RECORD, reason: 'text', broken_line: 'number' },
  },
  'audit.defense_action': {
    category: 'audit',
    severity: 'low',
    actions: CHANGED,
    description: 'The audit record of an automatic defense action taken, lifted, expired or (monitor mode) only recorded.',
    details: { ...AUDIT_RECORD, action: 'id', id: 'id', kind: 'id', scope: 'id', target: 'id', by: 'text', expires_at: 'id' },
  },
  'audit.write_failed': {
    category: 'audit',
    severity: 'high',
    actions: CHANGED,
    description: 'An audit record could not be written to the trail (the change still applies); `record` carries it, and the next record counts the gap.',
    details: AUDIT_CHANGE,
  },
} as const satisfies Record<string, EventTypeSpec>;

export type EventType = keyof typeof EVENT_TYPES;

/** The type's spec, or undefined for a name that is not registered (from outside the type system). */
export function eventSpec(type: string): EventTypeSpec | undefined {
  return Object.hasOwn(EVENT_TYPES, type) ? (EVENT_TYPES as Record<string, EventTypeSpec>)[type] : undefined;
}

/**
 * The config as users write it (DESIGN.md "The config, as a user writes it").
 * Policy entries are checked here only for their shape (one key per entry);
 * each policy's own schema checks its settings (see validate.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import { ListenerTlsSchema, UpstreamTlsSchema } from './tls-schema.js';
import { Cidr, Duration, Secret, Size } from './types.js';
import { TelemetrySchema } from './telemetry/index.js';
import { AdminSchema } from './admin.js';
import { DefenseSchema } from './defense.js';
import { FunctionsRuntimeSchema, FunctionsSchema, LambdaSchema } from './functions.js';
import { FleetSchema } from './fleet.js';

const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', description: 'letters, digits, ".", "_", "-"' });

const PolicyEntry = Type.Record(Type.String(), Type.Unknown(), {
  minProperties: 1,
  maxProperties: 1,
  description: 'one policy: { policy-name: { settings } }',
});

const Address = Type.String({ format: 'listen-address', description: 'host:port; port 0 picks a free port' });

export const ListenerSchema = Type.Object(
  {
    name: Name,
    address: Address,
    protocol: Type.Union([Type.Literal('http'), Type.Literal('https')], { default: 'http', description: 'http, or https with tls settings' }),
    tls: Type.Optional(ListenerTlsSchema),
    redirect_to: Type.Optional(Type.String({ pattern: Name.pattern, description: 'an https listener: this http listener then answers every request with a 308 to it' })),
    redirect_port: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 65535, description: 'the port written in redirects when clients reach the https listener on another port than it binds' }),
    ),
  },
  { additionalProperties: false },
);

export const TargetSchema = Type.Object(
  {
    url: Type.String({ format: 'upstream-url', description: 'http://host:port or https://host:port, optionally with a base path' }),
    weight: Type.Integer({ minimum: 0, maximum: 10_000, default: 1 }),
  },
  { additionalProperties: false },
);

const StatusCode = Type.Integer({ minimum: 100, maximum: 599 });

export const ActiveHealthSchema = Type.Object(
  {
    path: Type.String({ pattern: '^/', default: '/', description: 'the path each check requests (GET)' }),
    interval: Duration({ default: '5s', description: 'time between checks' }),
    timeout: Duration({ default: '2s', description: 'a check slower than this fails' }),
    healthy_threshold: Type.Integer({ minimum: 1, default: 2, description: 'successes in a row to put a target back' }),
    unhealthy_threshold: Type.Integer({ minimum: 1, default: 3, description: 'failures in a row to take a target out' }),
    expected_statuses: Type.Array(StatusCode, { default: [200, 201, 202, 203, 204, 301, 302, 303, 304, 307, 308], description: 'statuses that count as healthy' }),
  },
  { additionalProperties: false },
);

export const PassiveHealthSchema = Type.Object(
  {
    failures: Type.Integer({ minimum: 1, default: 5, description: 'failed requests within window that take a target out' }),
    window: Duration({ default: '30s', description: 'the period failures are counted over' }),
    cooldown: Duration({ default: '30s', description: 'how long a target stays out when no active check brings it back' }),
    statuses: Type.Array(StatusCode, { default: [500, 502, 503, 504], description: 'upstream statuses that count as failures' }),
  },
  { additionalProperties: false },
);

export const BreakerSchema = Type.Object(
  {
    failures: Type.Integer({ minimum: 1, default: 5, description: 'consecutive failures that open the circuit' }),
    open_for: Duration({ default: '30s', description: 'how long the circuit stays open before one probe request' }),
  },
  { additionalProperties: false },
);

const RetryOn = Type.Union([Type.Literal('connect-failure'), Type.Literal('timeout'), StatusCode]);

export const ServiceSchema = Type.Object(
  {
    name: Name,
    type: Type.Union([Type.Literal('http'), Type.Literal('function'), Type.Literal('aws-lambda')], {
      default: 'http',
      description: 'http: proxied to targets; function: a function of `functions` answers; aws-lambda: a Lambda function is invoked (docs/functions.md)',
    }),
    targets: Type.Optional(Type.Array(TargetSchema, { minItems: 1, description: 'http: where the service runs; requests are balanced over them' })),
    function: Type.Optional(Type.String({ pattern: Name.pattern, description: 'type function: the name of the function in `functions`' })),
    lambda: Type.Optional(LambdaSchema),
    balance: Type.Union(
      [Type.Literal('round-robin'), Type.Literal('least-connections'), Type.Literal('consistent-hash'), Type.Literal('random')],
      { default: 'round-robin' },
    ),
    hash_on: Type.Union([Type.Literal('client_ip'), Type.Literal('consumer'), Type.Literal('header')], {
      default: 'client_ip',
      description: 'what consistent-hash balances on',
    }),
    hash_header: Type.Optional(Type.String({ minLength: 1, description: 'the header when hash_on is header' })),
    health: Type.Object(
      { active: Type.Optional(ActiveHealthSchema), passive: Type.Optional(PassiveHealthSchema) },
      { additionalProperties: false, default: {}, description: 'active checks probe each target; passive ones watch real traffic' },
    ),
    breaker: Type.Optional(BreakerSchema),
    timeouts: Type.Object(
      {
        connect: Duration({ default: '5s' }),
        response: Duration({ default: '60s', description: 'until the response headers arrive' }),
        idle: Duration({ default: '60s', description: 'longest silence while a body streams' }),
      },
      { additionalProperties: false, default: {} },
    ),
    retries: Type.Object(
      {
        attempts: Type.Integer({ minimum: 0, maximum: 10, default: 1, description: 'extra attempts after the first' }),
        on: Type.Array(RetryOn, {
          default: ['connect-failure', 502, 503],
          description: 'connect-failure, timeout, or upstream statuses; only idempotent requests without a streamed body are retried',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    preserve_host: Type.Boolean({ default: false, description: 'send the client Host header upstream instead of the target host' }),
    max_connections: Type.Integer({ minimum: 1, default: 256, description: 'connections per target' }),
    keepalive_timeout: Duration({ default: '60s', description: 'how long an idle upstream connection is kept' }),
    tls: Type.Optional(UpstreamTlsSchema),
    http2: Type.Boolean({ default: false, description: 'offer HTTP/2 to https targets by ALPN (they may still answer HTTP/1.1)' }),
  },
  { additionalProperties: false },
);

export const HeaderMatchSchema = Type.Record(Type.String({ pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$' }), Type.String(), {
  description: 'header name → exact value, or "~ regex" (RE2)',
});

export const RouteSchema = Type.Object(
  {
    name: Name,
    service: Name,
    public: Type.Boolean({ default: false, description: 'allow the route without an authentication policy' }),
    skip: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description:
        'global policies (by name, such as jwt) that do not run on this route; skipping the last authentication needs "public: true"',
    }),
    anonymous: Type.Optional(
      Type.String({ minLength: 1, description: 'a consumer that callers presenting no credentials are treated as (low privilege)' }),
    ),
    strip_prefix: Type.Boolean({ default: false, description: 'remove the matched path prefix before proxying' }),
    preserve_host: Type.Optional(Type.Boolean({ description: "overrides the service's preserve_host" })),
    match: Type.Object(
      {
        hosts: Type.Optional(Type.Array(Type.String({ format: 'route-host' }), { minItems: 1, description: 'exact or *.wildcard hosts; any host when absent' })),
        paths: Type.Optional(
          Type.Array(Type.String({ format: 'route-path' }), { minItems: 1, description: '/prefix, = /exact or ~ regex (RE2); every path when absent' }),
        ),
        methods: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Z]+$' }), { minItems: 1, description: 'any method when absent' })),
        headers: Type.Optional(HeaderMatchSchema),
      },
      { additionalProperties: false, default: {}, description: 'which requests the route takes' },
    ),
    policies: Type.Array(PolicyEntry, { default: [], description: 'the route\'s policies, as { name: { settings } } entries' }),
  },
  { additionalProperties: false },
);

export const ConsumerSchema = Type.Object(
  {
    name: Name,
    groups: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'for authorization policies, and sent upstream' }),
    metadata: Type.Record(Type.String(), Type.String(), { default: {}, description: 'free-form labels' }),
    credentials: Type.Record(Type.String(), Type.Array(Type.Unknown()), {
      default: {},
      description: 'method name → credentials; each method checks its own shape',
    }),
  },
  { additionalProperties: false },
);

export const GatewaySettingsSchema = Type.Object(
  {
    trusted_proxies: Type.Array(Cidr(), {
      default: [],
      description: 'peers whose X-Forwarded-For is believed when finding the client IP',
    }),
    shutdown_timeout: Duration({ default: '30s', description: 'how long in-flight requests may finish on SIGTERM, once the listeners have closed (at most 24d, as every timer)' }),
    drain_delay: Duration({
      default: '0s',
      description:
        'on SIGTERM, how long readiness answers 503 while new requests are still served, before the listeners close: the time a load balancer or Kubernetes needs to stop sending traffic (0s: close at once)',
    }),
    request_id: Type.Object(
      {
        header: Type.String({ default: 'x-request-id', description: 'the header that carries the request id, both ways' }),
        trust_incoming: Type.Boolean({ default: true, description: 'keep a well-formed request id sent by the client' }),
      },
      { additionalProperties: false, default: {} },
    ),
    escaped_slashes: Type.Union([Type.Literal('reject'), Type.Literal('keep')], {
      default: 'reject',
      description: 'what to do with %2F and %5C in paths: reject (400) or forward unchanged',
    }),
    path_parameters: Type.Union([Type.Literal('reject'), Type.Literal('keep')], {
      default: 'reject',
      description:
        'what to do with ";" in paths, which Tomcat, Jetty and Spring read as a path parameter (/admin;x is /admin to them): reject (400) or forward unchanged, matched literally by the routes',
    }),
    access_log: Type.Boolean({ default: true, description: 'an access record per request, to telemetry.access_log.sinks (by default one JSON line on stdout); false: none' }),
    hide_response_headers: Type.Array(Type.String({ pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$' }), {
      default: ['server', 'x-powered-by', 'x-aspnet-version', 'x-aspnetmvc-version'],
      description: 'upstream response headers removed before the response reaches the client ([] keeps them all)',
    }),
    watch: Type.Boolean({ default: false, description: 'reload when the config file changes' }),
    workers: Type.Union([Type.Literal('auto'), Type.Integer({ minimum: 1, maximum: 256 })], {
      default: 'auto',
      description:
        'processes of `portcullis start` sharing the listeners (docs/workers.md): auto = one per core the process may use; 1 = one process, as before. Limits on the memory store stay exact across them',
    }),
    health_path: Type.Optional(
      Type.String({
        pattern: '^/[A-Za-z0-9._~/-]*$',
        description:
          'the readiness path every listener answers itself, before routing and never shed: 200, or 503 while shutting down, while the store is down or while a provider a route needs was never reached; none when absent',
      }),
    ),
    liveness_path: Type.Optional(
      Type.String({
        pattern: '^/[A-Za-z0-9._~/-]*$',
        description: 'a path every listener answers itself with 200 while the process serves, draining or not (a liveness probe); none when absent',
      }),
    ),
    limits: Type.Object(
      {
        max_header_size: Size({ default: '16KiB', description: 'request line and headers together; larger heads get 431' }),
        headers_timeout: Duration({ default: '10s', description: 'time a client has to send the request head; at most request_timeout' }),
        request_timeout: Duration({ default: '5m', description: 'time a client has to send the whole request' }),
        keepalive_timeout: Duration({ default: '5s', description: 'idle time before a client connection is closed' }),
        max_requests_per_connection: Type.Integer({ minimum: 0, default: 0, description: '0 means no limit' }),
        max_buffered_body: Size({ default: '8MiB', description: 'the most a policy may read of a body into memory' }),
        max_header_count: Type.Integer({ minimum: 1, maximum: 10_000, default: 100, description: 'request header fields; more get 431' }),
        max_url_length: Size({ default: '8KiB', description: 'request target (path and query); longer gets 414' }),
        min_body_rate: Size({
          default: '1KiB',
          description: 'bytes per second a client must keep up while the gateway waits for its body (slow POST); slower gets 408; 0 turns it off',
        }),
        body_rate_window: Duration({ default: '10s', description: 'the period min_body_rate is averaged over' }),
        max_connections: Type.Integer({ minimum: 0, default: 0, description: 'open client connections per listener; 0 means no limit beyond the OS' }),
        max_connections_per_ip: Type.Integer({
          minimum: 0,
          default: 1000,
          description: 'open connections from one client address (trusted proxies exempt); more are answered 429 and closed; 0 means no limit',
        }),
        max_in_flight: Type.Integer({ minimum: 0, default: 10_000, description: 'requests in progress in the gateway; more are shed with 503; 0 means no limit' }),
        http2_max_resets: Type.Integer({
          minimum: 0,
          default: 100,
          description:
            'HTTP/2 streams a client may reset before their response is complete, beyond the streams the upstream served it (answers the gateway gives itself, such as a 401, do not count), per connection; past it, or past ten times it in a burst (refilled at a tenth of it per second, however many streams complete), the connection is closed (GOAWAY ENHANCE_YOUR_CALM: rapid reset, CVE-2023-44487); 0 means no limit',
        }),
        max_event_loop_delay: Duration({
          default: '1s',
          description: 'event loop lag past which new requests are shed with 503 until it recovers; "0s" turns it off',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

const RedisNode = Type.String({ pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[^\\s:/\\[\\]]+):\\d{1,5}$', description: 'host:port' });

export const StoreSchema = Type.Object(
  {
    kind: Type.Union([Type.Literal('memory'), Type.Literal('redis')], {
      description: 'memory: state kept in this process; redis: shared by every gateway node using the same Redis',
    }),
    max_keys: Type.Integer({
      minimum: 1000,
      default: 1_000_000,
      description:
        'memory: the size of each of two pools. Ordinary keys (rate limits, quotas): past it the entry created first is evicted. '
        + 'Security state (replay memory, revoked sessions): never evicted; when full, expired entries are dropped (a bounded batch, oldest first) '
        + 'and if none was, the new entry is refused (the policy fails as its `fail` mode says: 503 when closed)',
    }),
    url: Type.Optional(
      Type.String({ pattern: '^rediss?://', description: 'redis: a single server, redis://host:port/db or rediss:// for TLS (put the password in `password`)' }),
    ),
    sentinel: Type.Optional(
      Type.Object(
        {
          name: Type.String({ minLength: 1, description: 'the master name the sentinels monitor' }),
          nodes: Type.Array(RedisNode, { minItems: 1, description: 'some of the sentinels, as host:port' }),
        },
        { additionalProperties: false, description: 'redis: find the master through Redis Sentinel' },
      ),
    ),
    cluster: Type.Optional(
      Type.Object(
        { nodes: Type.Array(RedisNode, { minItems: 1, description: 'some of the cluster nodes, as host:port' }) },
        { additionalProperties: false, description: 'redis: a Redis Cluster' },
      ),
    ),
    username: Type.Optional(Type.String({ minLength: 1, description: 'redis: ACL user name' })),
    password: Type.Optional(Secret({ description: 'redis: password (use ${env:...} or ${file:...})' })),
    prefix: Type.String({ default: 'portcullis:', pattern: '^[^\\s]{0,64}$', description: 'redis: prepended to every key and channel' }),
    timeout: Duration({ default: '250ms', description: 'redis: an operation slower than this counts as the store being down' }),
    connect_timeout: Duration({ default: '2s', description: 'redis: how long connecting may take; start-up waits this long at most' }),
  },
  { additionalProperties: false, default: { kind: 'memory' }, description: 'where shared state (limits, quotas, block lists) lives' },
);

export const ConfigSchema = Type.Object(
  {
    gateway: GatewaySettingsSchema,
    listeners: Type.Array(ListenerSchema, { minItems: 1 }),
    store: StoreSchema,
    services: Type.Array(ServiceSchema, { default: [] }),
    functions: FunctionsSchema,
    functions_runtime: FunctionsRuntimeSchema,
    routes: Type.Array(RouteSchema, { default: [] }),
    consumers: Type.Array(ConsumerSchema, { default: [] }),
    global_policies: Type.Array(PolicyEntry, { default: [], description: 'policies run on every route, before the route\'s own in each phase' }),
    telemetry: TelemetrySchema,
    admin: AdminSchema,
    defense: DefenseSchema,
    fleet: FleetSchema,
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type ListenerConfig = Static<typeof ListenerSchema>;
export type ServiceConfig = Static<typeof ServiceSchema>;
export type RouteConfig = Static<typeof RouteSchema>;
export type ConsumerConfig = Static<typeof ConsumerSchema>;
export type GatewaySettings = Static<typeof GatewaySettingsSchema>;
export type StoreConfig = Static<typeof StoreSchema>;
export type PolicyEntryConfig = Static<typeof PolicyEntry>;

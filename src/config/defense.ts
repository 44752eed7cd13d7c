/**
 * The `defense` section: detections on the gateway's own event stream and
 * request outcomes, and the playbooks they run (docs/defense.md). Checked
 * here for shape; the cross-checks the schema cannot make (a detection's
 * playbook exists, a ratio is keyed by route, an allowlist entry parses) are
 * in checkDefense, reported with file:line like every other config error.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { ConfigPath } from './errors.js';
import { Cidr, Duration, Secret } from './types.js';
import { parseDuration } from './units.js';

const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', description: 'letters, digits, ".", "_", "-"' });
/** Durations an action lasts: at least a second, at most 30 days (a ban that never ends is an operator's `portcullis defense ban`). */
const ActionDuration = (description: string) => Duration({ description: `${description} (1s to 30d)` });

const KEY = Type.Union([Type.Literal('ip'), Type.Literal('consumer'), Type.Literal('credential'), Type.Literal('route')], {
  description: 'what is counted per: the client address, the authenticated consumer, the credential id, or the route',
});
const DISTINCT_OF = Type.Union([Type.Literal('attempted_credential'), Type.Literal('ip'), Type.Literal('consumer'), Type.Literal('path')], {
  description:
    'what distinct values are counted: attempted_credential (the user name or key a client tried, hashed at once, never kept), the client address, the consumer, the path',
});

const MatchSchema = Type.Object(
  {
    events: Type.Array(Type.String({ pattern: '^[a-z0-9_]+(\\.[a-z0-9_*]+)?$', maxLength: 80 }), {
      maxItems: 64,
      default: [],
      description: 'event types that count ("auth.invalid_credentials", or "waf.*" for a family); refused requests only, not monitored ones',
    }),
    statuses: Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), { maxItems: 32, default: [], description: 'response statuses that count (404 for scanners)' }),
    routes: Type.Array(Name, { maxItems: 64, default: [], description: 'only requests of these routes count (default: every request)' }),
    authenticated: Type.Optional(Type.Boolean({ description: 'true: only requests with an authenticated consumer count (every such request when events and statuses are empty)' })),
  },
  { additionalProperties: false, description: 'what counts: a request counts when it carries one of `events` or answered one of `statuses`' },
);

export const DetectionSchema = Type.Object(
  {
    name: Name,
    mode: Type.Union([Type.Literal('enforce'), Type.Literal('monitor')], {
      default: 'enforce',
      description: 'monitor: record (defense.detected, audit) what the playbook would have done, and do nothing',
    }),
    match: MatchSchema,
    key: KEY,
    threshold: Type.Optional(
      Type.Object(
        {
          count: Type.Integer({ minimum: 1, maximum: 100_000, description: 'matching requests per key within `window` that trigger' }),
          window: Duration({ description: 'the sliding window (1s to 1d)' }),
        },
        { additionalProperties: false, description: 'exact count in a sliding window, fleet-wide on Redis' },
      ),
    ),
    distinct: Type.Optional(
      Type.Object(
        {
          of: DISTINCT_OF,
          count: Type.Integer({ minimum: 2, maximum: 100_000, description: 'distinct values per key within `window` that trigger' }),
          window: Duration({ description: 'the window (1s to 1d), counted in five slices: it reaches back between 4/5 of it and all of it' }),
        },
        { additionalProperties: false, description: 'distinct values per key: exact on memory, HyperLogLog on Redis (standard error 0.81%)' },
      ),
    ),
    ratio: Type.Optional(
      Type.Object(
        {
          above: Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'matching / all requests of the route above this triggers' }),
          min_requests: Type.Integer({ minimum: 1, default: 20, description: 'no ratio is judged on fewer requests in the window' }),
          window: Duration({ description: 'the sliding window (1s to 1d)' }),
        },
        { additionalProperties: false, description: 'matching share of a route\'s requests; key must be "route"' },
      ),
    ),
    playbook: Name,
  },
  { additionalProperties: false },
);

const BlockAction = Type.Object(
  {
    block: Type.Object(
      {
        duration: ActionDuration('how long the address is refused'),
        prefix: Type.Optional(Type.Integer({ minimum: 8, maximum: 128, description: 'block the network around the address (/24, /64) rather than the address' })),
      },
      { additionalProperties: false, description: 'refuse the key\'s client address (403 ip_forbidden) on every node, before routing' },
    ),
  },
  { additionalProperties: false },
);
const SuspendAction = Type.Object(
  {
    suspend: Type.Object(
      {
        target: Type.Optional(Type.Union([Type.Literal('consumer'), Type.Literal('credential')], { description: 'consumer (the default) or credential' })),
        duration: ActionDuration('how long'),
      },
      { additionalProperties: false, description: 'refuse the consumer (or only the credential) of the request that triggered (403 access_suspended)' },
    ),
  },
  { additionalProperties: false },
);
const TightenAction = Type.Object(
  {
    tighten: Type.Object(
      {
        limit: Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'requests per `per` the key keeps' }),
        per: Duration({ description: 'the limit\'s window' }),
        duration: ActionDuration('how long the tighter limit holds'),
      },
      { additionalProperties: false, description: 'a rate limit on the key (its address, consumer or credential) over every route: 429 past it' },
    ),
  },
  { additionalProperties: false },
);
const RequireAction = Type.Object(
  {
    require: Type.Object(
      {
        policy: Type.Union([Type.Literal('mtls'), Type.Literal('retry_later')], {
          description: 'mtls: only requests with a verified client certificate pass; retry_later: 429 with Retry-After until it expires',
        }),
        duration: ActionDuration('how long'),
      },
      { additionalProperties: false, description: 'require more of the key for a while' },
    ),
  },
  { additionalProperties: false },
);
const NotifyAction = Type.Object(
  {
    notify: Type.Object(
      {
        webhook: Type.Optional(Name),
        email: Type.Optional(Name),
      },
      { additionalProperties: false, description: 'tell someone: a webhook or an email notifier by name. Every action also goes on the event stream (the sinks: syslog, SIEM)' },
    ),
  },
  { additionalProperties: false },
);

export const PlaybookSchema = Type.Object(
  {
    name: Name,
    actions: Type.Array(Type.Union([BlockAction, SuspendAction, TightenAction, RequireAction, NotifyAction]), { minItems: 1, maxItems: 16, description: 'run in order' }),
    escalation: Type.Optional(
      Type.Object(
        {
          factor: Type.Optional(Type.Number({ minimum: 1, maximum: 100, description: 'each repeat multiplies the durations by this' })),
          steps: Type.Optional(Type.Array(Duration(), { minItems: 1, maxItems: 16, description: 'the durations of the 1st, 2nd, ... trigger (the last one repeats)' })),
          max: Duration({ default: '7d', description: 'no duration grows past this (at most 30d)' }),
          reset_after: Duration({ default: '1d', description: 'a key quiet this long starts again at the first step' }),
        },
        { additionalProperties: false, description: 'durations that grow on repeat (give factor or steps)' },
      ),
    ),
  },
  { additionalProperties: false },
);

const WebhookSchema = Type.Object(
  {
    name: Name,
    url: Type.String({ pattern: '^https?://', maxLength: 2048, description: 'where actions are POSTed as JSON' }),
    secret: Secret({ maxLength: 4096, description: 'HMAC-SHA256 key: X-Portcullis-Signature: t=<unix s>,v1=<hex of HMAC(t + "." + body)>' }),
    timeout: Duration({ default: '5s' }),
  },
  { additionalProperties: false },
);

const EmailSchema = Type.Object(
  {
    name: Name,
    smtp: Type.String({ pattern: '^smtps?://', maxLength: 2048, description: 'the SMTP relay: smtp://host:port (STARTTLS when offered) or smtps://' }),
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    password: Type.Optional(Secret({ maxLength: 4096 })),
    require_tls: Type.Boolean({ default: true, description: 'refuse to send over a relay that does not offer STARTTLS (smtp://)' }),
    from: Type.String({ minLength: 3, maxLength: 256 }),
    to: Type.Array(Type.String({ minLength: 3, maxLength: 256 }), { minItems: 1, maxItems: 20 }),
    timeout: Duration({ default: '10s' }),
  },
  { additionalProperties: false },
);

export const DefenseSchema = Type.Optional(
  Type.Object(
    {
      detections: Type.Array(DetectionSchema, { default: [], maxItems: 64 }),
      playbooks: Type.Array(PlaybookSchema, { default: [], maxItems: 64 }),
      allowlist: Type.Object(
        {
          cidrs: Type.Array(Cidr(), { default: [], maxItems: 1000, description: 'addresses no action ever touches (health checkers, internal networks)' }),
          consumers: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { default: [], maxItems: 1000, description: 'consumers no action ever touches' }),
        },
        { additionalProperties: false, default: {} },
      ),
      notifiers: Type.Object(
        {
          webhooks: Type.Array(WebhookSchema, { default: [], maxItems: 16 }),
          email: Type.Array(EmailSchema, { default: [], maxItems: 16 }),
        },
        { additionalProperties: false, default: {} },
      ),
      ipv6_prefix: Type.Integer({
        minimum: 48,
        maximum: 128,
        default: 64,
        description:
          'an IPv6 client is counted, blocked and tightened as its network of this many bits (one subscriber or host holds a whole /64); 128 counts each address. IPv4 clients are counted per address',
      }),
      max_actions: Type.Integer({ minimum: 1, maximum: 100_000, default: 10_000, description: 'actions in force at most; a detection finding none left records it and acts on nothing' }),
      max_actions_per_minute: Type.Integer({ minimum: 1, maximum: 10_000, default: 120, description: 'actions detections may take per minute on one node (action flooding)' }),
      resync: Duration({ default: '5s', description: 'how often a node re-reads every action from the store (a node that missed a message converges)' }),
      state_file: Type.Optional(
        Type.String({
          minLength: 1,
          description:
            'a file the actions in force are written to (atomically, 0600) and read back at start, so a node on the memory store keeps enforcing across a restart (Redis keeps them itself); relative to the config file',
        }),
      ),
    },
    { additionalProperties: false, description: 'automatic defense: detections and the playbooks they run (docs/defense.md)' },
  ),
);

export type DefenseConfig = NonNullable<Static<typeof DefenseSchema>>;
export type DetectionConfig = Static<typeof DetectionSchema>;
export type PlaybookConfig = Static<typeof PlaybookSchema>;

const DAY = 86_400_000;

/** The cross-checks the schema cannot make. */
export function checkDefense(
  config: { defense?: DefenseConfig; admin?: unknown; routes: ReadonlyArray<{ name: string }>; store: { kind: string } },
  report: (path: ConfigPath, message: string) => void,
  warn: (path: ConfigPath, message: string) => void,
): void {
  const defense = config.defense;
  if (defense === undefined) return;
  const playbooks = new Map<string, number>();
  defense.playbooks.forEach((p, i) => {
    if (playbooks.has(p.name)) report(['defense', 'playbooks', i, 'name'], `playbook "${p.name}" is declared twice`);
    playbooks.set(p.name, i);
    p.actions.forEach((a, j) => {
      const path: ConfigPath = ['defense', 'playbooks', i, 'actions', j];
      const body = Object.values(a)[0] as { duration?: string; webhook?: string; email?: string };
      if (body.duration !== undefined) inRange(body.duration, 1000, 30 * DAY, [...path, Object.keys(a)[0]!, 'duration'], report);
      if ('notify' in a) {
        if (body.webhook === undefined && body.email === undefined) report([...path, 'notify'], 'name a webhook or an email notifier');
        if (body.webhook !== undefined && !defense.notifiers.webhooks.some((w) => w.name === body.webhook)) report([...path, 'notify', 'webhook'], `no webhook notifier "${body.webhook}"`);
        if (body.email !== undefined && !defense.notifiers.email.some((e) => e.name === body.email)) report([...path, 'notify', 'email'], `no email notifier "${body.email}"`);
      }
    });
    const e = p.escalation;
    if (e && (e.factor === undefined) === (e.steps === undefined)) report(['defense', 'playbooks', i, 'escalation'], 'give one of "factor" or "steps"');
    if (e) inRange(e.max, 1000, 30 * DAY, ['defense', 'playbooks', i, 'escalation', 'max'], report);
  });
  const names = new Set<string>();
  const routes = new Set(config.routes.map((r) => r.name));
  defense.detections.forEach((d, i) => {
    const path: ConfigPath = ['defense', 'detections', i];
    if (names.has(d.name)) report([...path, 'name'], `detection "${d.name}" is declared twice`);
    names.add(d.name);
    const kinds = (['threshold', 'distinct', 'ratio'] as const).filter((k) => d[k] !== undefined);
    if (kinds.length !== 1) report(path, 'give exactly one of "threshold", "distinct" or "ratio"');
    const window = d.threshold?.window ?? d.distinct?.window ?? d.ratio?.window;
    const kind = kinds[0];
    if (window !== undefined && kind !== undefined) inRange(window, 1000, DAY, [...path, kind, 'window'], report);
    if (d.ratio && d.key !== 'route') report([...path, 'key'], 'a ratio is judged per route: set key: route');
    if (!d.ratio && d.key === 'route' && d.match.routes.length === 0) warn([...path, 'key'], 'keyed by route with no match.routes: an action on a route key can only notify');
    if (d.match.events.length === 0 && d.match.statuses.length === 0 && d.match.authenticated !== true) {
      report([...path, 'match'], 'match nothing? give events, statuses, or authenticated: true');
    }
    d.match.routes.forEach((r, j) => routes.has(r) || report([...path, 'match', 'routes', j], `no route named "${r}"`));
    if (!playbooks.has(d.playbook)) report([...path, 'playbook'], `no playbook "${d.playbook}" in defense.playbooks`);
    // A route's count names no attacker: the request that crosses it is anybody's (an attacker can leave
    // the last failure to a passer-by). Only a notification fits.
    const acts = defense.playbooks.find((p) => p.name === d.playbook)?.actions.filter((a) => !('notify' in a)) ?? [];
    if (d.key === 'route' && acts.length > 0) {
      report([...path, 'key'], `keyed by route, a detection knows no attacker: playbook "${d.playbook}" may only notify (it would act on whoever sent the crossing request)`);
    }
  });
  if (defense.detections.length > 0 && config.store.kind === 'memory') {
    warn(['defense', 'detections'], 'on the memory store, detections count and actions apply on this node only; a fleet needs store.kind: redis');
  }
  inRange(defense.resync, 200, 5 * 60_000, ['defense', 'resync'], report);
}

function inRange(value: string, min: number, max: number, path: ConfigPath, report: (path: ConfigPath, message: string) => void): void {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch {
    return; // the format check already said so
  }
  if (ms < min || ms > max) report(path, `must be between ${min}ms and ${max / 1000}s, got ${value}`);
}

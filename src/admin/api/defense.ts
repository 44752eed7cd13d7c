/**
 * Automatic defense's actions (docs/defense.md#admin-api), under the API's
 * tokens and roles like every other resource (`defense`: viewer reads,
 * operator and admin write):
 *   GET    /api/v1/defense/actions                 the actions in force, fleet-wide
 *   POST   /api/v1/defense/actions                 add one: {"target": "203.0.113.7", "duration": "1h", "kind": "block", "reason": "..."}
 *   DELETE /api/v1/defense/actions/{id}            lift one
 *   DELETE /api/v1/defense/actions?target=T        lift every action on an address, CIDR block, consumer or credential
 * Actions are not part of the config document: no ETag, no If-Match, no
 * version; the engine checks them (parseAction, the allowlist, max_actions)
 * and records each in the audit trail with the token's name and the peer's
 * address.
 */
import type { AdminBan } from '../../defense/engine.js';
import type { DefenseAction } from '../../defense/actions.js';
import { BadRequest, isObject } from './document.js';
import type { ApiCall, ApiRoute, JsonSchema, Reply } from './types.js';

const ACTION_VIEW: JsonSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    kind: { type: 'string', enum: ['block', 'suspend', 'tighten', 'require'] },
    scope: { type: 'string', enum: ['ip', 'consumer', 'credential'] },
    target: { type: 'string' },
    created_at: { type: 'string', format: 'date-time' },
    expires_at: { type: 'string', format: 'date-time' },
    by: { type: 'string', description: '"detection:<name>", or "admin <token name> from <address>"' },
    reason: { type: 'string' },
    strike: { type: 'integer', description: "the detection's repeat count for this key (escalation)" },
    limit: { type: 'integer' },
    per_ms: { type: 'integer' },
    policy: { type: 'string', enum: ['mtls', 'retry_later'] },
  },
  required: ['id', 'kind', 'scope', 'target', 'created_at', 'expires_at', 'by', 'reason'],
};

const LIFTED: JsonSchema = { type: 'object', properties: { lifted: { type: 'array', items: ACTION_VIEW } }, required: ['lifted'] };

const BAN_BODY: JsonSchema = {
  type: 'object',
  properties: {
    target: { type: 'string', maxLength: 256, description: 'an address or CIDR block (scope ip), a consumer name, a credential id' },
    kind: { type: 'string', enum: ['block', 'suspend', 'tighten', 'require'], default: 'block' },
    scope: { type: 'string', enum: ['ip', 'consumer', 'credential'], default: 'ip', description: 'a block is always on an ip' },
    duration: { type: 'string', default: '1h', description: 'like 30s, 10m, 1h, 7d; at most 30d' },
    reason: { type: 'string', maxLength: 200 },
    limit: { type: 'integer', minimum: 1, description: 'tighten: requests per `per`' },
    per: { type: 'string', description: 'tighten: like 1m' },
    policy: { type: 'string', enum: ['mtls', 'retry_later'], description: 'require: what is required' },
  },
  required: ['target'],
  additionalProperties: false,
};

/** The fields of BAN_BODY and the type each must have (the engine checks values). */
const BAN_FIELDS: Record<string, 'string' | 'number'> = { target: 'string', kind: 'string', scope: 'string', duration: 'string', reason: 'string', limit: 'number', per: 'string', policy: 'string' };

/** Who did it, as the ledger and the audit trail record it: the token's name and the admin listener's peer. */
function actor(call: ApiCall): string {
  return `admin ${call.principal.name} from ${call.req.socket.remoteAddress ?? 'unknown'}`;
}

function banOf(body: unknown): AdminBan {
  if (!isObject(body)) throw new BadRequest('(body): an object');
  for (const [key, value] of Object.entries(body)) {
    const type = BAN_FIELDS[key];
    if (type === undefined) throw new BadRequest(`${key}: unknown field (target, kind, scope, duration, reason, limit, per, policy)`);
    if (value !== null && value !== undefined && typeof value !== type) throw new BadRequest(`${key}: a ${type}`);
  }
  if (typeof body.target !== 'string') throw new BadRequest('target: an address, a CIDR block, a consumer or a credential id');
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== null)) as unknown as AdminBan;
}

function lifted(list: readonly DefenseAction[]): Reply {
  if (list.length === 0) return { status: 404, body: { error: 'not_found', message: 'no such action in force' } };
  return { status: 200, body: { lifted: list.map(view) } };
}

export const defenseRoutes: ApiRoute[] = [
  {
    method: 'GET',
    path: '/api/v1/defense/actions',
    resource: 'defense',
    verb: 'read',
    tag: 'defense',
    summary: 'The actions of automatic defense in force, fleet-wide (enabled: false when the config has no defense section)',
    ok: { status: 200, schema: { type: 'object', properties: { enabled: { type: 'boolean' }, actions: { type: 'array', items: ACTION_VIEW } }, required: ['enabled', 'actions'] } },
    handle(_call, api) {
      const defense = api.link.defense;
      return { status: 200, body: { enabled: defense.enabled, actions: defense.ledger.list().map(view) } };
    },
  },
  {
    method: 'POST',
    path: '/api/v1/defense/actions',
    resource: 'defense',
    verb: 'write',
    tag: 'defense',
    summary: 'Add an action (by default: block an address or CIDR block for an hour); 409 when defense is off, the target is allowlisted, or max_actions are in force',
    body: BAN_BODY,
    refusals: { 409: 'refused: defense is off, the target is on defense.allowlist, or defense.max_actions are in force' },
    ok: { status: 201, schema: { type: 'object', properties: { action: ACTION_VIEW }, required: ['action'] } },
    async handle(call, api) {
      const input = banOf(await call.json());
      const result = await api.link.defense.ban(input, actor(call));
      if (!result.ok) return { status: result.status, body: { error: result.status === 400 ? 'bad_request' : 'conflict', message: result.error } };
      return { status: 201, body: { action: view(result.action) }, headers: { location: `/api/v1/defense/actions/${result.action.id}` } };
    },
  },
  {
    method: 'DELETE',
    path: '/api/v1/defense/actions/{id}',
    resource: 'defense',
    verb: 'write',
    tag: 'defense',
    summary: 'Lift one action now, on every node',
    refusals: { 404: 'no such action in force' },
    ok: { status: 200, schema: LIFTED },
    async handle(call, api) {
      return lifted(await api.link.defense.lift({ id: call.params.id! }, actor(call)));
    },
  },
  {
    method: 'DELETE',
    path: '/api/v1/defense/actions',
    resource: 'defense',
    verb: 'write',
    tag: 'defense',
    summary: 'Lift every action on a target (?target= an address, a CIDR block, a consumer or a credential id)',
    query: [{ name: 'target', description: 'required: the address, CIDR block, consumer or credential id whose actions end' }],
    refusals: { 400: 'no ?target=', 404: 'no action in force on that target' },
    ok: { status: 200, schema: LIFTED },
    async handle(call, api) {
      const target = call.query.get('target');
      if (target === null || target === '') throw new BadRequest('target: give ?target= (or DELETE /api/v1/defense/actions/{id})');
      return lifted(await api.link.defense.lift({ target }, actor(call)));
    },
  },
];

function view(a: DefenseAction): Record<string, unknown> {
  return {
    id: a.id,
    kind: a.kind,
    scope: a.scope,
    target: a.target,
    created_at: new Date(a.createdAt).toISOString(),
    expires_at: new Date(a.expiresAt).toISOString(),
    by: a.by,
    reason: a.reason,
    ...(a.strike === undefined ? {} : { strike: a.strike }),
    ...(a.limit === undefined ? {} : { limit: a.limit, per_ms: a.perMs }),
    ...(a.policy === undefined ? {} : { policy: a.policy }),
  };
}

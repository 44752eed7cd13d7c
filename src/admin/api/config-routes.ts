/**
 * The config as a whole: read as YAML (secrets masked, references kept: what
 * `portcullis config dump` prints), replaced by a document (`config apply`;
 * "[secret]" stand-ins filled from the running config), compared with one
 * (`config diff`), and its versions: history, a version's text, the diff
 * between two, a rollback to one.
 */
import { diffViews } from '../../telemetry/audit/diff.js';
import { MASK } from '../../telemetry/audit/view.js';
import { BadRequest, editable, isObject, maskedView, maskedYaml, readData, restoreSecrets, writeData, type JsonObject } from './document.js';
import type { ApiCore, ApiRoute, Reply } from './types.js';
import type { StoredVersion } from './versions.js';

const YAML = 'application/yaml';

const changesSchema = {
  type: 'object',
  properties: {
    changes: { type: 'array', items: { type: 'object', properties: { op: { enum: ['added', 'removed', 'changed'] }, path: { type: 'string' }, before: {}, after: {} }, required: ['op', 'path'] } },
    omitted: { type: 'integer' },
  },
  required: ['changes'],
};
const versionSchema = {
  type: 'object',
  properties: { id: { type: 'integer' }, time: { type: 'string', format: 'date-time' }, kind: { enum: ['file', 'api', 'rollback', 'apply'] }, actor: { type: 'string' }, current: { type: 'boolean' } },
  required: ['id', 'time', 'kind', 'actor'],
};

function changes(api: ApiCore, before: string, after: string): { changes: unknown[]; omitted: number } {
  const view = (text: string) => maskedView(readData(text), api.link.policies);
  const diff = diffViews(view(before), view(after));
  return { changes: JSON.parse(JSON.stringify(diff.changes)) as unknown[], omitted: diff.omitted };
}

function versionOf(api: ApiCore, id: string | undefined): StoredVersion | undefined {
  if (id === undefined || !/^\d{1,15}$/.test(id)) return undefined;
  return api.versions.get(Number(id));
}

/** A document sent in: its "[secret]" stand-ins filled from the running config, or a 400 naming the first that cannot be. */
function documentIn(api: ApiCore, text: string): { text: string } | Reply {
  const data = readData(text);
  if (!JSON.stringify(data).includes(JSON.stringify(MASK))) return { text };
  const unfilled: string[] = [];
  const filled = restoreSecrets(data, readData(api.link.source().text), '', unfilled);
  if (unfilled.length > 0) {
    const message = `${unfilled[0]}: "[secret]" stands for a secret the running config does not have there: give the value or a \${env:...} reference`;
    return { status: 400, body: { error: 'invalid_config', errors: [message] } };
  }
  return { text: writeData(filled as JsonObject) };
}

function apply(call: Parameters<ApiRoute['handle']>[0], api: ApiCore, text: string, kind: 'apply' | 'rollback'): Promise<Reply> {
  return api.change(call, {
    kind,
    target: () => api.configEtag(),
    edit(data) {
      const next = editable(text);
      for (const key of Object.keys(data)) delete data[key];
      Object.assign(data, next);
      return undefined;
    },
    done: () => ({ status: 200, body: { version: api.versions.latest()?.id ?? null, running: api.link.version() }, etag: api.configEtag() }),
  });
}

export const configRoutes: ApiRoute[] = [
  {
    method: 'GET',
    path: '/api/v1/config',
    resource: 'config',
    verb: 'read',
    tag: 'config',
    summary: 'The running config as YAML, secrets as "[secret]" (ETag: the config\'s)',
    ok: { status: 200, type: YAML, schema: { type: 'string' } },
    handle: (_call, api) => ({ status: 200, type: YAML, body: maskedYaml(readData(api.link.source().text), api.link.policies), etag: api.configEtag() }),
  },
  {
    method: 'PUT',
    path: '/api/v1/config',
    resource: 'config',
    verb: 'write',
    tag: 'config',
    summary: 'Apply a whole config document (If-Match: the config\'s ETag); "[secret]" keeps the running secret; the admin section stays the file\'s',
    body: { type: 'string' },
    bodyType: YAML,
    ifMatch: true,
    ok: { status: 200, schema: { type: 'object', properties: { version: { type: ['integer', 'null'] }, running: { type: 'integer' } } } },
    async handle(call, api) {
      const filled = documentIn(api, await call.text());
      return 'status' in filled ? filled : apply(call, api, filled.text, 'apply');
    },
  },
  {
    method: 'POST',
    path: '/api/v1/config/diff',
    resource: 'config',
    verb: 'read',
    tag: 'config',
    summary: 'What applying a document would change (nothing is applied)',
    body: { type: 'string' },
    bodyType: YAML,
    ok: { status: 200, schema: changesSchema },
    async handle(call, api) {
      const filled = documentIn(api, await call.text());
      if ('status' in filled) return filled;
      return { status: 200, body: changes(api, api.link.source().text, filled.text) };
    },
  },
  {
    method: 'GET',
    path: '/api/v1/config/versions',
    resource: 'config',
    verb: 'read',
    tag: 'config',
    summary: 'The config versions kept, newest first, with who made them and when',
    query: [{ name: 'limit', description: 'at most this many (1-1000, default 100)' }],
    ok: { status: 200, schema: { type: 'object', properties: { items: { type: 'array', items: versionSchema } }, required: ['items'] } },
    handle(call, api) {
      const limit = Math.min(1000, Math.max(1, Number(call.query.get('limit') ?? 100) || 100));
      const running = api.link.source().text;
      const latest = api.versions.latest();
      const items = api.versions.list(limit).map((v) => ({ id: v.id, time: v.time, kind: v.kind, actor: v.actor, current: v.id === latest?.id && latest.text === running }));
      return { status: 200, body: { items } };
    },
  },
  {
    method: 'GET',
    path: '/api/v1/config/versions/{id}',
    resource: 'config',
    verb: 'read',
    tag: 'config',
    summary: 'One version as YAML, secrets as "[secret]"',
    ok: { status: 200, type: YAML, schema: { type: 'string' } },
    handle(call, api) {
      const v = versionOf(api, call.params.id);
      if (!v) return { status: 404, body: { error: 'not_found' } };
      return { status: 200, type: YAML, body: maskedYaml(readData(v.text), api.link.policies) };
    },
  },
  {
    method: 'GET',
    path: '/api/v1/config/versions/{id}/diff',
    resource: 'config',
    verb: 'read',
    tag: 'config',
    summary: 'What changed from another version (`against`, default the one before) to this one',
    query: [{ name: 'against', description: 'the id of the version compared with' }],
    ok: { status: 200, schema: changesSchema },
    handle(call, api) {
      const v = versionOf(api, call.params.id);
      if (!v) return { status: 404, body: { error: 'not_found' } };
      const against = call.query.get('against');
      const other = against !== null ? versionOf(api, against) : api.versions.before(v.id);
      if (against !== null && !other) throw new BadRequest('against: no such version');
      const result = changes(api, other?.text ?? '{}', v.text);
      return { status: 200, body: { from: other?.id ?? null, to: v.id, ...result } };
    },
  },
  {
    method: 'POST',
    path: '/api/v1/config/versions/{id}/rollback',
    resource: 'config',
    verb: 'write',
    tag: 'config',
    summary: 'Run this version again (If-Match: the config\'s ETag); stored as a new version',
    ifMatch: true,
    ok: { status: 200, schema: { type: 'object', properties: { version: { type: ['integer', 'null'] }, running: { type: 'integer' } } } },
    async handle(call, api) {
      const v = versionOf(api, call.params.id);
      if (!v) return { status: 404, body: { error: 'not_found' } };
      return apply(call, api, v.text, 'rollback');
    },
  },
];

export function isJsonObject(value: unknown): value is JsonObject {
  return isObject(value);
}

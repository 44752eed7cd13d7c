/** The global policies (global_policies): read masked, replaced whole with If-Match; "[secret]" keeps a secret as it is. */
import { BadRequest, etagOf, masked, restoreSecrets, type Json, type JsonObject } from './document.js';
import { dataOfRunning } from './named.js';
import type { ApiCore, ApiRoute } from './types.js';

const schema = {
  type: 'object',
  properties: { items: { type: 'array', items: { type: 'object', description: 'one policy: { name: { settings } }', minProperties: 1, maxProperties: 1 } } },
  required: ['items'],
};

const current = (data: JsonObject): Json[] => (Array.isArray(data.global_policies) ? data.global_policies : []);
const show = (api: ApiCore, data: JsonObject) => ({
  status: 200,
  body: { items: masked({ global_policies: current(data) }, api.link.policies).global_policies ?? [] },
  etag: etagOf(api.key, current(data)),
});

export const policyRoutes: ApiRoute[] = [
  {
    method: 'GET',
    path: '/api/v1/policies',
    resource: 'policies',
    verb: 'read',
    tag: 'policies',
    summary: 'The global policies, run on every route (secrets masked)',
    ok: { status: 200, schema },
    handle: (_call, api) => show(api, dataOfRunning(api)),
  },
  {
    method: 'PUT',
    path: '/api/v1/policies',
    resource: 'policies',
    verb: 'write',
    tag: 'policies',
    summary: 'Replace the global policies (If-Match: their ETag)',
    body: schema,
    ifMatch: true,
    ok: { status: 200, schema },
    async handle(call, api) {
      const body = await call.json();
      if (body === null || typeof body !== 'object' || !Array.isArray((body as JsonObject).items)) throw new BadRequest('items: a list of policies');
      const items = (body as { items: Json[] }).items;
      return api.change(call, {
        target: (data) => etagOf(api.key, current(data)),
        edit(data) {
          const unfilled: string[] = [];
          const next = restoreSecrets(items, current(data), 'global_policies', unfilled);
          if (unfilled.length > 0) return { status: 400, body: { error: 'bad_request', errors: [`${unfilled[0]}: "[secret]" stands for no current secret`] } };
          data.global_policies = next;
          return undefined;
        },
        done: (data) => show(api, data),
      });
    },
  },
];

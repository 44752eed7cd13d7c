/**
 * services, routes and consumers as collections (named.ts), and what each
 * shows: secrets masked; a consumer's credentials as method, id and
 * fingerprint only (managed at /consumers/{name}/credentials).
 */
import { fingerprintOf, isObject, type JsonObject } from './document.js';
import { maskedItem, namedRoutes } from './named.js';
import type { ApiCore, ApiRoute } from './types.js';

const loose = (description: string) => ({ type: 'object', description, properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: true });

export interface CredentialView {
  readonly method: string;
  readonly id: string;
  readonly fingerprint: string;
}

/** A credential's id: its own `id`, else its method and place (stable until the list changes). */
export function credentialId(method: string, credential: unknown, index: number): string {
  return isObject(credential) && typeof credential.id === 'string' ? credential.id : `${method}.${index}`;
}

export function credentialsOf(api: ApiCore, consumer: JsonObject): CredentialView[] {
  const out: CredentialView[] = [];
  const creds = consumer.credentials;
  if (!isObject(creds)) return out;
  for (const [method, list] of Object.entries(creds)) {
    if (!Array.isArray(list)) continue;
    list.forEach((c, i) => out.push({ method, id: credentialId(method, c, i), fingerprint: fingerprintOf(api.key, c) }));
  }
  return out;
}

export const CREDENTIAL_VIEW = {
  type: 'object',
  properties: { method: { type: 'string' }, id: { type: 'string' }, fingerprint: { type: 'string' } },
  required: ['method', 'id', 'fingerprint'],
};

const consumerSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    groups: { type: 'array', items: { type: 'string' } },
    metadata: { type: 'object', additionalProperties: { type: 'string' } },
    credentials: {
      description: 'in answers: ids and fingerprints only; on create: method → credentials as in the file; on replace: left out (the credentials stay)',
      oneOf: [{ type: 'array', items: CREDENTIAL_VIEW }, { type: 'object' }],
    },
  },
  required: ['name'],
};

export const resourceRoutes: ApiRoute[] = [
  ...namedRoutes({
    section: 'services',
    resource: 'services',
    singular: 'service',
    schema: loose('a service, as in the config file (docs/configuration.md#services)'),
    present: (it, api) => maskedItem(api, 'services', it),
  }),
  ...namedRoutes({
    section: 'routes',
    resource: 'routes',
    singular: 'route',
    schema: loose('a route, as in the config file (docs/configuration.md#routes)'),
    present: (it, api) => maskedItem(api, 'routes', it),
  }),
  ...namedRoutes({
    section: 'consumers',
    resource: 'consumers',
    singular: 'consumer',
    schema: consumerSchema,
    present: (it, api) => ({ ...maskedItem(api, 'consumers', { ...it, credentials: {} }), credentials: credentialsOf(api, it) as unknown as JsonObject[] }),
    accept(body, before) {
      if (before === undefined) return body;
      if (body.credentials !== undefined) return 'credentials: managed at /api/v1/consumers/{name}/credentials (a replace keeps them)';
      return before.credentials === undefined ? body : { ...body, credentials: before.credentials };
    },
  }),
];

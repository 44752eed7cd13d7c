/**
 * GET /openapi.json: the OpenAPI 3.1 document of the admin listener, made
 * from the route table (table.ts) and the listener's own routes (probes,
 * metrics, the dashboard), so it describes exactly what is served.
 */
import type { ApiRoute } from './types.js';

/** Routes of the listener outside the API table (control.ts registers them). */
export interface PlainRoute {
  readonly method: 'GET';
  readonly path: string;
  readonly summary: string;
  readonly type: string;
  readonly auth: 'none' | 'metrics-token';
}

const error = { $ref: '#/components/schemas/Error' };

function params(path: string) {
  return [...path.matchAll(/\{([^{}]+)\}/g)].map((m) => ({ name: m[1]!, in: 'path', required: true, schema: { type: 'string' } }));
}

export function openApiDocument(routes: readonly ApiRoute[], plain: readonly PlainRoute[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const at = (path: string) => (paths[path] ??= {});
  for (const r of routes) {
    const responses: Record<string, unknown> = {
      [String(r.ok.status)]: r.ok.status === 204
        ? { description: 'done' }
        : { description: 'done', content: { [r.ok.type ?? 'application/json']: { schema: r.ok.schema ?? {} } }, headers: { ETag: { schema: { type: 'string' } } } },
      '401': { description: 'no valid admin token', content: { 'application/json': { schema: error } } },
      '403': { description: `the role does not grant ${r.verb} on ${r.resource}`, content: { 'application/json': { schema: error } } },
    };
    if (r.method !== 'GET' || r.path.includes('{')) responses['404'] = { description: 'no such item', content: { 'application/json': { schema: error } } };
    if (r.body) responses['400'] = { description: 'refused: `path: message` errors, nothing changed', content: { 'application/json': { schema: error } } };
    if (r.ifMatch) {
      responses['409'] = { description: 'exists, or (file mode) the config file changed underneath', content: { 'application/json': { schema: error } } };
      responses['412'] = { description: 'If-Match is stale: read again', content: { 'application/json': { schema: error } } };
      responses['428'] = { description: 'If-Match missing', content: { 'application/json': { schema: error } } };
    }
    for (const [status, when] of Object.entries(r.refusals ?? {})) responses[status] = { description: when, content: { 'application/json': { schema: error } } };
    const parameters: unknown[] = [...params(r.path), ...(r.query ?? []).map((q) => ({ name: q.name, in: 'query', required: false, description: q.description, schema: { type: 'string' } }))];
    if (r.ifMatch) parameters.push({ name: 'If-Match', in: 'header', required: true, schema: { type: 'string' }, description: 'the ETag of what you read' });
    const op: Record<string, unknown> = {
      operationId: `${r.method.toLowerCase()}${r.path.replace(/\{([^{}]+)\}/g, 'By-$1').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      summary: r.summary,
      tags: [r.tag],
      security: [{ adminToken: [] }, { adminCertificate: [] }],
      'x-portcullis-grant': { resource: r.resource, verb: r.verb },
      responses,
    };
    if (parameters.length > 0) op.parameters = parameters;
    if (r.body) op.requestBody = { required: true, content: { [r.bodyType ?? 'application/json']: { schema: r.body } } };
    at(r.path)[r.method.toLowerCase()] = op;
  }
  for (const p of plain) {
    at(p.path)[p.method.toLowerCase()] = {
      operationId: `get${p.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      summary: p.summary,
      tags: ['listener'],
      security: p.auth === 'none' ? [] : [{ metricsToken: [] }],
      responses: { '200': { description: 'ok', content: { [p.type]: { schema: {} } } } },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Portcullis admin API', version, description: 'The admin listener of a Portcullis gateway (docs/admin-api.md).' },
    servers: [{ url: '/' }],
    paths,
    components: {
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'an admin token (admin.api.tokens; `portcullis admin-token` makes one)' },
        adminCertificate: { type: 'mutualTLS', description: 'a client certificate of admin.tls.client_ca that admin.api.clients maps to a name and role (sent without an Authorization header)' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'admin.metrics_token, when set' },
      },
      schemas: {
        Error: { type: 'object', properties: { error: { type: 'string' }, message: { type: 'string' }, errors: { type: 'array', items: { type: 'string' } } }, required: ['error'] },
      },
    },
  };
}

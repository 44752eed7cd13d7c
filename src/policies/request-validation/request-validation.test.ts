import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import requestValidation from './index.js';
import { generateRoutes } from './routes.js';
import { compilePolicy, decide, requestContext } from '../../../test/helpers/policy.js';
import { send, startGateway, type TestGateway } from '../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../test/helpers/upstream.js';

const SPEC_30 = `
openapi: 3.0.3
info: { title: Orders, version: "1" }
servers: [{ url: "https://api.example.com/v1" }]
paths:
  /orders:
    get:
      parameters:
        - { name: limit, in: query, schema: { type: integer, minimum: 1, maximum: 100 } }
        - { name: status, in: query, schema: { type: array, items: { type: string, enum: [open, shipped] } } }
    post:
      parameters: [{ name: x-tenant, in: header, required: true, schema: { type: string, pattern: "^[a-z]{3,12}$" } }]
      requestBody:
        required: true
        content:
          application/json: { schema: { $ref: "#/components/schemas/NewOrder" } }
  /orders/{id}:
    parameters: [{ $ref: "#/components/parameters/OrderId" }]
    get: {}
    delete: {}
  /orders/export:
    get: {}
components:
  parameters:
    OrderId: { name: id, in: path, required: true, schema: { type: integer, minimum: 1 } }
  schemas:
    NewOrder:
      type: object
      additionalProperties: false
      required: [items]
      properties:
        coupon: { type: string, nullable: true, maxLength: 12 }
        items:
          type: array
          minItems: 1
          items:
            type: object
            required: [sku, qty]
            properties:
              sku: { type: string, pattern: "^[A-Z]{3}-[0-9]{1,6}$" }
              qty: { type: integer, minimum: 1, maximum: 10, exclusiveMaximum: true }
`;

const SPEC_31 = `
openapi: 3.1.0
info: { title: Pets, version: "1" }
paths:
  /pets/{petId}:
    put:
      parameters: [{ name: petId, in: path, required: true, schema: { type: string, format: uuid } }]
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [name]
              properties:
                name: { type: string, minLength: 1 }
                tag: { type: [string, "null"] }
                weight: { type: number, exclusiveMinimum: 0 }
`;

describe('request-validation through the gateway', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let dir: string;

  before(async () => {
    upstream = await startUpstream();
    dir = mkdtempSync(join(tmpdir(), 'portcullis-openapi-'));
    writeFileSync(join(dir, 'orders.yaml'), SPEC_30);
    writeFileSync(join(dir, 'pets.yaml'), SPEC_31);
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: orders
    service: echo
    public: true
    match: { paths: [/v1] }
    policies: [{ request-validation: { openapi: { spec: "\${file:${join(dir, 'orders.yaml')}}" } } }]
  - name: pets
    service: echo
    public: true
    match: { paths: [/pets] }
    policies: [{ request-validation: { openapi: { spec: "\${file:${join(dir, 'pets.yaml')}}", strict: false } } }]
  - name: signup
    service: echo
    public: true
    match: { paths: [/signup] }
    policies:
      - request-validation:
          path: { allow: "^/signup$" }
          query: { ref: { allow: "^[a-z0-9-]{1,32}$" } }
          unknown_query: reject
          headers: { x-client: { required: true, max_length: 20 } }
          body:
            content_types: [application/json]
            schema:
              type: object
              required: [email, password]
              properties:
                email: { type: string, format: email }
                password: { type: string, minLength: 12, pattern: "[0-9]" }
            fields: { email: { deny: "@example\\\\.invalid$" } }
`);
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  const json = (body: unknown, headers: Record<string, string> = {}) => ({ method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });

  it('passes requests the OpenAPI 3.0 operation accepts', async () => {
    assert.equal((await send(gw.url, '/v1/orders?limit=10&status=open&status=shipped')).status, 200);
    assert.equal((await send(gw.url, '/v1/orders/42')).status, 200);
    assert.equal((await send(gw.url, '/v1/orders/export')).status, 200, 'a literal segment wins over {id}');
    const ok = await send(gw.url, '/v1/orders', json({ items: [{ sku: 'ABC-12', qty: 2 }], coupon: null }, { 'x-tenant': 'acme' }));
    assert.equal(ok.status, 200);
  });

  it('refuses parameters and bodies the operation does not accept, with the failing location', async () => {
    const cases: Array<[string, Parameters<typeof send>[2], string]> = [
      ['/v1/orders?limit=500', {}, 'query.limit: must be <= 100'],
      ['/v1/orders?status=lost', {}, 'query.status[0]: must be equal to one of the allowed values'],
      ['/v1/orders/abc', {}, 'path.id: must be integer'],
      ['/v1/orders', json({ items: [] }, { 'x-tenant': 'acme' }), 'body.items: must NOT have fewer than 1 items'],
      ['/v1/orders', json({ items: [{ sku: 'abc', qty: 1 }] }, { 'x-tenant': 'acme' }), 'body.items[0].sku: must match pattern "^[A-Z]{3}-[0-9]{1,6}$"'],
      ['/v1/orders', json({ items: [{ sku: 'ABC-1', qty: 10 }] }, { 'x-tenant': 'acme' }), 'body.items[0].qty: must be < 10'],
      ['/v1/orders', json({ items: [{ sku: 'ABC-1', qty: 1 }], admin: true }, { 'x-tenant': 'acme' }), 'body.admin: is not allowed'],
      ['/v1/orders', json({ items: [{ sku: 'ABC-1', qty: 1 }] }), 'header.x-tenant: is required'],
      ['/v1/orders', { method: 'POST', headers: { 'x-tenant': 'acme' } }, 'body: is required'],
    ];
    for (const [path, options, message] of cases) {
      const res = await send(gw.url, path, options);
      assert.equal(res.status, 400, `${path} ${message}`);
      assert.equal(res.json().error.code, 'invalid_request');
      assert.equal(res.json().error.message, `Invalid request: ${message}`);
    }
  });

  it('refuses what the description does not declare: 404 for a path, 405 with Allow for a method, 415 for a media type', async () => {
    assert.equal((await send(gw.url, '/v1/admin')).status, 404);
    const method = await send(gw.url, '/v1/orders/42', { method: 'PATCH' });
    assert.equal(method.status, 405);
    assert.equal(method.headers.allow, 'DELETE, GET, HEAD');
    const media = await send(gw.url, '/v1/orders', { method: 'POST', body: 'items=1', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-tenant': 'acme' } });
    assert.equal(media.status, 415);
  });

  it('validates OpenAPI 3.1 (JSON Schema 2020-12) and lets undeclared operations through when not strict', async () => {
    const id = '3f2b8c1e-8d4a-4b7e-9c2f-1a2b3c4d5e6f';
    assert.equal((await send(gw.url, `/pets/${id}`, { method: 'PUT', body: JSON.stringify({ name: 'Rex', tag: null, weight: 3.5 }), headers: { 'content-type': 'application/json' } })).status, 200);
    const bad = await send(gw.url, `/pets/${id}`, { method: 'PUT', body: JSON.stringify({ name: 'Rex', weight: 0 }), headers: { 'content-type': 'application/json' } });
    assert.equal(bad.json().error.message, 'Invalid request: body.weight: must be > 0');
    assert.equal((await send(gw.url, '/pets/not-a-uuid', { method: 'PUT', body: '{"name":"x"}', headers: { 'content-type': 'application/json' } })).status, 400);
    assert.equal((await send(gw.url, '/pets/search')).status, 200, 'not strict: an undeclared operation passes');
  });

  it('applies regex rules, a JSON Schema and field rules', async () => {
    const good = { email: 'ann@example.com', password: 'correct horse 9' };
    assert.equal((await send(gw.url, '/signup?ref=spring-2026', json(good, { 'x-client': 'web' }))).status, 200);
    const cases: Array<[string, Parameters<typeof send>[2], number, string | undefined]> = [
      ['/signup?ref=%3Cscript%3E', json(good, { 'x-client': 'web' }), 400, 'query.ref: does not match the allowed pattern'],
      ['/signup?debug=1', json(good, { 'x-client': 'web' }), 400, 'query.debug: is not an accepted parameter'],
      ['/signup', json(good), 400, 'headers.x-client: is required'],
      ['/signup', json(good, { 'x-client': 'x'.repeat(21) }), 400, 'headers.x-client: is longer than 20 characters'],
      ['/signup', json({ email: 'not-an-email', password: 'correct horse 9' }, { 'x-client': 'web' }), 400, 'body.email: must match format "email"'],
      ['/signup', json({ email: 'ann@example.com', password: 'short1' }, { 'x-client': 'web' }), 400, 'body.password: must NOT have fewer than 12 characters'],
      ['/signup', json({ email: 'bot@example.invalid', password: 'correct horse 9' }, { 'x-client': 'web' }), 400, 'body.email: matches a denied pattern'],
      ['/signup', { method: 'POST', body: 'a=1', headers: { 'content-type': 'text/plain', 'x-client': 'web' } }, 415, undefined],
      ['/signup/extra', json(good, { 'x-client': 'web' }), 400, 'path: is not an allowed path'],
    ];
    for (const [path, options, status, message] of cases) {
      const res = await send(gw.url, path, options);
      assert.equal(res.status, status, `${path}: ${message}`);
      if (message) assert.equal(res.json().error.message, `Invalid request: ${message}`);
    }
  });

  it('runs schema patterns on RE2: a catastrophic pattern cannot hang the gateway', async () => {
    const policy = compilePolicy(requestValidation, { body: { schema: { type: 'object', properties: { a: { type: 'string', pattern: '^(a+)+$' } } } } });
    assert.ok(policy.onRequest);
    // RE2 matches in linear time; with a backtracking engine this input takes years
    const started = process.hrtime.bigint();
    const { requestContext, decide } = await import('../../../test/helpers/policy.js');
    const result = await decide(policy, requestContext({ path: '/', body: JSON.stringify({ a: 'a'.repeat(40) + '!' }), headers: { 'content-type': 'application/json' } }));
    assert.equal(result?.status, 400);
    assert.ok(process.hrtime.bigint() - started < 60_000_000_000n, 'finished'); // a generous bound; the assertion is that it returns at all
  });

  it('refuses a description it cannot use at load, saying why', () => {
    assert.throws(() => compilePolicy(requestValidation, { openapi: { spec: 'swagger: "2.0"\npaths: {}' } }), /OpenAPI 3.0 or 3.1/);
    assert.throws(() => compilePolicy(requestValidation, { openapi: { spec: 'openapi: 3.0.0\npaths:\n  /a:\n    get:\n      parameters: [{ $ref: "other.yaml#/p" }]' } }), /only local references/);
    assert.throws(() => compilePolicy(requestValidation, { query: { q: { allow: '(a' } } }), /invalid regular expression/);
  });

  it('refuses a description split over several files, reading none of them and fetching nothing, and takes it bundled', async () => {
    // A multi-file description: the main file and its neighbours, one above its folder, one behind a URL.
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-multi-'));
    const fetched: string[] = [];
    const server = createServer((req, res) => {
      fetched.push(req.url ?? '');
      res.end('NewOrder: { type: object }');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const remote = `http://127.0.0.1:${(server.address() as AddressInfo).port}/schemas.yaml`;
    mkdirSync(join(dir, 'spec', 'schemas'), { recursive: true });
    writeFileSync(join(dir, 'spec', 'schemas', 'order.yaml'), 'NewOrder:\n  type: object\n  required: [sku]\n  properties: { sku: { type: string } }\n');
    writeFileSync(join(dir, 'spec', 'parameters.yaml'), 'OrderId: { name: id, in: path, required: true, schema: { type: integer } }\n');
    writeFileSync(join(dir, 'outside.yaml'), 'NewOrder: { type: object }\n');
    const main = (parameter: string, body: string) => `openapi: 3.0.3
paths:
  /orders/{id}:
    parameters: [{ $ref: "${parameter}" }]
    put:
      requestBody: { content: { application/json: { schema: { $ref: "${body}" } } } }
      responses: { "200": { description: ok } }
`;
    const local = '#/components/parameters/OrderId';
    const cases: Array<[string, string]> = [
      ['parameters.yaml#/OrderId', '#/components/schemas/NewOrder'],
      [local, 'schemas/order.yaml#/NewOrder'],
      [local, './schemas/order.yaml#/NewOrder'],
      [local, '../outside.yaml#/NewOrder'],
      [local, `${join(dir, 'outside.yaml')}#/NewOrder`],
      [local, `file://${join(dir, 'outside.yaml')}#/NewOrder`],
      [local, `${remote}#/NewOrder`],
    ];
    const components = 'components:\n  parameters:\n    OrderId: { name: id, in: path, required: true, schema: { type: integer } }\n  schemas:\n    NewOrder: { type: object, required: [sku], properties: { sku: { type: string } } }\n';
    try {
      for (const [parameter, body] of cases) {
        const spec = main(parameter, body) + components;
        writeFileSync(join(dir, 'spec', 'openapi.yaml'), spec);
        // A Parameter/Request Body/Path Item $ref is refused by the description's reader; a schema $ref by Ajv, which loads no schema itself.
        const expected =
          parameter !== local
            ? `$ref ${JSON.stringify(parameter)} points outside the document; only local references (#/...) are supported: bundle the description into one file first`
            : `PUT /orders/{id}: cannot compile its schemas: can't resolve reference ${body} from id #`;
        assert.throws(() => compilePolicy(requestValidation, { openapi: { spec } }), (err: Error) => err.message.includes(expected), `${parameter} ${body}`);
      }
      assert.deepEqual(fetched, [], 'nothing was fetched');

      // The same description bundled into one file (what `redocly bundle` or `swagger-cli bundle` write) loads and validates.
      const policy = compilePolicy(requestValidation, { openapi: { spec: main(local, '#/components/schemas/NewOrder') + components } });
      const put = (path: string, body: unknown) => decide(policy, requestContext({ method: 'PUT', path, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }));
      assert.equal(await put('/orders/7', { sku: 'a' }), undefined);
      assert.equal((await put('/orders/7', {}))?.status, 400);
      assert.equal((await put('/orders/x', { sku: 'a' }))?.status, 400);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('routes generated from an OpenAPI description', () => {
  it('gives one route per path, with its methods, an exact or RE2 path, auth and validation, that the gateway loads', async () => {
    const yaml = generateRoutes(SPEC_30, { specFile: 'orders.yaml', service: 'orders', auth: 'key-auth' });
    const routes = parseYaml(yaml) as Array<{ name: string; match: { paths: string[]; methods: string[] }; policies: unknown[] }>;
    assert.deepEqual(
      routes.map((r) => [r.name, r.match.paths[0], r.match.methods.join(',')]),
      [
        ['orders-orders', '= /v1/orders', 'GET,POST,HEAD'],
        ['orders-orders-id', '~ ^/v1/orders/[^/]+$', 'GET,DELETE,HEAD'],
        ['orders-orders-export', '= /v1/orders/export', 'GET,HEAD'],
      ],
    );
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-routes-'));
    writeFileSync(join(dir, 'orders.yaml'), SPEC_30);
    const upstream = await startUpstream();
    const config = {
      listeners: [{ name: 'main', address: '127.0.0.1:0' }],
      services: [{ name: 'orders', targets: [{ url: upstream.url }] }],
      routes: (parseYaml(generateRoutes(SPEC_30, { specFile: join(dir, 'orders.yaml'), service: 'orders', auth: 'key-auth' })) as unknown[]),
      consumers: [{ name: 'app', credentials: { 'key-auth': [{ key: 'app-key-1234' }] } }],
    };
    const gw = await startGateway(stringify(config));
    try {
      assert.equal((await send(gw.url, '/v1/orders/7', { headers: { 'x-api-key': 'app-key-1234' } })).status, 200);
      assert.equal((await send(gw.url, '/v1/orders/7')).status, 401);
      assert.equal((await send(gw.url, '/v1/orders/x', { headers: { 'x-api-key': 'app-key-1234' } })).status, 400);
      assert.equal((await send(gw.url, '/v1/orders/7', { method: 'PATCH', headers: { 'x-api-key': 'app-key-1234' } })).status, 405);
    } finally {
      await gw.close();
      await upstream.close();
    }
  });
});

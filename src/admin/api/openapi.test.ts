/**
 * The OpenAPI document a real admin listener serves: valid OpenAPI 3.1
 * (@readme/openapi-parser checks it against the 3.1 schema and its own
 * rules), describing exactly the routes the listener serves, each of which
 * answers (no 404 for a described path, no described method answered 405).
 * Also: the admin API refused at load without tokens, on a public address
 * unless exposed, and with a token of an unknown role.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validate } from '@readme/openapi-parser';
import { send, startGateway, writeConfig, type TestGateway } from '../../../test/helpers/gateway.js';
import { cli } from '../../../test/helpers/cli.js';
import { adminClient, adminSection, sha, TOKENS } from '../../../test/helpers/admin-api.js';

const rest = `
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes: [{ name: r, service: s, public: true, match: { paths: [/] } }]
consumers: [{ name: c, credentials: { key-auth: [{ id: k1, key: "some-key-0123456789abcdef" }] } }]
telemetry: { metrics: { enabled: true } }
`;

describe('admin API: the OpenAPI document', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway(`${adminSection()}${rest}`);
  });
  after(() => gw.close());

  it('is valid OpenAPI 3.1', async () => {
    const res = await send(gw.gateway.admin.url!, '/openapi.json');
    assert.equal(res.status, 200);
    const doc = res.json<{ openapi: string }>();
    assert.equal(doc.openapi, '3.1.0');
    const result = await validate(structuredClone(doc) as never);
    assert.ok(result.valid, JSON.stringify(result, null, 1).slice(0, 2000));
  });

  it('describes exactly the routes served, and each described one answers', async () => {
    const base = gw.gateway.admin.url!;
    const doc = (await send(base, '/openapi.json')).json<{ paths: Record<string, Record<string, unknown>> }>();
    const described = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort();
    assert.deepEqual(described, gw.gateway.admin.served().sort());
    const client = adminClient(base, TOKENS.viewer);
    const names: Record<string, string> = { services: 's', routes: 'r', consumers: 'c' };
    const filled = (path: string) =>
      path.replace('{name}', names[path.split('/')[3] ?? ''] ?? 'x').replace('{id}', path.includes('credentials') ? 'k1' : '1');
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (!('get' in ops) || path === '/api/v1/events') continue;
      const res = await client.call('GET', filled(path));
      assert.ok(res.status === 200, `GET ${path}: ${res.status} ${res.text.slice(0, 200)}`);
    }
    // Writes answer (403 for a viewer: the route exists and is checked), never 404 or 405.
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const method of Object.keys(ops).filter((m) => m !== 'get')) {
        const res = await client.call(method.toUpperCase(), filled(path), { body: {} });
        assert.ok(![404, 405].includes(res.status), `${method} ${path}: ${res.status}`);
        if ((ops[method] as { 'x-portcullis-grant': { verb: string } })['x-portcullis-grant'].verb === 'write') assert.equal(res.status, 403, `${method} ${path}`);
      }
    }
  });

  it("describes automatic defense's actions as the defense resource, with their refusals", async () => {
    type Op = { 'x-portcullis-grant': { resource: string; verb: string }; responses: Record<string, unknown> };
    const doc = (await send(gw.gateway.admin.url!, '/openapi.json')).json<{ paths: Record<string, Record<string, Op>> }>();
    const actions = doc.paths['/api/v1/defense/actions']!;
    assert.deepEqual(actions.get!['x-portcullis-grant'], { resource: 'defense', verb: 'read' });
    assert.deepEqual(actions.post!['x-portcullis-grant'], { resource: 'defense', verb: 'write' });
    assert.ok('409' in actions.post!.responses && '400' in actions.delete!.responses);
    assert.deepEqual(doc.paths['/api/v1/defense/actions/{id}']!.delete!['x-portcullis-grant'], { resource: 'defense', verb: 'write' });
  });
});

describe('admin API: refused at load', () => {
  const validateYaml = async (yaml: string) => cli(['validate', writeConfig(yaml)]);

  it('without a token, on a public address unless exposed, with a token of no known role', async () => {
    const none = await validateYaml(`admin: { address: "127.0.0.1:0", api: { tokens: [] } }${rest}`);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /admin\.api\.tokens: /);
    const open = await validateYaml(`admin:
  address: "0.0.0.0:9901"
  api: { tokens: [{ name: a, role: admin, token_sha256: "${sha('x')}" }] }${rest}`);
    assert.equal(open.code, 1);
    assert.match(open.stderr, /admin\.address: the admin API is on: 0\.0\.0\.0:9901 is not a loopback address/);
    const exposed = await validateYaml(`admin:
  address: "0.0.0.0:9901"
  metrics_token_sha256: "${sha('m')}"
  api: { expose: true, tokens: [{ name: a, role: admin, token_sha256: "${sha('x')}" }] }${rest}`);
    assert.equal(exposed.code, 0, exposed.stderr);
    const role = await validateYaml(`admin:
  address: "127.0.0.1:0"
  api: { tokens: [{ name: a, role: root, token_sha256: "${sha('x')}" }] }${rest}`);
    assert.equal(role.code, 1);
    assert.match(role.stderr, /admin\.api\.tokens\[0\]\.role: no role "root"/);
    const plain = await validateYaml(`admin:
  address: "127.0.0.1:0"
  api: { tokens: [{ name: a, role: admin, token: "plain" }] }${rest}`);
    assert.equal(plain.code, 1, 'a token in plain text is no field: only its digest');
  });
});

/**
 * Functions as a route's upstream and as hooks, through a real gateway:
 * TypeScript compiled at load, the Fetch-API surface, console to the gateway
 * log with the function's name and request id, config errors with file and
 * line, and hot reload of the code.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { loadConfig } from '../../src/load-config.js';
import { UpstreamRegistry } from '../../src/upstream/registry.js';
import { StoreRegistry } from '../../src/stores/registry.js';
import { echo, startUpstream, type TestUpstream } from '../helpers/upstream.js';
import pino from 'pino';

const JSON_API = `
interface Item { id: number; name: string }
const items: Item[] = [{ id: 1, name: 'anvil' }];
export default async function (request: Request): Promise<Response> {
  const url = new URL(request.url);
  console.log('serving', request.method, url.pathname);
  if (request.method === 'POST') {
    const body = (await request.json()) as { name: string };
    return Response.json({ created: body.name, id: items.length + 1 }, { status: 201 });
  }
  const id = Number(url.pathname.split('/').pop());
  const item = items.find((i) => i.id === id);
  return item ? Response.json(item) : Response.json({ error: 'not found' }, { status: 404 });
}
`;

const AUTH_HOOK = `
export default {
  async fetch(request, env) {
    if (request.headers.get('x-api-key') !== env.secrets.API_KEY) {
      return new Response(JSON.stringify({ error: 'who are you?' }), { status: 401, headers: { 'content-type': 'application/json' } });
    }
    const url = new URL(request.url);
    request.headers.delete('x-api-key');
    request.headers.set('x-caller', 'verified');
    return new Request(url.origin + '/rewritten' + url.pathname + '?via=hook', request);
  },
};
`;

const RESPONSE_HOOK = `
export default (response) => {
  const headers = new Headers(response.headers);
  headers.set('x-served-by', 'portcullis-function');
  headers.delete('x-upstream-port');
  return new Response(null, { status: response.status, headers });
};
`;

const REDACT = `
export default async (response) => {
  const data = await response.json();
  delete data.headers;
  data.redacted = response.status;
  return new Response(JSON.stringify(data));
};
`;

function files(dir: string, more: Record<string, string> = {}): void {
  writeFileSync(join(dir, 'redact.js'), REDACT);
  writeFileSync(join(dir, 'explode.js'), 'export default () => { throw new Error("no body for you"); }');
  writeFileSync(join(dir, 'api.ts'), JSON_API);
  writeFileSync(join(dir, 'auth.js'), AUTH_HOOK);
  writeFileSync(join(dir, 'stamp.js'), RESPONSE_HOOK);
  for (const [name, text] of Object.entries(more)) writeFileSync(join(dir, name), text);
}

const config = (upstream: string) => `
listeners: [{ name: main, address: "127.0.0.1:0" }]
functions:
  - { name: api, file: api.ts }
  - { name: auth, file: auth.js, secrets: { API_KEY: "k-123" } }
  - { name: stamp, file: stamp.js }
  - { name: redact, file: redact.js }
  - { name: explode, file: explode.js }
services:
  - { name: api, type: function, function: api }
  - { name: backend, targets: [{ url: "${upstream}" }] }
routes:
  - { name: api, service: api, public: true, match: { paths: [/items] } }
  - name: hooked
    service: backend
    public: true
    match: { paths: [/hooked] }
    policies:
      - function: { name: auth }
      - function: { name: stamp, on: response }
  - name: redacted
    service: backend
    public: true
    match: { paths: [/redacted] }
    policies: [{ function: { name: redact, on: response, body: true } }]
  - name: exploding
    service: backend
    public: true
    match: { paths: [/exploding] }
    policies: [{ function: { name: explode, on: response, body: true } }]
`;

describe('functions: service and hooks', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let dir: string;

  before(async () => {
    upstream = await startUpstream(echo);
    dir = mkdtempSync(join(tmpdir(), 'portcullis-fn-'));
    files(dir);
    gw = await startGateway(config(upstream.url), { dir });
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('a TypeScript function answers as the route\'s upstream', async () => {
    const got = await send(gw.url, '/items/1');
    assert.equal(got.status, 200);
    assert.deepEqual(got.json(), { id: 1, name: 'anvil' });
    assert.equal(got.headers['content-type'], 'application/json');
    const missing = await send(gw.url, '/items/9');
    assert.equal(missing.status, 404);
    const created = await send(gw.url, '/items', { method: 'POST', body: JSON.stringify({ name: 'rope' }), headers: { 'content-type': 'application/json' } });
    assert.equal(created.status, 201);
    assert.deepEqual(created.json(), { created: 'rope', id: 2 });
  });

  it('console output reaches the gateway log with the function name and request id', async () => {
    const got = await send(gw.url, '/items/1', { headers: { 'x-request-id': 'req-fn-log-1' } });
    assert.equal(got.status, 200);
    const line = await gw.waitForLog((l) => l.msg === 'serving GET /items/1' && l.request_id === 'req-fn-log-1');
    assert.equal(line.function, 'api');
  });

  it('a request hook answers on its own, or rewrites what goes upstream', async () => {
    const refused = await send(gw.url, '/hooked/a');
    assert.equal(refused.status, 401);
    assert.deepEqual(refused.json(), { error: 'who are you?' });
    assert.equal(refused.headers['x-served-by'], 'portcullis-function', 'the response hook runs on a hook\'s answer too');

    const passed = await send(gw.url, '/hooked/a', { headers: { 'x-api-key': 'k-123' } });
    assert.equal(passed.status, 200);
    const seen = passed.json() as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/rewritten/hooked/a?via=hook');
    assert.equal(seen.headers['x-caller'], 'verified');
    assert.equal(seen.headers['x-api-key'], undefined, 'the key the hook removed does not reach the upstream');
    assert.equal(passed.headers['x-served-by'], 'portcullis-function');
    assert.equal(passed.headers['x-upstream-port'], undefined);
  });

  it('a response hook with body: true rewrites the upstream body', async () => {
    const got = await send(gw.url, '/redacted/x', { headers: { 'x-secret-header': 's3' } });
    assert.equal(got.status, 200);
    const data = got.json() as Record<string, unknown>;
    assert.equal(data.headers, undefined, 'the echoed headers were removed by the function');
    assert.equal(data.redacted, 200);
    assert.equal(data.url, '/redacted/x');
    assert.equal(got.headers['content-length'], undefined, 'the upstream length is not sent for a rewritten body');
  });

  it('a body hook that fails cuts the response short: the client never gets the unrewritten body', async () => {
    await assert.rejects(send(gw.url, '/exploding/x'));
    const fine = await send(gw.url, '/items/1');
    assert.equal(fine.status, 200);
  });

  it('hot reload swaps the function code with the config', async () => {
    writeFileSync(join(dir, 'api2.ts'), `export default () => new Response('version two')`);
    const result = await gw.reload(config(upstream.url).replace('file: api.ts', 'file: api2.ts'));
    assert.equal(result.ok, true);
    const got = await send(gw.url, '/items/1');
    assert.equal(got.text, 'version two');
  });
});

describe('functions: config errors', () => {
  const load = (yaml: string, more: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-fn-'));
    files(dir, more);
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, yaml);
    const logger = pino({ level: 'silent' });
    const stores = new StoreRegistry(logger);
    return loadConfig(file, { upstreams: new UpstreamRegistry(logger), stores, logger, version: 1 });
  };

  it('a TypeScript error is refused with the function file and line', () => {
    const yaml = `
listeners: [{ name: main, address: "127.0.0.1:0" }]
functions:
  - { name: broken, file: broken.ts }
services: [{ name: s, type: function, function: broken }]
routes: [{ name: r, service: s, public: true }]
`;
    const result = load(yaml, { 'broken.ts': 'export default (r: Request) => {\n  const x: number = ;\n}\n' });
    assert.equal(result.ok, false);
    const issue = !result.ok ? result.issues[0]! : undefined;
    assert.match(issue!.message, /broken\.ts:2:\d+: /);
    assert.equal(issue!.path, 'functions[0].file');
    assert.equal(issue!.line, 4);
  });

  it('a module without a handler, an unknown function and an import are refused', () => {
    const yaml = `
listeners: [{ name: main, address: "127.0.0.1:0" }]
functions:
  - { name: nohandler, file: none.js }
  - { name: importer, file: importer.js }
services:
  - { name: s, type: function, function: nosuch }
routes:
  - { name: r, service: s, public: true, policies: [{ function: { name: ghost } }] }
`;
    const result = load(yaml, { 'none.js': 'export const x = 1;', 'importer.js': "import fs from 'node:fs'; export default () => new Response(fs.readFileSync('/etc/passwd'))" });
    assert.equal(result.ok, false);
    const text = !result.ok ? result.issues.map((i) => `${i.path}: ${i.message}`).join('\n') : '';
    assert.match(text, /functions\[0\]\.file: none\.js: exports no handler/);
    assert.match(text, /functions\[1\]\.file: importer\.js: fails to load: .*cannot import modules \(node:fs\)/);
    assert.match(text, /services\[0\]\.function: no function named "nosuch"/);
    assert.match(text, /routes\[0\]\.policies\[0\]\.function\.name: no function named "ghost"/);
  });
});

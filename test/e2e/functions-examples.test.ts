/**
 * examples/functions/ as docs/functions.md shows it: the JSON API, the auth
 * hook, the header rewrite and the Lambda route, run from the example config
 * with only the upstream and the Lambda endpoint replaced by local stand-ins.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/functions/', import.meta.url));

describe('examples/functions', () => {
  let upstream: TestUpstream;
  let lambda: ChildProcess;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream((req, res) => {
      const body = JSON.stringify({ partner: req.headers['x-partner'] ?? null, key: req.headers['x-partner-key'] ?? null });
      res.writeHead(200, { 'content-type': 'application/json', 'x-internal-node': 'inv-3', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    lambda = spawn('python3', [fileURLToPath(new URL('../helpers/lambda_endpoint.py', import.meta.url)), 'AKIDEXAMPLEGATEWAY', 'example/secret'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [port] = (await once(lambda.stdout!, 'data')) as [Buffer];
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-examples-'));
    for (const f of ['auth.ts', 'rewrite.js', 'orders.ts']) copyFileSync(join(EXAMPLES, f), join(dir, f));
    const yaml = readFileSync(join(EXAMPLES, 'gateway.yaml'), 'utf8')
      .replace('127.0.0.1:8080', '127.0.0.1:0')
      .replace('http://127.0.0.1:9001', upstream.url)
      .replace('region: eu-west-1', `region: eu-west-1\n      endpoint: "http://127.0.0.1:${port.toString().trim()}"`);
    gw = await startGateway(yaml, {
      dir,
      env: { ...process.env, PARTNER_KEY: 'pk-example', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLEGATEWAY', AWS_SECRET_ACCESS_KEY: 'example/secret', AWS_SESSION_TOKEN: '' },
    });
  });
  after(async () => {
    await gw.close();
    await upstream.close();
    lambda.kill();
  });

  it('the JSON API creates an order and reads it back from its kv', async () => {
    const created = await send(gw.url, '/orders', { method: 'POST', body: JSON.stringify({ item: 'anvil', quantity: 2 }), headers: { 'content-type': 'application/json' } });
    assert.equal(created.status, 201);
    const order = created.json() as { id: string; item: string };
    assert.equal(created.headers.location, `/orders/${order.id}`);
    const read = await send(gw.url, `/orders/${order.id}`);
    assert.deepEqual(read.json(), { id: order.id, item: 'anvil', quantity: 2 });
    assert.equal((await send(gw.url, '/orders', { method: 'POST', body: '{}' })).status, 422);
    assert.equal((await send(gw.url, '/orders/nope')).status, 404);
  });

  it('the auth hook refuses a caller without the key, and lets one with it through without the key', async () => {
    const refused = await send(gw.url, '/inventory/widgets');
    assert.equal(refused.status, 401);
    assert.equal(refused.headers['www-authenticate'], 'PartnerKey');
    const passed = await send(gw.url, '/inventory/widgets', { headers: { 'x-partner-key': 'pk-example' } });
    assert.equal(passed.status, 200);
    assert.deepEqual(passed.json(), { partner: 'acme', key: null });
  });

  it('the response rewrite drops the internal header and sets cache and version', async () => {
    const got = await send(gw.url, '/inventory/widgets', { headers: { 'x-partner-key': 'pk-example' } });
    assert.equal(got.headers['x-internal-node'], undefined);
    assert.equal(got.headers['cache-control'], 'private, max-age=30');
    assert.equal(got.headers['x-api-version'], '2');
  });

  it('the Lambda route invokes reports-api with a signed v2 event', async () => {
    const got = await send(gw.url, '/reports/weekly?week=12');
    assert.equal(got.status, 201, got.text);
    assert.equal(got.headers['x-function'], 'reports-api');
    const { event } = got.json() as { event: { rawPath: string; rawQueryString: string } };
    assert.equal(event.rawPath, '/reports/weekly');
    assert.equal(event.rawQueryString, 'week=12');
  });
});

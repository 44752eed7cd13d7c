/**
 * Services of type aws-lambda against a local Invoke API that checks every
 * SigV4 signature with botocore (python3-botocore, an implementation
 * independent of aws4), then plays the Lambda function: v1 and v2 proxy
 * events, binary bodies base64 both ways, function errors, credentials from
 * the environment, a file and STS AssumeRole.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';

const ACCESS = 'AKIDPORTCULLISTEST01';
const SECRET = 'portcullis/test/secret/key/0000000000000';

async function startEndpoint(): Promise<{ url: string; child: ChildProcess }> {
  const script = fileURLToPath(new URL('../helpers/lambda_endpoint.py', import.meta.url));
  const child = spawn('python3', [script, ACCESS, SECRET], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  return { url: `http://127.0.0.1:${chunk.toString().trim()}`, child };
}

describe('functions: aws-lambda services', () => {
  let endpoint: { url: string; child: ChildProcess };
  let gw: TestGateway;

  before(async () => {
    endpoint = await startEndpoint();
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-lambda-'));
    writeFileSync(join(dir, 'credentials'), `[default]\naws_access_key_id = WRONG\naws_secret_access_key = WRONG\n\n[gateway]\naws_access_key_id = ${ACCESS}\naws_secret_access_key = ${SECRET}\n`);
    const lambda = (extra: string) => `{ function_name: "orders-api", region: eu-west-1, endpoint: "${endpoint.url}", ${extra} }`;
    gw = await startGateway(
      `
listeners: [{ name: main, address: "127.0.0.1:0" }]
services:
  - { name: v2, type: aws-lambda, lambda: ${lambda('payload: v2')} }
  - { name: v1, type: aws-lambda, lambda: ${lambda('payload: v1')} }
  - { name: from-file, type: aws-lambda, lambda: ${lambda(`credentials: { source: file, file: ${join(dir, 'credentials')}, profile: gateway }`)} }
  - name: role
    type: aws-lambda
    lambda: ${lambda(`credentials: { source: assume-role, role_arn: "arn:aws:iam::123456789012:role/gateway", sts_endpoint: "${endpoint.url}" }`)}
  - { name: wrong, type: aws-lambda, lambda: ${lambda(`unhealthy_after: 2, cooldown: 1h, credentials: { source: file, file: ${join(dir, 'credentials')} }`)} }
routes:
  - { name: v2, service: v2, public: true, match: { paths: [/v2] } }
  - { name: v1, service: v1, public: true, match: { paths: [/v1] } }
  - { name: from-file, service: from-file, public: true, match: { paths: [/file] } }
  - { name: role, service: role, public: true, match: { paths: [/role] } }
  - { name: wrong, service: wrong, public: true, match: { paths: [/wrong] } }
`,
      { env: { ...process.env, AWS_ACCESS_KEY_ID: ACCESS, AWS_SECRET_ACCESS_KEY: SECRET, AWS_SESSION_TOKEN: '' } },
    );
  });
  after(async () => {
    await gw.close();
    endpoint.child.kill();
  });

  type Echo = { event: Record<string, unknown> & { requestContext: Record<string, unknown> }; signedWith: string };

  it('invokes with a v2 event signed with the environment\'s keys, and answers the proxy response', async () => {
    const got = await send(gw.url, '/v2/orders?id=7&id=8', { method: 'POST', body: '{"n":1}', headers: { 'content-type': 'application/json', cookie: 'a=1; b=2' } });
    assert.equal(got.status, 201, got.text);
    assert.equal(got.headers['x-function'], 'orders-api');
    assert.deepEqual(got.headers['set-cookie'], ['a=1', 'b=2']);
    const { event, signedWith } = got.json() as Echo;
    assert.equal(signedWith, ACCESS);
    assert.equal(event.version, '2.0');
    assert.equal(event.rawPath, '/v2/orders');
    assert.equal(event.rawQueryString, 'id=7&id=8');
    assert.deepEqual(event.queryStringParameters, { id: '7,8' });
    assert.deepEqual(event.cookies, ['a=1', 'b=2']);
    assert.equal(event.body, '{"n":1}');
    assert.equal(event.isBase64Encoded, false);
    assert.equal((event.requestContext.http as { method: string }).method, 'POST');
  });

  it('invokes with a v1 event', async () => {
    const got = await send(gw.url, '/v1/items?x=1', { headers: { 'x-tag': 'blue' } });
    assert.equal(got.status, 201, got.text);
    const { event } = got.json() as Echo;
    assert.equal(event.httpMethod, 'GET');
    assert.equal(event.path, '/v1/items');
    assert.deepEqual(event.queryStringParameters, { x: '1' });
    assert.deepEqual((event.multiValueHeaders as Record<string, string[]>)['x-tag'], ['blue']);
    assert.equal(event.body, null);
  });

  it('sends and answers binary bodies base64-encoded', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255, 128]);
    const got = await fetch(`${gw.url}/v2/binary`, { method: 'POST', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(got.status, 200);
    assert.deepEqual(Buffer.from(await got.arrayBuffer()), Buffer.from([...bytes].reverse()));
  });

  it('a v2 answer without statusCode is a 200 JSON body, as API Gateway does', async () => {
    const got = await send(gw.url, '/v2/plain');
    assert.equal(got.status, 200);
    assert.deepEqual(got.json(), { just: 'a value' });
  });

  it('a function error is 502 function_failed', async () => {
    const got = await send(gw.url, '/v2/crash');
    assert.equal(got.status, 502);
    assert.equal((got.json() as { error: { code: string } }).error.code, 'function_failed');
  });

  it('signs with keys from a credentials file profile, and with an assumed role\'s temporary keys', async () => {
    const file = await send(gw.url, '/file/x');
    assert.equal(file.status, 201, file.text);
    assert.equal((file.json() as Echo).signedWith, ACCESS);
    const role = await send(gw.url, '/role/x');
    assert.equal(role.status, 201, role.text);
    assert.equal((role.json() as Echo).signedWith, 'ASIATEMPORARYKEY0001');
  });

  it('a signature the endpoint refuses is 502, and the secret is in no log line', async () => {
    const got = await send(gw.url, '/wrong/x');
    assert.equal(got.status, 502);
    assert.ok(!JSON.stringify(gw.logs).includes(SECRET));
  });

  it('failures in a row mark the service unhealthy: 503 function_unavailable, other Lambda routes unaffected', async () => {
    assert.equal((await send(gw.url, '/wrong/x')).status, 502);
    const got = await send(gw.url, '/wrong/x');
    assert.equal(got.status, 503);
    assert.equal((got.json() as { error: { code: string } }).error.code, 'function_unavailable');
    assert.equal((await send(gw.url, '/v2/still')).status, 201);
  });
});

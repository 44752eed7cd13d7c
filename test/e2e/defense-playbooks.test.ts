/**
 * The ready playbooks of docs/defense.md, run as written: each `# playbook:`
 * block is read from the page and appended to a gateway config on a real
 * Redis (distinct counts are HyperLogLogs there), then the attack it is
 * for is played against the gateway over real sockets and the outcome a
 * user would see is checked. Webhook notifications go to a real receiver
 * that verifies their signature.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { SeenDeliveries, verifyWebhook, verifyWebhookSignature } from '../../src/defense/notify.js';
import { adminSection, TOKENS } from '../helpers/admin-api.js';

const DOC = readFileSync(new URL('../../docs/defense.md', import.meta.url), 'utf8');
const SECRET = 'playbook-webhook-secret';
const KEY = 'alice-key-0123456789';

function playbook(name: string): string {
  const m = new RegExp('```yaml\\n# playbook: ' + name + '\\n([\\s\\S]*?)```').exec(DOC);
  assert.ok(m, `docs/defense.md has a "# playbook: ${name}" block`);
  return m[1]!;
}

function config(redisUrl: string, upstream: string, prefix: string, defense: string): string {
  return `
gateway: { access_log: false, trusted_proxies: [127.0.0.1/32] }
listeners: [{ name: main, address: "127.0.0.1:0" }]
${adminSection()}store: { kind: redis, url: "${redisUrl}", prefix: "${prefix}:", timeout: 10s }
services: [{ name: api, targets: [{ url: "${upstream}" }] }]
consumers:
  - { name: alice, groups: [users], credentials: { key-auth: [{ id: alice-key, key: "${KEY}" }] } }
routes:
  - name: login
    service: api
    match: { paths: [/login] }
    policies: [ { basic-auth: {} } ]
  - name: api
    service: api
    match: { paths: [/api] }
    policies: [ { key-auth: {} } ]
  - name: admin
    service: api
    match: { paths: [/admin] }
    policies: [ { key-auth: {} }, { acl: { allow: [admins] } } ]
${defense}`;
}

interface Hook {
  body: string;
  signature: string | undefined;
  /** What the receiver, run as docs/defense.md says, made of it. */
  verdict: string;
}

describe('the ready playbooks of docs/defense.md', () => {
  let redis: TestRedis;
  let upstream: TestUpstream;
  let receiver: Server;
  let receiverUrl: string;
  const hooks: Hook[] = [];
  const gateways: TestGateway[] = [];

  const start = async (name: string) => {
    const gw = await startGateway(config(redis.url, upstream.url, name, playbook(name)), {
      env: { ...process.env, SOC_WEBHOOK_URL: receiverUrl, SOC_WEBHOOK_SECRET: SECRET },
    });
    gateways.push(gw);
    return gw;
  };
  const get = (gw: TestGateway, path: string, ip: string, headers: Record<string, string> = {}) =>
    send(gw.url, path, { headers: { 'x-forwarded-for': ip, ...headers } });
  const eventually = async (what: string, check: () => Promise<boolean> | boolean, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const listed = async (gw: TestGateway) =>
    (await send(gw.gateway.admin.url!, '/api/v1/defense/actions', { headers: { authorization: `Bearer ${TOKENS.viewer}` } })).json<{
      actions: Array<{ kind: string; scope: string; target: string; created_at: string; expires_at: string }>;
    }>().actions;

  before(async () => {
    redis = await startRedis();
    upstream = await startUpstream();
    // A receiver as docs/defense.md describes it: the signature, the time, and each delivery id once.
    const seen = new SeenDeliveries();
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const signature = req.headers['x-portcullis-signature'] as string | undefined;
        const verdict = verifyWebhook(SECRET, body, signature, { seen });
        hooks.push({ body, signature, verdict: verdict.ok ? 'ok' : verdict.reason });
        res.writeHead(verdict.ok ? 204 : verdict.reason === 'replayed' ? 409 : 401).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  });

  after(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await new Promise((resolve) => receiver?.close(resolve));
    await upstream?.close();
    await redis?.close();
  });

  it('brute force: 20 refused keys from one address block it for 10 minutes, and the SOC webhook is told, signed', async () => {
    const gw = await start('brute-force');
    const ip = '203.0.113.20';
    for (let i = 0; i < 20; i++) assert.equal((await get(gw, '/api', ip, { 'x-api-key': `guess-${i}` })).status, 401);
    await eventually('the address blocked', async () => (await get(gw, '/api', ip, { 'x-api-key': KEY })).status === 403);
    assert.equal((await get(gw, '/api', '203.0.113.21', { 'x-api-key': KEY })).status, 200);
    const [block] = await listed(gw);
    assert.equal(Date.parse(block!.expires_at) - Date.parse(block!.created_at), 10 * 60_000);
    await eventually('the webhook received', () => hooks.some((h) => h.body.includes('"brute-force"')));
    const hook = hooks.find((h) => h.body.includes('"brute-force"'))!;
    assert.ok(verifyWebhookSignature(SECRET, hook.body, hook.signature), 'the signature verifies with the shared secret');
    assert.ok(!verifyWebhookSignature(SECRET, hook.body.replace('203.0.113.20', '203.0.113.99'), hook.signature), 'a changed body does not');
    assert.ok(!verifyWebhookSignature('another-secret', hook.body, hook.signature), 'nor another secret');
    assert.equal(hook.verdict, 'ok', 'the receiver took it');
    assert.match((JSON.parse(hook.body) as { delivery: string }).delivery, /^[0-9a-f]{32}$/, 'a signed delivery id');
    // Someone who captured the request sends it again, byte for byte, within the 5 minutes: refused.
    const replay = await send(new URL(receiverUrl).origin, '/hook', { method: 'POST', headers: { 'content-type': 'application/json', 'x-portcullis-signature': hook.signature! }, body: hook.body });
    assert.equal(replay.status, 409);
    assert.equal(hooks.at(-1)!.verdict, 'replayed');
    const note = JSON.parse(hook.body) as { key: string; actions: Array<{ kind: string; target: string }> };
    assert.equal(note.key, ip);
    assert.deepEqual(note.actions.map((a) => [a.kind, a.target]), [['block', ip]]);
  });

  it('credential stuffing: 60 user names tried from one address trip the distinct count and block it', async () => {
    const gw = await start('credential-stuffing');
    const ip = '203.0.113.30';
    let blocked = false;
    for (let i = 0; i < 60 && !blocked; i++) {
      const basic = Buffer.from(`user${i}@example.com:Winter2026!`).toString('base64');
      const status = (await get(gw, '/login', ip, { authorization: `Basic ${basic}` })).status;
      assert.ok(status === 401 || status === 403, `got ${status}`);
      blocked = status === 403;
    }
    await eventually('the address blocked', async () => (await get(gw, '/api', ip, { 'x-api-key': KEY })).status === 403);
    // One user name tried many times is not stuffing: another address doing that stays unblocked.
    const other = '203.0.113.31';
    const basic = Buffer.from('bob:wrong').toString('base64');
    for (let i = 0; i < 60; i++) assert.equal((await get(gw, '/login', other, { authorization: `Basic ${basic}` })).status, 401);
    assert.equal((await get(gw, '/api', other, { 'x-api-key': KEY })).status, 200);
  });

  it('scanners: 30 404s from one address in a minute block it', async () => {
    const gw = await start('scanners');
    const ip = '203.0.113.40';
    for (let i = 0; i < 30; i++) assert.equal((await get(gw, `/wp-admin/${i}.php`, ip)).status, 404);
    await eventually('the scanner blocked', async () => (await get(gw, '/api', ip, { 'x-api-key': KEY })).status === 403);
    assert.equal((await get(gw, '/api', '203.0.113.41', { 'x-api-key': KEY })).status, 200);
  });

  it('leaked key: one key from 20 addresses suspends that credential, and the SOC is told', async () => {
    const gw = await start('leaked-key');
    for (let i = 1; i <= 20; i++) {
      const status = (await get(gw, '/api', `198.18.0.${i}`, { 'x-api-key': KEY })).status;
      assert.ok(status === 200 || status === 403);
    }
    await eventually('the credential suspended', async () => (await get(gw, '/api', '198.18.0.1', { 'x-api-key': KEY })).status === 403);
    const refused = await get(gw, '/api', '198.18.1.1', { 'x-api-key': KEY });
    assert.equal(refused.json<{ error: { code: string } }>().error.code, 'access_suspended');
    const [action] = await listed(gw);
    assert.deepEqual([action!.kind, action!.scope, action!.target], ['suspend', 'credential', 'alice-key']);
    await eventually('the webhook received', () => hooks.some((h) => h.body.includes('"leaked-key"')));
  });

  it('abusive consumer: five refusals of its rights hold it to ten requests a minute', async () => {
    const gw = await start('abusive-consumer');
    const ip = '203.0.113.50';
    for (let i = 0; i < 5; i++) assert.equal((await get(gw, '/admin', ip, { 'x-api-key': KEY })).status, 403);
    await eventually('the tighter limit in force', async () => (await listed(gw)).length === 1);
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await get(gw, '/api', ip, { 'x-api-key': KEY })).status);
    assert.deepEqual(statuses.slice(0, 10), new Array(10).fill(200));
    assert.equal(statuses[11], 429);
  });
});

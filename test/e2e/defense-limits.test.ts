/**
 * Automatic defense's limits hold against decoys (found by the red team):
 * notifications spend the same per-minute budget as actions, so crossings
 * made on purpose from many addresses cannot flood a webhook receiver; and
 * an operator's ban is not refused because detections filled max_actions.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { adminSection, TOKENS } from '../helpers/admin-api.js';

const ACTIONS = '/api/v1/defense/actions';

describe('defense limits against decoys', () => {
  let upstream: TestUpstream;
  let receiver: Server;
  let gw: TestGateway;
  const posts: string[] = [];
  const admin = (path: string, init: { method?: string; body?: unknown } = {}) =>
    send(gw.gateway.admin.url!, path, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${TOKENS.operator}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });

  before(async () => {
    upstream = await startUpstream((_req, res) => {
      res.writeHead(404).end();
    });
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        posts.push(body);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    gw = await startGateway(`
gateway: { access_log: false, trusted_proxies: [127.0.0.1/32] }
listeners: [{ name: main, address: "127.0.0.1:0" }]
${adminSection()}services: [{ name: api, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: api, service: api, public: true, match: { paths: [/] } }]
defense:
  max_actions: 1
  max_actions_per_minute: 1
  detections:
    - name: scanner
      match: { statuses: [404] }
      key: ip
      threshold: { count: 1, window: 1m }
      playbook: tell-soc
  playbooks:
    - name: tell-soc
      actions: [ { notify: { webhook: soc } } ]
  notifiers:
    webhooks: [ { name: soc, url: "${hook}", secret: "a-webhook-secret-for-the-test-0123456789" } ]
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
    await new Promise<void>((r) => receiver.close(() => r()));
  });

  it('sends one notification a minute with a budget of one, however many addresses cross', async () => {
    for (let i = 1; i <= 6; i++) assert.equal((await send(gw.url, '/missing', { headers: { 'x-forwarded-for': `192.0.2.${i}` } })).status, 404);
    const deadline = Date.now() + 5000;
    while (posts.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // Time for any post beyond the budget to arrive (before the fix, each of the six crossings posted).
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(posts.length, 1, `webhook posts: ${posts.length}`);
  });

  it('lets an operator ban past max_actions, up to twice it', async () => {
    const first = await admin(ACTIONS, { method: 'POST', body: { target: '203.0.113.1', duration: '1m' } });
    assert.equal(first.status, 201, first.text);
    const second = await admin(ACTIONS, { method: 'POST', body: { target: '203.0.113.2', duration: '1m' } });
    assert.equal(second.status, 201, 'max_actions (1) is full, yet the operator\'s ban is taken');
    const third = await admin(ACTIONS, { method: 'POST', body: { target: '203.0.113.3', duration: '1m' } });
    assert.equal(third.status, 409, 'twice max_actions is the bound');
  });
});

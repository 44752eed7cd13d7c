/**
 * Automatic defense across a fleet: three gateways (in-process, real
 * sockets) on one real redis-server. A brute force on node A gets the
 * attacker refused by B and C; the ban expires; a repeat is banned twice as
 * long; a node started during a ban enforces it; a node cut off from Redis
 * while a ban is added (its Redis connection goes through a TCP relay the
 * test cuts) converges once it is back; an allowlisted address is never
 * blocked. Client addresses are chosen with X-Forwarded-For from a trusted
 * loopback proxy. Bounds are generous: they are about "converges", the
 * timing goes to bench/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { adminSection, TOKENS } from '../helpers/admin-api.js';

const ATTACKER = '203.0.113.7';
const INNOCENT = '192.0.2.10';
const ALLOWED = '198.51.100.9';
const GOOD_KEY = 'alice-key-0123456789';
/** An operator's admin API token: the role that writes defense actions. */
const TOKEN = TOKENS.operator;
const ACTIONS = '/api/v1/defense/actions';

/** A TCP relay to Redis the test can cut (every connection dropped, new ones refused) and restore. */
async function startRelay(port: number): Promise<{ port: number; cut(): void; restore(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let open = true;
  const server: Server = createServer((client) => {
    if (!open) return client.destroy();
    const upstream = connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore() {
      open = true;
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function config(redisUrl: string, upstream: string): string {
  return `
gateway: { access_log: false, trusted_proxies: [127.0.0.1/32] }
listeners: [{ name: main, address: "127.0.0.1:0" }]
${adminSection()}store: { kind: redis, url: "${redisUrl}", timeout: 10s, connect_timeout: 5s }
services: [{ name: api, targets: [{ url: "${upstream}" }] }]
consumers:
  - { name: alice, credentials: { key-auth: [{ id: alice-key, key: "${GOOD_KEY}" }] } }
routes:
  - name: api
    service: api
    match: { paths: [/api] }
    policies: [ { key-auth: {} } ]
defense:
  resync: 1s
  allowlist: { cidrs: [198.51.100.0/24] }
  detections:
    - name: brute-force
      match: { events: [auth.invalid_credentials] }
      key: ip
      threshold: { count: 5, window: 1m }
      playbook: block-ip
  playbooks:
    - name: block-ip
      actions: [ { block: { duration: 3s } } ]
      escalation: { factor: 2, max: 1h, reset_after: 1h }
`;
}

async function call(gw: TestGateway, ip: string, key: string): Promise<number> {
  return (await send(gw.url, '/api', { headers: { 'x-forwarded-for': ip, 'x-api-key': key } })).status;
}

/** Polls until `check` holds, at most `ms` (a generous bound: this is about converging, not speed). */
async function eventually(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function actions(gw: TestGateway): Promise<Array<{ id: string; target: string; created_at: string; expires_at: string; strike?: number }>> {
  const res = await send(gw.gateway.admin.url!, ACTIONS, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200);
  return res.json<{ actions: Array<{ id: string; target: string; created_at: string; expires_at: string; strike?: number }> }>().actions;
}

async function attack(gw: TestGateway, ip: string, times = 5): Promise<void> {
  for (let i = 0; i < times; i++) assert.equal(await call(gw, ip, `wrong-key-${i}`), 401);
}

describe('automatic defense across a fleet of three on one Redis', () => {
  let redis: TestRedis;
  let upstream: TestUpstream;
  let relay: Awaited<ReturnType<typeof startRelay>>;
  let a: TestGateway;
  let b: TestGateway;
  let c: TestGateway;

  before(async () => {
    redis = await startRedis();
    upstream = await startUpstream();
    relay = await startRelay(redis.port);
    a = await startGateway(config(redis.url, upstream.url));
    b = await startGateway(config(redis.url, upstream.url));
    c = await startGateway(config(`redis://127.0.0.1:${relay.port}`, upstream.url));
  });

  after(async () => {
    await Promise.all([a, b, c].map((g) => g?.close()));
    await relay?.close();
    await upstream?.close();
    await redis?.close();
  });

  it('an attack on node A: B and C refuse the attacker, and everyone else passes', async () => {
    for (const gw of [a, b, c]) assert.equal(await call(gw, ATTACKER, GOOD_KEY), 200);
    await attack(a, ATTACKER);
    for (const gw of [a, b, c]) await eventually('the attacker refused on every node', async () => (await call(gw, ATTACKER, GOOD_KEY)) === 403);
    const refused = await send(b.url, '/api', { headers: { 'x-forwarded-for': ATTACKER, 'x-api-key': GOOD_KEY } });
    assert.equal(refused.json<{ error: { code: string } }>().error.code, 'ip_forbidden');
    // Refused before routing: a path no route serves is refused too.
    assert.equal((await send(c.url, '/nowhere', { headers: { 'x-forwarded-for': ATTACKER } })).status, 403);
    for (const gw of [a, b, c]) assert.equal(await call(gw, INNOCENT, GOOD_KEY), 200);
    const listed = await actions(c);
    assert.deepEqual(
      listed.map((x) => x.target),
      [ATTACKER],
    );
  });

  it('the ban expires on every node when its time is up', async () => {
    for (const gw of [a, b, c]) await eventually('the attacker let through again', async () => (await call(gw, ATTACKER, GOOD_KEY)) === 200, 15_000);
    await eventually('the expired action gone from the list', async () => (await actions(a)).length === 0);
  });

  it('a repeat is banned twice as long (escalation factor 2)', async () => {
    await attack(b, ATTACKER);
    await eventually('the second ban listed', async () => (await actions(a)).length === 1);
    const [second] = await actions(a);
    assert.equal(second!.strike, 2);
    assert.equal(Date.parse(second!.expires_at) - Date.parse(second!.created_at), 6000);
  });

  it('a node started during a ban enforces it', async () => {
    // A fresh node (B restarted) reads the actions in force from the store at start.
    await b.close();
    b = await startGateway(config(redis.url, upstream.url));
    assert.equal(await call(b, ATTACKER, GOOD_KEY), 403);
    assert.equal(await call(b, INNOCENT, GOOD_KEY), 200);
  });

  it('a node cut off from Redis while a ban is added converges once it is back', async () => {
    const target = '203.0.113.99';
    relay.cut();
    const added = await send(a.gateway.admin.url!, ACTIONS, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ target, duration: '1h', reason: 'operator ban during the outage' }),
    });
    assert.equal(added.status, 201);
    await eventually('B refuses the banned address', async () => (await call(b, target, GOOD_KEY)) === 403);
    relay.restore();
    await eventually('C refuses it once its store is back', async () => (await call(c, target, GOOD_KEY)) === 403, 20_000);
    const lifted = await send(a.gateway.admin.url!, `${ACTIONS}?target=${target}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(lifted.status, 200);
    for (const gw of [a, b, c]) await eventually('the lifted ban gone everywhere', async () => (await call(gw, target, GOOD_KEY)) === 200);
  });

  it('an allowlisted address is never blocked, by a detection or an operator', async () => {
    await attack(c, ALLOWED, 12);
    for (const gw of [a, b, c]) assert.equal(await call(gw, ALLOWED, GOOD_KEY), 200);
    assert.ok(!(await actions(a)).some((x) => x.target === ALLOWED));
    const refused = await send(a.gateway.admin.url!, ACTIONS, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ target: '198.51.0.0/16', duration: '1h' }),
    });
    assert.equal(refused.status, 409);
  });
});

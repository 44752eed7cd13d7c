/**
 * Graceful drain and the probes, over real sockets. A gateway in a child
 * process gets SIGTERM: for gateway.drain_delay its readiness answers 503
 * (on the traffic listener's health_path and on the admin listener's /readyz)
 * while its liveness answers 200 and new requests are still served; then new
 * connections are refused, and a request in flight still gets its answer.
 * Readiness also follows the store (a Redis killed, then back) and the
 * identity providers a route needs (a JWKS never fetched, then served).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import { send, startGateway, writeConfig, type TestGateway } from '../helpers/gateway.js';
import { cli, startCli, type RunningCli } from '../helpers/cli.js';
import { freePort, startRedis, type TestRedis } from '../helpers/redis.js';
import { echo, startUpstream, type TestUpstream } from '../helpers/upstream.js';

/** A child process's start (node + tsx + the gateway's modules) can take well over 20 s on a busy 2-core machine. */
const SPAWN_MS = 60_000;

/** Asks until `check` holds (a state reached in the background: an outage noticed, a provider found); fails after 20 s. */
async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The error code of a request that gets no answer (ECONNREFUSED once the listener has closed). */
async function refusal(base: string, path: string): Promise<string | undefined> {
  try {
    await send(base, path);
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe('drain on SIGTERM, a gateway in a child process', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('answers readiness 503 and still serves for drain_delay, then refuses connections while in-flight requests finish', async () => {
    // The upstream holds /held until the test lets it go: the request is in flight for as long as the test needs.
    const held: Array<() => void> = [];
    const upstream = await startUpstream((req, res, seen) => {
      if (req.url === '/held') held.push(() => echo(req, res, seen));
      else echo(req, res, seen);
    });
    cleanup.push(() => upstream.close());
    const [port, adminPort] = [await freePort(), await freePort()];
    const file = writeConfig(`
gateway: { drain_delay: 6s, shutdown_timeout: 30s, health_path: /readyz, liveness_path: /livez }
admin: { address: "127.0.0.1:${adminPort}" }
listeners: [{ name: main, address: "127.0.0.1:${port}" }]
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: r, service: s, public: true, match: { paths: [/] } }]
`);
    const gateway: RunningCli = startCli(['start', '-c', file]);
    cleanup.push(() => void gateway.child.kill('SIGKILL'));
    await gateway.waitFor(`portcullis listening on http://127.0.0.1:${port} (main)`, SPAWN_MS);
    const base = `http://127.0.0.1:${port}`;
    const admin = `http://127.0.0.1:${adminPort}`;

    assert.equal((await send(base, '/readyz')).status, 200);
    assert.deepEqual((await send(admin, '/readyz')).json(), { status: 'ok', checks: { draining: false, store: 'up', identity: [] } });
    const inflight = send(base, '/held');
    await eventually('the held request reached the upstream', () => Promise.resolve(held.length === 1));

    gateway.child.kill('SIGTERM');
    await gateway.waitFor('shutting down');
    // The drain delay: not ready, alive, and still serving new connections.
    const ready = await send(base, '/readyz');
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.json(), { status: 'draining' });
    assert.equal((await send(base, '/livez')).status, 200);
    const served = await send(base, '/during-drain');
    assert.equal(served.status, 200);
    assert.equal(served.json().url, '/during-drain');
    assert.equal(served.headers.connection, 'close', 'each answer closes its connection, so clients move to another gateway');
    const adminReady = await send(admin, '/readyz');
    assert.equal(adminReady.status, 503);
    assert.equal(adminReady.json().status, 'draining');
    assert.equal((await send(admin, '/livez')).status, 200);

    // Then the listener closes: new connections are refused, the request in flight still finishes.
    await gateway.waitFor('drain delay over');
    assert.equal(await refusal(base, '/after-drain'), 'ECONNREFUSED');
    held.shift()!();
    const finished = await inflight;
    assert.equal(finished.status, 200);
    assert.equal(finished.json().url, '/held');
    assert.equal(await gateway.exited, 0);
    assert.equal(upstream.seen.filter((r) => r.url === '/after-drain').length, 0);
  });
});

describe('readiness follows its dependencies', () => {
  let redis: TestRedis;
  let upstream: TestUpstream;
  let gw: TestGateway;
  let jwks: Server | undefined;
  after(async () => {
    await gw?.close();
    await upstream?.close();
    await redis?.close();
    jwks?.closeAllConnections();
    await new Promise((r) => (jwks ? jwks.close(r) : r(undefined)));
  });

  it('is not ready while Redis is down, and ready again once it is back, with no traffic in between', async () => {
    redis = await startRedis();
    upstream = await startUpstream();
    gw = await startGateway(`
gateway: { health_path: /readyz, liveness_path: /livez }
admin: { address: "127.0.0.1:0" }
listeners: [{ name: main, address: "127.0.0.1:0" }]
store: { kind: redis, url: "${redis.url}", timeout: 200ms }
services: [{ name: api, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: r, service: api, public: true, match: { paths: [/] }, policies: [{ rate-limit: { limit: 1000, window: 1m, by: ip, fail: open } }] }]
`);
    const admin = gw.gateway.admin.url!;
    assert.equal((await send(gw.url, '/readyz')).status, 200);

    await redis.kill();
    await eventually('readiness 503 with Redis down', async () => (await send(gw.url, '/readyz')).status === 503);
    assert.deepEqual((await send(gw.url, '/readyz')).json(), { status: 'not_ready' }, 'the traffic listener does not say why');
    const report = await send(admin, '/readyz');
    assert.equal(report.status, 503);
    assert.deepEqual(report.json(), { status: 'not_ready', checks: { draining: false, store: 'down', identity: [] } });
    assert.equal((await send(gw.url, '/livez')).status, 200, 'alive: restarting the gateway would not bring Redis back');
    assert.equal((await send(admin, '/livez')).status, 200);

    await redis.restart();
    await eventually('readiness 200 with Redis back', async () => (await send(admin, '/readyz')).status === 200);
    assert.equal((await send(gw.url, '/readyz')).status, 200);
  });

  it('is not ready while a route needs an identity provider never reached, and ready once its keys are fetched', async () => {
    const jwksPort = await freePort();
    await gw.close();
    gw = await startGateway(`
gateway: { health_path: /readyz }
admin: { address: "127.0.0.1:0" }
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: api, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: open
    service: api
    public: true
    match: { paths: [/open] }
  - name: api
    service: api
    match: { paths: [/api] }
    policies:
      - jwt:
          jwks: { cooldown: 1s }
          issuers: [{ issuer: "https://idp.test", name: corp, algorithms: [RS256], jwks_url: "http://127.0.0.1:${jwksPort}/jwks", audiences: [api] }]
`);
    const admin = gw.gateway.admin.url!;
    assert.equal((await send(gw.url, '/readyz')).status, 503);
    const report = await send(admin, '/readyz');
    assert.equal(report.status, 503);
    assert.deepEqual(report.json().checks.identity, ['jwt: no signing keys fetched yet from corp']);
    assert.equal((await send(gw.url, '/open')).status, 200, 'not ready is advice to the load balancer: requests are still served');

    const { publicKey } = await generateKeyPair('RS256');
    const body = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] });
    jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
    await new Promise<void>((r) => jwks!.listen(jwksPort, '127.0.0.1', r));
    await eventually('readiness 200 once the JWKS is served', async () => (await send(admin, '/readyz')).status === 200);
    assert.deepEqual((await send(admin, '/readyz')).json(), { status: 'ok', checks: { draining: false, store: 'up', identity: [] } });
    assert.equal((await send(gw.url, '/readyz')).status, 200);
  });
});

describe('probe settings', () => {
  it('refuses one path for both probes, and a drain delay past the timer limit, with file:line', async () => {
    const file = writeConfig(`
gateway:
  health_path: /health
  liveness_path: /health
  drain_delay: 30d
listeners: [{ name: main, address: "127.0.0.1:0" }]
`);
    const result = await cli(['validate', file]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /gateway\.yaml:4: gateway\.liveness_path: must differ from health_path/);
    assert.match(result.stderr, /gateway\.yaml:5: gateway\.drain_delay: /);
  });
});

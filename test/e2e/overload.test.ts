/**
 * Overload protection: past max_in_flight, or with the event loop blocked
 * past max_event_loop_delay, new requests are shed with 503 and Retry-After
 * before any work, the health endpoint still answers, and the gateway
 * recovers by itself. The blocked loop is a real one: the gateway process
 * (the CLI) is frozen with SIGSTOP while requests arrive on its connections.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Pool } from 'undici';
import { send, startGateway, writeConfig, type TestGateway } from '../helpers/gateway.js';
import { startCli, type RunningCli } from '../helpers/cli.js';
import { rawExchange } from '../helpers/raw.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('overload protection', () => {
  let upstream: TestUpstream;
  const held: Array<() => void> = [];

  before(async () => {
    upstream = await startUpstream((req, res) => {
      if (req.url?.includes('hold')) held.push(() => res.end('ok'));
      else res.end('ok');
    });
  });
  after(async () => {
    for (const release of held.splice(0)) release();
    await upstream.close();
  });

  describe('in-flight ceiling', () => {
    let gw: TestGateway;
    before(async () => {
      gw = await startGateway(`
gateway: { health_path: /healthz, limits: { max_in_flight: 3 } }
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: api, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: api, service: api, public: true }]
`);
    });
    after(() => gw.close());

    it('sheds requests past the ceiling with 503 and Retry-After, answers health checks, and recovers', async () => {
      const busy = [send(gw.url, '/hold'), send(gw.url, '/hold'), send(gw.url, '/hold')];
      while (held.length < 3) await sleep(5);
      const shed = await send(gw.url, '/more');
      assert.equal(shed.status, 503);
      assert.equal(shed.headers['retry-after'], '1');
      assert.equal(shed.json<{ error: { code: string } }>().error.code, 'overloaded');
      const health = await send(gw.url, '/healthz');
      assert.equal(health.status, 200);
      assert.deepEqual(health.json(), { status: 'ok' });
      assert.equal(upstream.seen.filter((r) => r.url === '/more').length, 0, 'a shed request costs the upstream nothing');
      for (const release of held.splice(0)) release();
      await Promise.all(busy);
      assert.equal((await send(gw.url, '/more')).status, 200);
      assert.ok(gw.logs.some((l) => l.msg === 'overloaded: shedding new requests' && l.reason === 'in_flight'));
      assert.ok(gw.logs.some((l) => l.msg === 'overload over: accepting requests again'));
    });

    it('the health path is answered by the gateway itself, only for GET and HEAD', async () => {
      assert.equal(upstream.seen.filter((r) => r.url.startsWith('/healthz')).length, 0);
      assert.equal((await send(gw.url, '/healthz?probe=lb')).status, 200);
      const post = await send(gw.url, '/healthz', { method: 'POST', body: 'x' });
      assert.equal(post.status, 200);
      assert.equal(upstream.seen.filter((r) => r.url === '/healthz').length, 1, 'a POST is routed like any request');
    });

    it('holds the health path to the framing rules: a smuggling attempt gets 400 and a closed connection', async () => {
      const port = Number(new URL(gw.url).port);
      const reply = await rawExchange(port, 'GET /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n');
      assert.equal(reply.status, 400);
      assert.ok(reply.closed);
    });
  });

  describe('blocked event loop', () => {
    let cli: RunningCli;
    let base: string;
    before(async () => {
      const file = writeConfig(`
gateway: { health_path: /healthz, limits: { max_event_loop_delay: 300ms } }
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: api, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: api, service: api, public: true }]
`);
      cli = startCli(['start', '-c', file, '--pid-file', `${file}.pid`]);
      const out = await cli.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
    });
    after(async () => {
      cli.child.kill('SIGCONT');
      cli.child.kill('SIGTERM');
      await cli.exited;
    });

    it('sheds what queued while the loop was blocked, keeps answering health checks, and recovers', async (t) => {
      const pool = new Pool(base, { connections: 8 });
      const health = new Client(base);
      try {
        // Open the connections first, so the requests below are waiting on them when the gateway wakes up.
        await Promise.all(Array.from({ length: 8 }, () => pool.request({ path: '/warm', method: 'GET' }).then((r) => r.body.dump())));
        await (await health.request({ path: '/healthz', method: 'GET' })).body.dump();

        cli.child.kill('SIGSTOP');
        const queued = Array.from({ length: 8 }, () =>
          pool.request({ path: '/queued', method: 'GET' }).then(async (r) => ({ status: r.statusCode, retry: r.headers['retry-after'], body: await r.body.text() })),
        );
        const probe = health.request({ path: '/healthz', method: 'GET' }).then(async (r) => ({ status: r.statusCode, body: await r.body.text() }));
        await sleep(1200);
        cli.child.kill('SIGCONT');

        const results = await Promise.all(queued);
        const shed = results.filter((r) => r.status === 503);
        t.diagnostic(`after a 1.2 s freeze: ${results.map((r) => r.status).join(',')}`);
        assert.ok(shed.length >= 1, `statuses: ${results.map((r) => r.status).join(',')}`);
        for (const r of shed) {
          assert.equal(r.retry, '1');
          assert.match(r.body, /"code":"overloaded"/);
        }
        assert.equal((await probe).status, 200, 'health checks are never shed');

        let recovered = false;
        for (let i = 0; i < 50 && !recovered; i++) {
          const r = await pool.request({ path: '/after', method: 'GET' });
          await r.body.dump();
          recovered = r.statusCode === 200;
          if (!recovered) await sleep(100);
        }
        assert.ok(recovered, 'serves again once the loop keeps up');
        await cli.waitFor('overloaded: shedding new requests');
        await cli.waitFor('overload over: accepting requests again', 5000);
      } finally {
        await pool.close();
        await health.close();
      }
    });
  });
});

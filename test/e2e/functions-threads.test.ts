/**
 * The worker threads functions share (functions_runtime.threads,
 * src/functions/thread-pool.ts): several functions answer from one thread;
 * a stuck function's thread is terminated and replaced while another
 * function keeps answering from the other thread; a call of another function
 * caught on the terminated thread is answered 502 (crash, not retried) and
 * does not count against that function's health. Real gateway, real sockets;
 * no timing assertions (ordering: the stuck call's answer has not arrived).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import type { TelemetryEvent } from '../../src/telemetry/event.js';

function outsideAddress(): string {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  throw new Error('this test needs a non-loopback IPv4 address');
}

const NAMED = (name: string) => `export default () => new Response('${name}');`;

const STUCK = `
export default async (request) => {
  const url = new URL(request.url);
  if (url.pathname.endsWith('/ok')) return new Response('fine');
  // Tells the test the call is running; then one long native call after another, which QuickJS's interrupt
  // handler does not reach in time: the watchdog terminates the thread.
  await fetch(url.searchParams.get('signal') + '/started');
  const s = 'x'.repeat(1 << 20);
  for (;;) s.indexOf('y');
};
`;

async function waitFor(events: TelemetryEvent[], match: (e: TelemetryEvent) => boolean): Promise<TelemetryEvent> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const found = events.find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`event not seen; seen: ${JSON.stringify(events.map((e) => [e.type, e.reason, e.request?.path]))}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const threads of [1, 2]) {
  describe(`functions: ${threads} shared thread(s)`, () => {
    let signals: Server;
    let signalUrl: string;
    let gw: TestGateway;
    const events: TelemetryEvent[] = [];
    let started: (() => void) | undefined;

    before(async () => {
      signals = createServer((_req, res) => {
        res.end('go');
        started?.();
      });
      await new Promise<void>((r) => signals.listen(0, '0.0.0.0', r));
      signalUrl = `http://${outsideAddress()}:${(signals.address() as AddressInfo).port}`;
      const dir = mkdtempSync(join(tmpdir(), 'portcullis-fn-threads-'));
      for (const n of ['a', 'b', 'c']) writeFileSync(join(dir, `${n}.js`), NAMED(n));
      writeFileSync(join(dir, 'stuck.js'), STUCK);
      gw = await startGateway(
        `
listeners: [{ name: main, address: "127.0.0.1:0" }]
functions_runtime: { threads: ${threads} }
functions:
  - { name: a, file: a.js, unhealthy_after: 1 }
  - { name: b, file: b.js, unhealthy_after: 1 }
  - { name: c, file: c.js, unhealthy_after: 1 }
  - { name: stuck, file: stuck.js, timeout: 1s, unhealthy_after: 1000, fetch: { allow: ["${signalUrl}"], allow_private: true } }
services:
  - { name: a, type: function, function: a }
  - { name: b, type: function, function: b }
  - { name: c, type: function, function: c }
  - { name: stuck, type: function, function: stuck }
routes:
  - { name: a, service: a, public: true, match: { paths: [/a] } }
  - { name: b, service: b, public: true, match: { paths: [/b] } }
  - { name: c, service: c, public: true, match: { paths: [/c] } }
  - { name: stuck, service: stuck, public: true, match: { paths: [/stuck] } }
`,
        { dir },
      );
      gw.gateway.telemetry.events.subscribe((e) => events.push(e));
    });
    after(async () => {
      await gw.close();
      signals.closeAllConnections();
      signals.close();
    });

    it('several functions answer, on no more threads than configured', async () => {
      for (let round = 0; round < 3; round++) {
        const got = await Promise.all(['a', 'b', 'c', 'a', 'b', 'c'].map((n) => send(gw.url, `/${n}/x`)));
        assert.deepEqual(
          got.map((r) => r.text),
          ['a', 'b', 'c', 'a', 'b', 'c'],
        );
      }
      assert.ok(gw.gateway.functions.threads.live <= threads, `${gw.gateway.functions.threads.live} threads running`);
    });

    it(
      threads === 1
        ? "a stuck call's thread is replaced; another function's call caught on it is answered 502 and the function stays healthy"
        : "a stuck call's thread is replaced while another function keeps answering from the other thread",
      async () => {
        const running = new Promise<void>((r) => (started = r));
        let answered = false;
        const stuck = send(gw.url, `/stuck/go?signal=${encodeURIComponent(signalUrl)}`).then((r) => {
          answered = true;
          return r;
        });
        await running;
        const before = gw.gateway.functions.threads.started;
        if (threads === 1) {
          // Sent to the only thread, busy with the stuck call: answered when the watchdog terminates it.
          const caught = await send(gw.url, '/a/caught');
          assert.equal(caught.status, 502, caught.text);
          assert.equal((caught.json() as { error: { code: string } }).error.code, 'function_failed');
          const event = await waitFor(events, (e) => e.type === 'function.failed' && e.request?.path === '/a/caught');
          assert.equal(event.reason, 'crash');
        } else {
          // The other thread is free: b and c answer while the stuck call's answer has not arrived.
          for (const n of ['b', 'c', 'b']) assert.equal((await send(gw.url, `/${n}/meanwhile`)).text, n);
          assert.equal(answered, false, 'another function answered before the stuck call was stopped');
        }
        const got = await stuck;
        assert.equal(got.status, 504, got.text);
        await gw.waitForLog((l) => l.function === 'stuck' && /function thread terminated/.test(l.msg), 20_000);
        // A new thread for the next calls; `a` (unhealthy_after: 1) was not marked unhealthy by the call it lost.
        for (const n of ['a', 'b', 'c']) assert.equal((await send(gw.url, `/${n}/after`)).text, n);
        assert.equal((await send(gw.url, '/stuck/ok')).text, 'fine');
        // With one thread, the answers above came from its replacement; with two, the survivor serves and a
        // second thread starts again only when calls overlap (threads are started on demand).
        if (threads === 1) assert.ok(gw.gateway.functions.threads.started > before, 'a replacement thread was started');
        assert.ok(gw.gateway.functions.threads.live <= threads);
      },
    );
  });
}

/**
 * What a function cannot do, through a real gateway: reach the process, the
 * file system, modules or the host's objects; leave state for the next call;
 * keep working after its answer; go past its CPU, memory, stack, size or
 * wall-clock limits (502/504 with a clear code and a security event, while
 * every other route keeps serving); fetch outside its allowlist, or to a name
 * that resolves to loopback (DNS rebinding) or the metadata address. And what
 * it can: fetch an allowed origin, keep values in its own kv namespace.
 *
 * Runs alone (test/all.test.ts EXCLUSIVE): endless loops, memory bombs and
 * a thread stuck until the watchdog ends it each take a core until stopped
 * (they run in the function's worker thread, not on the event loop: the
 * "holds its own thread" block checks that other routes are answered first).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { echo, startUpstream, type TestUpstream } from '../helpers/upstream.js';
import type { TelemetryEvent } from '../../src/telemetry/event.js';

/** This machine's first non-loopback IPv4 address: an origin a function may be allowed to reach (loopback never is). */
function outsideAddress(): string {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  throw new Error('this test needs a non-loopback IPv4 address');
}

const PROBE = `
let calls = 0;
export default async (request, env) => {
  const url = new URL(request.url);
  const what = url.pathname.split('/').pop();
  const probes = {
    process: () => typeof process,
    require: () => { try { require('node:fs'); return 'loaded'; } catch (e) { return 'refused: ' + e.message; } },
    module: () => typeof module,
    globals: () => Object.getOwnPropertyNames(globalThis).filter((k) => k.startsWith('__host')).join(','),
    constructor: () => String(globalThis.constructor.constructor('return typeof process')()),
    fnctor: () => String((() => {}).constructor('return typeof globalThis.process + "/" + typeof globalThis.require')()),
    eval: () => String(eval('typeof process + "/" + typeof Deno + "/" + typeof Bun')),
    dynamicImport: async () => { try { await import('node:fs'); return 'imported'; } catch (e) { return 'refused'; } },
    sab: () => typeof SharedArrayBuffer + '/' + typeof Atomics + '/' + typeof WebAssembly + '/' + typeof performance + '/' + typeof FinalizationRegistry + '/' + typeof WeakRef,
    pollute: () => [
      () => { Object.prototype.polluted = 'yes'; },
      () => { Array.prototype.push = () => 0; },
      () => { JSON.parse = () => 'owned'; },
      () => { globalThis.count = 1; },
      () => { Response.prototype.clone = () => 'owned'; },
    ].map((write) => { try { write(); return 'written'; } catch (e) { return e.name; } }).join(','),
    counter: () => { calls++; return String(calls) + '/' + String(({}).polluted) + '/' + typeof globalThis.count; },
    override: () => { const o = {}; o.toString = () => 'own'; const e = new Error(); e.message = 'set'; return String(o) + '/' + e.message; },
    secrets: () => Object.keys(env.secrets).join(',') + '=' + env.secrets.TOKEN,
  };
  return new Response(String(await probes[what]()));
};
`;

const LIMITS = `
export default async (request) => {
  const what = new URL(request.url).pathname.split('/').pop();
  if (what === 'loop') for (;;) {}
  if (what === 'memory') { const keep = []; for (;;) keep.push(new Float64Array(100000)); }
  if (what === 'caught') { try { const keep = []; for (;;) keep.push(new Float64Array(100000)); } catch (e) { return new Response('caught: ' + e.message); } }
  if (what === 'recursion') { const f = (n) => f(n + 1) + 1; return new Response(String(f(0))); }
  if (what === 'huge') return new Response('x'.repeat(2 * 1024 * 1024));
  if (what === 'throw') throw new Error('boom');
  if (what === 'bad') return 'not a response';
  if (what === 'microtasks') { (async () => { for (;;) await null; })(); return new Response('early'); }
  return new Response('fine');
};
`;

const LATE = `
export default async (request, env) => {
  const what = new URL(request.url).pathname.split('/').pop();
  if (what === 'start') {
    // Work that would go on after the answer: it dies with the sandbox.
    Promise.resolve().then(async () => { await env.kv.get('nothing'); await env.kv.set('late', 'written'); });
    return new Response('answered');
  }
  if (what === 'set') { await env.kv.set('k', 'v1'); return new Response('set'); }
  return new Response(String(await env.kv.get(what)));
};
`;

const FETCHER = `
export default async (request) => {
  const target = new URL(request.url).searchParams.get('to');
  try {
    const res = await fetch(target, { headers: { 'x-from': 'function' } });
    return new Response('got ' + res.status + ' ' + (await res.text()).slice(0, 40));
  } catch (e) {
    return new Response('refused: ' + e.message, { status: 599 - 99 });
  }
};
`;

describe('functions: the sandbox', () => {
  let upstream: TestUpstream;
  let outside: Server;
  let silent: Server;
  let gw: TestGateway;
  let host: string;
  const events: TelemetryEvent[] = [];

  before(async () => {
    upstream = await startUpstream(echo);
    host = outsideAddress();
    outside = createServer((req, res) => res.end(`hello ${String(req.headers['x-from'] ?? '')}`));
    await new Promise<void>((r) => outside.listen(0, '0.0.0.0', r));
    silent = createServer(() => {}); // never answers
    await new Promise<void>((r) => silent.listen(0, '0.0.0.0', r));
    const outsidePort = (outside.address() as AddressInfo).port;
    const silentPort = (silent.address() as AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-fn-'));
    writeFileSync(join(dir, 'probe.js'), PROBE);
    writeFileSync(join(dir, 'limits.js'), LIMITS);
    writeFileSync(join(dir, 'late.js'), LATE);
    writeFileSync(join(dir, 'fetcher.js'), FETCHER);
    gw = await startGateway(
      `
listeners: [{ name: main, address: "127.0.0.1:0" }]
functions:
  - { name: probe, file: probe.js, pool: 1, secrets: { TOKEN: "t0k3n" } }
  - { name: limits, file: limits.js, memory: 8MiB, cpu: 100ms, max_body: 1MiB, unhealthy_after: 1000 }
  - { name: fragile, file: limits.js, unhealthy_after: 2, cooldown: 1h }
  - { name: late, file: late.js }
  - name: fetcher
    file: fetcher.js
    timeout: 500ms
    fetch:
      allow: ["http://${host}:${outsidePort}", "http://${host}:${silentPort}", "http://localhost:${upstream.port}", "http://169.254.169.254"]
      allow_private: true
services:
  - { name: probe, type: function, function: probe }
  - { name: limits, type: function, function: limits }
  - { name: fragile, type: function, function: fragile }
  - { name: late, type: function, function: late }
  - { name: fetcher, type: function, function: fetcher }
  - { name: backend, targets: [{ url: "${upstream.url}" }] }
routes:
  - { name: probe, service: probe, public: true, match: { paths: [/probe] } }
  - { name: limits, service: limits, public: true, match: { paths: [/limits] } }
  - { name: fragile, service: fragile, public: true, match: { paths: [/fragile] } }
  - { name: late, service: late, public: true, match: { paths: [/late] } }
  - { name: fetcher, service: fetcher, public: true, match: { paths: [/fetch] } }
  - { name: backend, service: backend, public: true, match: { paths: [/backend] } }
`,
      { dir },
    );
    gw.gateway.telemetry.events.subscribe((e) => events.push(e));
  });
  after(async () => {
    await gw.close();
    await upstream.close();
    outside.close();
    silent.closeAllConnections();
    silent.close();
  });

  const text = async (path: string) => (await send(gw.url, path)).text;

  it('sees no process, require, module loader or host globals, however it asks', async () => {
    assert.equal(await text('/probe/process'), 'undefined');
    assert.equal(await text('/probe/require'), 'refused: functions cannot import modules (node:fs)');
    assert.equal(await text('/probe/globals'), '', 'the host bridge functions are removed before user code runs');
    assert.equal(await text('/probe/constructor'), 'undefined');
    assert.equal(await text('/probe/fnctor'), 'undefined/undefined');
    assert.equal(await text('/probe/eval'), 'undefined/undefined/undefined');
    assert.equal(await text('/probe/dynamicImport'), 'refused');
    assert.equal(await text('/probe/sab'), 'undefined/undefined/undefined/undefined/undefined/undefined');
  });

  it('cannot pollute the globals or prototypes its next calls (or the host) see; keeps no module state between calls', async () => {
    // The realm is frozen before user code runs (sandboxes are recycled between calls): every such write throws.
    assert.equal(await text('/probe/pollute'), 'TypeError,TypeError,TypeError,TypeError,TypeError');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(JSON.parse('1'), 1);
    // pool: 1 — each call after the first reuses the sandbox the previous one gave back.
    for (let i = 0; i < 5; i++) assert.equal(await text('/probe/counter'), '1/undefined/undefined', 'module state is the call\'s own');
    // Assigning a name an ancestor prototype holds still works on one's own objects.
    assert.equal(await text('/probe/override'), 'own/set');
  });

  it('gets its secrets by name', async () => {
    assert.equal(await text('/probe/secrets'), 'TOKEN=t0k3n');
  });

  it('answers 502 function_failed over each limit, with the reason in a security event, and other routes keep serving', async () => {
    for (const [what, reason] of [
      ['loop', 'cpu'],
      ['memory', 'memory'],
      ['recursion', 'stack'],
      ['huge', 'too_large'],
      ['throw', 'crash'],
      ['bad', 'crash'],
    ] as const) {
      const got = await send(gw.url, `/limits/${what}`);
      assert.equal(got.status, 502, `${what}: ${got.text}`);
      assert.equal((got.json() as { error: { code: string } }).error.code, 'function_failed', what);
      const event = await waitFor(events, (e) => e.type === 'function.failed' && e.request?.path === `/limits/${what}`);
      assert.equal(event.reason, reason, what);
      assert.equal(event.details?.function, 'limits');
      const fine = await send(gw.url, '/backend/still-here');
      assert.equal(fine.status, 200, `the proxy route after ${what}`);
    }
    assert.equal(await text('/limits/ok'), 'fine', 'the function itself serves again after its failures');
  });

  it('serves a request to another route sent while a function runs over its limit', async () => {
    // Sent together: the function runs in its own thread; both are answered (the ordering is checked in the block below).
    for (const what of ['loop', 'memory', 'recursion']) {
      const [bad, fine] = await Promise.all([send(gw.url, `/limits/${what}`), send(gw.url, `/backend/meanwhile-${what}`)]);
      assert.equal(bad.status, 502, what);
      assert.equal(fine.status, 200, `the proxy route while ${what} ran`);
    }
    assert.equal(await text('/limits/ok'), 'fine');
    // A bomb whose "out of memory" the function catches: it answers, and the next call is served (on a fresh engine: runtime.ts giveBack).
    assert.equal(await text('/limits/caught'), 'caught: out of memory');
    assert.equal(await text('/limits/ok'), 'fine');
  });

  it('a function failing N times in a row is marked unhealthy: 503 function_unavailable', async () => {
    assert.equal((await send(gw.url, '/fragile/throw')).status, 502);
    assert.equal((await send(gw.url, '/fragile/throw')).status, 502);
    const got = await send(gw.url, '/fragile/ok');
    assert.equal(got.status, 503);
    assert.equal((got.json() as { error: { code: string } }).error.code, 'function_unavailable');
  });

  it('work left running after the answer dies with the sandbox', async () => {
    // An endless chain of promises does not hold the answer back, and stops with the sandbox.
    assert.equal(await text('/limits/microtasks'), 'early');
    assert.equal(await text('/limits/ok'), 'fine');
    assert.equal(await text('/late/start'), 'answered');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await text('/late/late'), 'null');
  });

  it('keeps values in its kv namespace across calls', async () => {
    assert.equal(await text('/late/set'), 'set');
    assert.equal(await text('/late/k'), 'v1');
  });

  it('fetches an allowed origin', async () => {
    const port = (outside.address() as AddressInfo).port;
    assert.equal(await text(`/fetch?to=${encodeURIComponent(`http://${host}:${port}/x`)}`), 'got 200 hello function');
  });

  it('cannot fetch an origin outside its allowlist, a name resolving to loopback, or the metadata address', async () => {
    const notAllowed = await send(gw.url, `/fetch?to=${encodeURIComponent(`http://${host}:1/x`)}`);
    assert.equal(notAllowed.status, 500);
    assert.match(notAllowed.text, /refused: .*not in this function's fetch\.allow/);

    // localhost is on the allowlist, but it resolves to 127.0.0.1: refused after resolution (DNS rebinding).
    const rebound = await send(gw.url, `/fetch?to=${encodeURIComponent(`http://localhost:${upstream.port}/`)}`);
    assert.equal(rebound.status, 500);
    assert.match(rebound.text, /refused: .*localhost resolves to (127\.0\.0\.1|::1)/);
    assert.equal(upstream.seen.filter((s) => s.headers['x-from'] === 'function').length, 0, 'nothing reached the loopback server');

    const metadata = await send(gw.url, `/fetch?to=${encodeURIComponent('http://169.254.169.254/latest/meta-data/')}`);
    assert.equal(metadata.status, 500);
    assert.match(metadata.text, /refused: .*169\.254\.169\.254 is an address functions may not reach/);

    const event = await waitFor(events, (e) => e.type === 'function.fetch_refused' && e.reason === 'address_refused');
    assert.equal(event.details?.function, 'fetcher');
  });

  it('a call past its wall-clock limit answers 504 function_timeout', async () => {
    const port = (silent.address() as AddressInfo).port;
    const got = await send(gw.url, `/fetch?to=${encodeURIComponent(`http://${host}:${port}/`)}`);
    assert.equal(got.status, 504);
    assert.equal((got.json() as { error: { code: string } }).error.code, 'function_timeout');
  });
});

describe('functions: reload under load', () => {
  it('swaps the function code while requests flow, and none fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-fn-'));
    writeFileSync(join(dir, 'v1.js'), `export default () => new Response('v1')`);
    writeFileSync(join(dir, 'v2.js'), `export default () => new Response('v2')`);
    const config = (file: string) => `
listeners: [{ name: main, address: "127.0.0.1:0" }]
functions: [{ name: f, file: ${file} }]
services: [{ name: f, type: function, function: f }]
routes: [{ name: f, service: f, public: true }]
`;
    const gw = await startGateway(config('v1.js'), { dir });
    const pool = new Pool(gw.url, { connections: 32 });
    try {
      const bodies: string[] = [];
      const statuses: number[] = [];
      let stop = false;
      const workers = Array.from({ length: 32 }, async () => {
        while (!stop) {
          const res = await pool.request({ path: '/', method: 'GET' });
          statuses.push(res.statusCode);
          bodies.push(await res.body.text());
        }
      });
      // Each reload waits for traffic to have flowed, not for a time: a loaded machine serves fewer requests a second.
      const flowed = async (n: number) => {
        const target = statuses.length + n;
        while (statuses.length < target) await new Promise((r) => setTimeout(r, 10));
      };
      await flowed(100);
      assert.equal((await gw.reload(config('v2.js'))).ok, true);
      await flowed(100);
      assert.equal((await gw.reload(config('v1.js'))).ok, true);
      await flowed(100);
      stop = true;
      await Promise.all(workers);
      assert.deepEqual(statuses.filter((s) => s !== 200), [], bodies.filter((b) => !/^v[12]$/.test(b)).join('\n'));
      assert.ok(bodies.includes('v2'), 'the new code served');
      assert.equal(bodies.at(-1), 'v1');
    } finally {
      await pool.close();
      await gw.close();
    }
  });
});

const GATE = `
export default async (request) => {
  const url = new URL(request.url);
  const what = url.pathname.split('/').pop();
  if (what === 'ok') return new Response('fine');
  // Tells the test the call is running; what follows runs in the function's thread.
  await fetch(url.searchParams.get('signal') + '/started/' + what);
  if (what === 'loop') for (;;) {}
  if (what === 'memory') { const keep = []; for (;;) { keep.push(new Float64Array(100000)); for (let i = 0; i < 200000; i++); } }
  // One long native call after another: QuickJS polls its interrupt handler every ~10,000 operations, not by time,
  // so the CPU limit cannot stop this in time; the watchdog terminates the thread.
  if (what === 'stuck') { const s = 'x'.repeat(1 << 20); for (;;) s.indexOf('y'); }
  return new Response('unknown');
};
`;

describe('functions: a call over its limit holds its own thread, not the gateway', () => {
  let upstream: TestUpstream;
  let signals: Server;
  let signalUrl: string;
  let gw: TestGateway;
  const events: TelemetryEvent[] = [];
  const waiting = new Map<string, () => void>();

  before(async () => {
    upstream = await startUpstream(echo);
    const host = outsideAddress();
    signals = createServer((req, res) => {
      const what = (req.url ?? '').split('/').pop() ?? '';
      res.end('go');
      waiting.get(what)?.();
    });
    await new Promise<void>((r) => signals.listen(0, '0.0.0.0', r));
    signalUrl = `http://${host}:${(signals.address() as AddressInfo).port}`;
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-fn-'));
    writeFileSync(join(dir, 'gate.js'), GATE);
    // A response-head hook that never returns: the head waits for it in the function's thread, not on the event loop.
    writeFileSync(join(dir, 'head.js'), `export default (response) => { if (response.status === 200) for (;;) {} return new Response(null, { status: response.status, headers: { 'x-hooked': '1' } }); }`);
    const fetch = `fetch: { allow: ["${signalUrl}"], allow_private: true }`;
    gw = await startGateway(
      `
listeners: [{ name: main, address: "127.0.0.1:0" }]
functions:
  - { name: spin, file: gate.js, cpu: 100ms, unhealthy_after: 1000, ${fetch} }
  - { name: bomb, file: gate.js, cpu: 20s, memory: 64MiB, timeout: 60s, unhealthy_after: 1000, ${fetch} }
  - { name: stuck, file: gate.js, timeout: 1s, unhealthy_after: 1000, ${fetch} }
  - { name: head, file: head.js, unhealthy_after: 1000 }
services:
  - { name: spin, type: function, function: spin }
  - { name: bomb, type: function, function: bomb }
  - { name: stuck, type: function, function: stuck }
  - { name: backend, targets: [{ url: "${upstream.url}" }] }
  - { name: down, targets: [{ url: "http://127.0.0.1:1" }] }
routes:
  - { name: spin, service: spin, public: true, match: { paths: [/spin] } }
  - { name: bomb, service: bomb, public: true, match: { paths: [/bomb] } }
  - { name: stuck, service: stuck, public: true, match: { paths: [/stuck] } }
  - { name: backend, service: backend, public: true, match: { paths: [/backend] } }
  - name: hooked
    service: backend
    public: true
    match: { paths: [/hooked] }
    policies: [{ function: { name: head, on: response } }]
  - name: hooked-down
    service: down
    public: true
    match: { paths: [/hooked-down] }
    policies: [{ function: { name: head, on: response } }]
`,
      { dir },
    );
    gw.gateway.telemetry.events.subscribe((e) => events.push(e));
  });
  after(async () => {
    await gw.close();
    await upstream.close();
    signals.closeAllConnections();
    signals.close();
  });

  for (const [fn, what, status, reason] of [
    ['spin', 'loop', 502, 'cpu'],
    ['bomb', 'memory', 502, 'memory'],
    ['stuck', 'stuck', 504, 'wall'],
  ] as const) {
    it(`answers another route while ${fn} runs ${what} in its thread, before its ${status}; the function serves again after`, async () => {
      const started = new Promise<void>((r) => waiting.set(what, r));
      let answered = false;
      const bad = send(gw.url, `/${fn}/${what}?signal=${encodeURIComponent(signalUrl)}`).then((r) => {
        answered = true;
        return r;
      });
      await started;
      // The bad call is running now (it fetched the signal); the event loop is free to serve another route.
      for (let i = 0; i < 2; i++) assert.equal((await send(gw.url, `/backend/meanwhile-${what}-${i}`)).status, 200);
      assert.equal(answered, false, `the other route was answered before ${fn}'s ${status}`);
      const got = await bad;
      assert.equal(got.status, status, got.text);
      assert.equal((got.json() as { error: { code: string } }).error.code, status === 504 ? 'function_timeout' : 'function_failed');
      const event = await waitFor(events, (e) => e.type === 'function.failed' && e.request?.path === `/${fn}/${what}`);
      assert.equal(event.reason, reason);
      if (what === 'stuck') {
        // The watchdog's word, in the gateway log: the thread did not stop the call, so it was terminated (and is replaced).
        const line = await gw.waitForLog((l) => l.function === 'stuck' && /function thread terminated/.test(l.msg), 20_000);
        assert.equal(line.grace_ms, 1000);
      }
      assert.equal((await send(gw.url, '/backend/after')).status, 200, 'the gateway keeps serving');
      assert.equal((await send(gw.url, `/${fn}/ok`)).text, 'fine', `${fn} works again (its thread replaced when it was stuck)`);
    });
  }

  it('a response-head hook over its CPU limit: the head goes out as it was, with the event; the hook still shapes other heads', async () => {
    const got = await send(gw.url, '/hooked/a');
    assert.equal(got.status, 200);
    assert.equal(got.headers['x-hooked'], undefined, 'the head the upstream gave');
    assert.equal((got.json() as { url: string }).url, '/hooked/a', "the upstream's body follows the held head");
    const event = await waitFor(events, (e) => e.type === 'function.failed' && e.request?.path === '/hooked/a');
    assert.equal(event.reason, 'cpu');
    // The gateway's own 502 (the target refuses connections): the hook answers at once and its header is on the head.
    const refused = await send(gw.url, '/hooked-down/a');
    assert.equal(refused.status, 502);
    assert.equal((refused.json() as { error: { code: string } }).error.code, 'bad_gateway');
    assert.equal(refused.headers['x-hooked'], '1');
  });
});

async function waitFor(events: TelemetryEvent[], match: (e: TelemetryEvent) => boolean): Promise<TelemetryEvent> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const found = events.find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`event not seen; seen: ${JSON.stringify(events.map((e) => [e.type, e.reason, e.request?.path]))}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

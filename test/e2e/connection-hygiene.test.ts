/**
 * Slow and greedy clients: a request head sent one byte at a time
 * (slowloris), a body trickled in (slow POST), too many connections from one
 * address, oversized request targets and header lists. Each is cut off or
 * refused with a clear status, and other clients are served meanwhile.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { rawExchange } from '../helpers/raw.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Trickle {
  /** What the server sent back. */
  text: string;
  /** Bytes the client managed to send before the server closed. */
  sent: number;
  closed: boolean;
  ms: number;
}

/** Sends `head` at once, then `tail` one byte every `everyMs`, until the server closes or `maxMs` passes. */
function trickle(port: number, head: string, tail: string, everyMs: number, maxMs: number): Promise<Trickle> {
  return new Promise((resolve) => {
    const start = performance.now();
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const done = (closed: boolean) => {
      clearTimeout(timer);
      clearTimeout(deadline);
      socket.destroy();
      resolve({ text, sent, closed, ms: performance.now() - start });
    };
    const deadline = setTimeout(() => done(false), maxMs);
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('close', () => done(true));
    socket.on('error', () => done(true));
    socket.write(head);
    const next = () => {
      if (sent >= tail.length || socket.destroyed) return;
      socket.write(tail[sent++]!);
      timer = setTimeout(next, everyMs);
    };
    timer = setTimeout(next, everyMs);
  });
}

describe('connection hygiene', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(`
gateway:
  limits:
    headers_timeout: 2s
    min_body_rate: 1000
    body_rate_window: 2s
    max_connections_per_ip: 4
    max_url_length: 200
    max_header_count: 20
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: api, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: api, service: api, public: true }]
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('cuts off a client sending its request head one byte a second (slowloris) with 408', async () => {
    const head = 'GET / HTTP/1.1\r\nHost: x\r\nX-Padding: ' + 'a'.repeat(60) + '\r\n\r\n';
    const [slow, meanwhile] = await Promise.all([trickle(gw.port, 'G', head.slice(1), 1000, 15_000), sleep(500).then(() => send(gw.url, '/'))]);
    assert.equal(meanwhile.status, 200, 'other clients are served meanwhile');
    assert.equal(slow.closed, true, 'the gateway closed the connection');
    assert.ok(slow.sent < head.length - 1, `cut off after ${slow.sent} of ${head.length} bytes`);
    assert.match(slow.text, /^HTTP\/1\.1 408 /);
  });

  it('cuts off a body trickled below min_body_rate (slow POST) with 408, and the upstream request is abandoned', async () => {
    const seen = upstream.seen.length;
    const head = 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n';
    const slow = await trickle(gw.port, head + 'x'.repeat(100), 'y'.repeat(200), 100, 15_000);
    assert.equal(slow.closed, true);
    assert.match(slow.text, /^HTTP\/1\.1 408 /);
    assert.match(slow.text, /"code":"request_timeout"/);
    assert.ok(slow.sent < 200, `cut off after ${slow.sent} body bytes`);
    await sleep(100);
    const reached = upstream.seen.slice(seen);
    assert.ok(reached.every((r) => r.bodyBytes < 100_000), 'the upstream never got the whole body');
    const line = await gw.waitForLog((l) => l.type === 'access' && l.path === '/upload');
    assert.deepEqual(line.events, ['blocked:request.slow_body']);
  });

  it('lets a body at a healthy rate through', async () => {
    const res = await send(gw.url, '/upload', { method: 'POST', body: Buffer.alloc(200_000, 0x61) });
    assert.equal(res.status, 200);
    assert.equal(res.json<{ bodyBytes: number }>().bodyBytes, 200_000);
  });

  it('refuses connections beyond max_connections_per_ip with 429, and accepts again once one closes', async () => {
    const open: Socket[] = [];
    for (let i = 0; i < 4; i++) {
      const s = connect(gw.port, '127.0.0.1');
      await new Promise((r) => s.once('connect', r));
      open.push(s);
    }
    await sleep(100);
    const refused = await rawExchange(gw.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 1000);
    assert.equal(refused.status, 429);
    assert.match(refused.text, /"code":"too_many_connections"/);
    assert.equal(refused.closed, true);
    open.pop()!.destroy();
    await sleep(100);
    const ok = await rawExchange(gw.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 1000);
    assert.equal(ok.status, 200);
    for (const s of open) s.destroy();
    assert.ok(gw.logs.some((l) => l.msg === 'refused connections: too many from one address'));
  });

  it('never serves a request sent on a connection refused for max_connections_per_ip', async () => {
    const open: Socket[] = [];
    for (let i = 0; i < 4; i++) {
      const s = connect(gw.port, '127.0.0.1');
      await new Promise((r) => s.once('connect', r));
      open.push(s);
    }
    await sleep(100);
    const before = upstream.seen.length;
    try {
      // A client keeping its side open after the 429 (half-open TCP) and sending requests anyway.
      const s = connect({ port: gw.port, host: '127.0.0.1', allowHalfOpen: true });
      s.on('error', () => {});
      let text = '';
      s.on('data', (d: Buffer) => (text += d.toString('latin1')));
      await new Promise((r) => s.once('connect', r));
      for (let i = 0; i < 5; i++) {
        await sleep(20);
        if (!s.destroyed) s.write(`GET /over-limit-${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
      }
      await sleep(300);
      s.destroy();
      assert.match(text, /^HTTP\/1\.1 429 /);
      assert.deepEqual(upstream.seen.slice(before).map((r) => r.url), [], 'the upstream saw none of them');
    } finally {
      for (const s of open) s.destroy();
      await sleep(100); // the gateway sees them close before the next test connects
    }
  });

  it('refuses an over-long request target with 414 and too many header fields with 431', async () => {
    const long = await rawExchange(gw.port, `GET /${'a'.repeat(250)} HTTP/1.1\r\nHost: x\r\n\r\n`, 1000);
    assert.equal(long.status, 414);
    // max_header_count is 20: Host and 19 more fields are served, one more is refused, and so are many more
    // (newer Node parsers refuse past server.maxHeadersCount themselves, as if the head were too large).
    const withFields = (n: number) => rawExchange(gw.port, `GET / HTTP/1.1\r\nHost: x\r\n${Array.from({ length: n - 1 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`, 1000);
    assert.equal((await withFields(20)).status, 200);
    for (const n of [21, 26, 500]) {
      const many = await withFields(n);
      assert.equal(many.status, 431, `${n} fields`);
      assert.match(many.text, /"code":"too_many_headers"/, `${n} fields`);
    }
    assert.equal((await send(gw.url, '/fine', { headers: { 'x-one': '1' } })).status, 200);
  });
});

/**
 * The HTTP/2 stream lifecycle (issue 10, item 3): a stream the client resets
 * before headers, during its request body or during the response, a
 * connection the client ends with GOAWAY, and a rapid-reset flood
 * (CVE-2023-44487). Each must leave no upstream request, no upstream pool
 * connection and no concurrency-limit slot behind, be logged as not
 * completed, and a connection that resets streams faster than it completes
 * them is closed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as h2c, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { startGateway, type LogLine, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { h2Request, h2Session, makePki, type Pki } from '../helpers/tls.js';
import { headersAndReset, rawH2 } from '../helpers/h2-frames.js';

/** concurrency-limit max on /limited, and the service's max_connections: a leaked slot or connection shows at once. */
const SLOTS = 3;

async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000; // a guard against a hang, not a measure: generous for a busy machine
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('HTTP/2 stream resets and the upstream', () => {
  let pki: Pki;
  let upstream: TestUpstream;
  let gw: TestGateway;
  let session: ClientHttp2Session;
  /** Upstream requests in progress, by URL. */
  const open = new Map<string, number>();
  /** Upstream requests that ended without their response sent whole (the gateway let go of them). */
  const abandoned: string[] = [];
  const upstreamSockets = new Set<Socket>();

  const arrivals = (url: string) => upstream.seen.filter((r) => r.url === url).length;
  const inProgress = () => [...open.values()].reduce((a, b) => a + b, 0);

  before(async () => {
    pki = await makePki();
    await pki.issue('server', { dns: ['localhost'], ips: ['127.0.0.1'] });
    upstream = await startUpstream(
      (req, res) => {
        const url = req.url ?? '';
        open.set(url, (open.get(url) ?? 0) + 1);
        res.once('close', () => {
          open.set(url, open.get(url)! - 1);
          if (!res.writableFinished) abandoned.push(url);
        });
        if (url.includes('/hang/')) return void req.resume(); // never answers
        if (url.includes('/stream/')) {
          // Answers at once, then streams its body for ever.
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          const timer = setInterval(() => res.write(Buffer.alloc(1024, 0x61)), 20);
          res.once('close', () => clearInterval(timer));
          return;
        }
        req.resume();
        req.once('end', () => res.end('ok'));
      },
      { readBody: false },
    );
    upstream.server.on('connection', (socket: Socket) => {
      upstreamSockets.add(socket);
      socket.once('close', () => upstreamSockets.delete(socket));
    });
    gw = await startGateway(
      `
listeners:
  - name: main
    address: "127.0.0.1:0"
    protocol: https
    tls: { certificates: [{ cert: server.crt, key: server.key }] }
services:
  - name: up
    targets: [{ url: "${upstream.url}" }]
    max_connections: ${SLOTS}
    timeouts: { response: 60s }
    retries: { attempts: 2, on: [connect-failure, timeout, 502, 503] }
routes:
  - name: limited
    service: up
    public: true
    match: { paths: [/limited] }
    policies: [{ concurrency-limit: { max: ${SLOTS}, by: route, queue: { size: 0 } } }]
  - { name: open, service: up, public: true, match: { paths: [/] } }
`,
      { dir: pki.dir },
    );
    session = await h2Session(gw.url, { ca: pki.caPem });
  });
  after(async () => {
    session.close();
    await gw.close();
    await upstream.close();
  });

  /** The access log line of the one request to this path. */
  const logged = (path: string): Promise<LogLine> => gw.waitForLog((l) => l.type === 'access' && l.path === path);

  /** Nothing left behind: no upstream request in progress, every slot and pool connection free for SLOTS requests at once. */
  async function nothingLeftBehind(label: string): Promise<void> {
    await until(`${label}: the upstream request ended`, () => inProgress() === 0);
    // The shared connection is closed by the gateway once idle past keep_alive_timeout, which a slow test
    // on a busy machine reaches: a new one then.
    if (session.closed || session.destroyed) session = await h2Session(gw.url, { ca: pki.caPem });
    const results = await Promise.all(Array.from({ length: SLOTS }, (_, i) => h2Request(session, { ':path': `/limited/after/${label}/${i}` })));
    assert.deepEqual(
      results.map((r) => r.status),
      results.map(() => 200),
      `${label}: ${SLOTS} requests at once find every concurrency slot and pool connection free`,
    );
    assert.ok(upstreamSockets.size <= SLOTS, `${label}: at most ${SLOTS} upstream connections (${upstreamSockets.size})`);
  }

  function opened(path: string, method = 'GET'): ClientHttp2Stream {
    const stream = session.request({ ':method': method, ':path': path }, { endStream: method === 'GET' });
    stream.on('error', () => {});
    stream.resume();
    return stream;
  }

  it('aborts the upstream request of a stream reset before the response headers, and logs it as not completed', async () => {
    const path = '/limited/hang/before-headers';
    const stream = opened(path);
    await until('the request reached the upstream', () => arrivals(path) === 1);
    stream.close(h2c.NGHTTP2_CANCEL); // RST_STREAM(CANCEL)
    await until('the upstream request was abandoned', () => abandoned.includes(path));
    const line = await logged(path);
    assert.equal(line.completed, false);
    assert.equal(line.bytes_sent, 0);
    await nothingLeftBehind('before-headers');
    assert.equal(arrivals(path), 1, 'the reset request was never retried');
  });

  it('aborts the upstream request of a stream reset during its request body', async () => {
    const path = '/limited/hang/during-body';
    const stream = opened(path, 'POST');
    stream.write('the first part of a body');
    await until('the request reached the upstream', () => arrivals(path) === 1);
    stream.close(h2c.NGHTTP2_CANCEL);
    await until('the upstream request was abandoned', () => abandoned.includes(path));
    assert.equal((await logged(path)).completed, false);
    await nothingLeftBehind('during-body');
  });

  it('aborts the upstream response of a stream reset while the response streams', async () => {
    const path = '/limited/stream/during-response';
    const stream = opened(path);
    let received = 0;
    stream.on('data', (c: Buffer) => (received += c.length));
    await new Promise((r) => stream.once('response', r));
    await until('some of the body arrived', () => received > 0);
    stream.close(h2c.NGHTTP2_CANCEL);
    await until('the upstream response was abandoned', () => abandoned.includes(path));
    const line = await logged(path);
    assert.equal(line.status, 200);
    assert.equal(line.completed, false);
    await nothingLeftBehind('during-response');
  });

  it('aborts the upstream requests of a connection the client ends with GOAWAY', async () => {
    const own = await h2Session(gw.url, { ca: pki.caPem });
    const paths = ['/limited/hang/goaway-1', '/limited/hang/goaway-2'];
    for (const path of paths) own.request({ ':path': path }).on('error', () => {});
    await until('both requests reached the upstream', () => paths.every((p) => arrivals(p) === 1));
    own.goaway(h2c.NGHTTP2_CANCEL);
    own.destroy();
    await until('both upstream requests were abandoned', () => paths.every((p) => abandoned.includes(p)));
    for (const path of paths) assert.equal((await logged(path)).completed, false, path);
    await nothingLeftBehind('goaway');
  });

  it('closes a connection that floods HEADERS + RST_STREAM (rapid reset), aborting every upstream request it started', async () => {
    // Frames written by hand: Node's client drops a stream closed in the tick it was opened, so through
    // it only part of a flood reached the gateway, and on a busy machine too little of it to be cut.
    const raw = await rawH2(gw.url, pki.caPem);
    const FLOOD = 300;
    let sent = 0;
    for (let id = 1; sent < FLOOD && raw.usable(); id += 2, sent++) {
      raw.socket.write(headersAndReset(id, `/hang/flood/${sent}`));
      if (sent % 20 === 19) await new Promise((r) => setImmediate(r)); // let frames flow both ways
    }
    await raw.ended; // the GOAWAY (or the close after it); the test's own timeout guards a gateway that never cuts
    const closed = new Promise<void>((r) => (raw.socket.destroyed ? r() : raw.socket.once('close', () => r())));
    assert.equal(raw.goaway(), h2c.NGHTTP2_ENHANCE_YOUR_CALM, `the gateway sent GOAWAY ENHANCE_YOUR_CALM (after ${sent} resets)`);
    await closed; // the gateway destroys the session once the GOAWAY is written
    const cut = await gw.waitForLog((l) => l.event === 'http2.rapid_reset');
    assert.equal(cut.limit, 100, 'the default gateway.limits.http2_max_resets');
    await nothingLeftBehind('flood');
    const lines = gw.accessLogs().filter((l) => String(l.path).startsWith('/hang/flood/'));
    // The frames already in flight when the GOAWAY went out are at most one window of concurrent streams (128).
    assert.ok(lines.length <= sent && lines.length <= 101 + 128, `the gateway stopped taking streams after the limit (${lines.length} of ${sent})`);
    assert.ok(lines.every((l) => l.completed === false), 'every flooded stream is logged as not completed');
  });

  it('lets a client that completes its streams reset some of them without being cut off', async () => {
    const own = await h2Session(gw.url, { ca: pki.caPem });
    let goaway = false;
    own.once('goaway', () => (goaway = true));
    for (let i = 0; i < 150; i++) {
      const path = `/hang/mixed/${i}`;
      const reset = own.request({ ':path': path });
      reset.on('error', () => {});
      // A real reset of a stream with upstream work: sent once the request is at the upstream.
      await until(`${path} reached the upstream`, () => arrivals(path) === 1);
      reset.close(h2c.NGHTTP2_CANCEL);
      assert.equal((await h2Request(own, { ':path': `/mixed/ok/${i}` })).status, 200);
    }
    assert.equal(goaway, false, 'as many completed streams as resets: the connection stays');
    assert.equal(own.destroyed, false, 'the connection stays');
    own.close();
    await until('the reset requests ended upstream', () => inProgress() === 0);
    await nothingLeftBehind('mixed');
  });
});

describe('a reset request waiting for an upstream connection', () => {
  let pki: Pki;
  let upstream: TestUpstream;
  let gw: TestGateway;
  let session: ClientHttp2Session;

  before(async () => {
    pki = await makePki();
    await pki.issue('server', { dns: ['localhost'], ips: ['127.0.0.1'] });
    upstream = await startUpstream((req, res) => {
      if ((req.url ?? '').includes('/hang/')) return void req.resume();
      req.resume();
      req.once('end', () => res.end('ok'));
    }, { readBody: false });
    // One upstream connection: a second request waits in the pool for it.
    gw = await startGateway(
      `
listeners:
  - name: main
    address: "127.0.0.1:0"
    protocol: https
    tls: { certificates: [{ cert: server.crt, key: server.key }] }
services: [{ name: up, targets: [{ url: "${upstream.url}" }], max_connections: 1 }]
routes:
  - name: limited
    service: up
    public: true
    match: { paths: [/limited] }
    policies: [{ concurrency-limit: { max: 1, by: route, queue: { size: 0 } } }]
  - { name: open, service: up, public: true, match: { paths: [/] } }
`,
      { dir: pki.dir },
    );
    session = await h2Session(gw.url, { ca: pki.caPem });
  });
  after(async () => {
    session.close();
    await gw.close();
    await upstream.close();
  });

  /** The status of one request, or 0 when none came in time (the test's guard against a hang, not a measure). */
  async function statusOf(path: string): Promise<number> {
    const stream = session.request({ ':path': path });
    stream.on('error', () => {});
    stream.resume();
    return new Promise((resolve) => {
      const guard = setTimeout(() => {
        stream.close(h2c.NGHTTP2_CANCEL);
        resolve(0);
      }, 5000);
      stream.once('response', (h) => {
        clearTimeout(guard);
        resolve(Number(h[':status']));
      });
    });
  }

  it('keeps its concurrency slot until the upstream pool lets go of it, and is never sent', async () => {
    const holder = session.request({ ':path': '/hang/holder' });
    holder.on('error', () => {});
    await until('the holder has the one upstream connection', () => upstream.seen.some((r) => r.url === '/hang/holder'));
    const waiting = session.request({ ':path': '/limited/hang/waiting' });
    waiting.on('error', () => {});
    assert.equal(await statusOf('/limited/ok/1'), 503, 'the waiting request holds the slot');
    waiting.close(h2c.NGHTTP2_CANCEL);
    // A round trip the gateway answers itself (400, no upstream): the reset before it has been taken in.
    assert.equal(await statusOf('/a/../../escape'), 400);
    assert.equal(await statusOf('/limited/ok/2'), 503, 'reset, but still waiting in the pool: the slot is still held');
    holder.close(h2c.NGHTTP2_CANCEL); // frees the connection: the waiting request is handed it, and let go
    await gw.waitForLog((l) => l.type === 'access' && l.path === '/limited/hang/waiting');
    assert.equal(await statusOf('/limited/ok/3'), 200, 'the slot is free once the pool let go');
    assert.equal(upstream.seen.filter((r) => r.url === '/limited/hang/waiting').length, 0, 'the abandoned request was never sent upstream');
  });
});

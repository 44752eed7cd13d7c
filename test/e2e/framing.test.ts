/**
 * Request smuggling: each ambiguous framing is refused with 400 and the
 * connection closed, and the upstream never sees a request from it. Raw
 * sockets, because no HTTP client library will send these.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { countResponses, rawExchange } from '../helpers/raw.js';

describe('request framing', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: open, service: echo, public: true, match: { paths: [/] } }
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  const attacks: Record<string, string> = {
    'Content-Length with Transfer-Encoding (CL.TE)':
      'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG',
    'Transfer-Encoding with Content-Length (TE.CL)':
      'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n',
    'duplicate Content-Length, same value': 'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd',
    'duplicate Content-Length, different values': 'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde',
    'Content-Length as a list': 'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4, 4\r\n\r\nabcd',
    'Transfer-Encoding: gzip, chunked': 'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
    'Transfer-Encoding: identity': 'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n',
    'Transfer-Encoding: xchunked': 'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n',
    'Transfer-Encoding twice': 'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'Transfer-Encoding with a space before the colon': 'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n',
    'duplicate Host': 'GET /a HTTP/1.1\r\nHost: x\r\nHost: admin.internal\r\n\r\n',
    'absolute-form target naming another host': 'GET http://admin.internal/a HTTP/1.1\r\nHost: x\r\n\r\n',
    'HTTP/1.1 without Host': 'GET /a HTTP/1.1\r\n\r\n',
    'obsolete line folding': 'GET /a HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n',
    'bare LF line endings': 'GET /a HTTP/1.1\nHost: x\n\n',
    'NUL in the request target': 'GET /a\x00b HTTP/1.1\r\nHost: x\r\n\r\n',
    'asterisk-form target': 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n',
    'an HTTP/2.0 request line on an HTTP/1 connection': 'GET /a HTTP/2.0\r\nHost: x\r\n\r\n',
    'an HTTP/2.0 request line hiding a duplicate Host': 'GET /a HTTP/2.0\r\nHost: x\r\nHost: admin.internal\r\n\r\n',
    'an HTTP/1.2 request line': 'GET /a HTTP/1.2\r\nHost: x\r\n\r\n',
    'an HTTP/0.9 request': 'GET /a\r\n\r\n',
    'a Host with userinfo ("public:x@admin")': 'GET /a HTTP/1.1\r\nHost: public.example.com:x@admin.example.com\r\n\r\n',
    'a Host with a space': 'GET /a HTTP/1.1\r\nHost: admin.example.com evil\r\n\r\n',
    'a Host with a path': 'GET /a HTTP/1.1\r\nHost: admin.example.com/x\r\n\r\n',
    'a Host with two ports': 'GET /a HTTP/1.1\r\nHost: admin.example.com:80:81\r\n\r\n',
  };

  for (const [name, payload] of Object.entries(attacks)) {
    it(`refuses ${name} with 400 and closes`, async () => {
      const before = upstream.seen.length;
      const reply = await rawExchange(gw.port, payload + 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal(reply.status, 400, reply.text);
      assert.equal(countResponses(reply.text), 1, 'exactly one response, nothing smuggled after it');
      assert.ok(reply.closed, 'connection closed');
      await new Promise((r) => setTimeout(r, 50)); // an upstream request sent just before the close would land now
      assert.equal(upstream.seen.length, before, 'upstream saw nothing');
    });
  }

  it('refuses Transfer-Encoding in an HTTP/1.0 request (1.0 has no chunked coding: a 1.0 proxy in front reads it otherwise)', async () => {
    const before = upstream.seen.length;
    const reply = await rawExchange(gw.port, 'POST /a HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
    assert.equal(reply.status, 400, reply.text);
    assert.match(reply.text, /"code":"ambiguous_framing"/);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(upstream.seen.length, before, 'upstream saw nothing');
  });

  it('answers CONNECT with 405 and closes', async () => {
    const reply = await rawExchange(gw.port, 'CONNECT internal:443 HTTP/1.1\r\nHost: internal:443\r\n\r\n');
    assert.equal(reply.status, 405);
    assert.ok(reply.closed);
  });

  it('accepts an absolute-form target that names the Host it carries', async () => {
    const reply = await rawExchange(gw.port, 'GET http://x/abs?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(reply.status, 200);
    assert.equal(upstream.seen.at(-1)!.url, '/abs?q=1');
  });

  it('never forwards Upgrade: h2c, serves the request as HTTP/1.1 and closes', async () => {
    const reply = await rawExchange(
      gw.port,
      'GET /h2c HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n',
    );
    assert.equal(reply.status, 200);
    assert.ok(reply.closed);
    const seen = upstream.seen.at(-1)!;
    assert.equal(seen.url, '/h2c');
    assert.equal(seen.headers.upgrade, undefined);
    assert.equal(seen.headers['http2-settings'], undefined);
    assert.notEqual(seen.headers.connection?.toLowerCase(), 'upgrade');
  });

  it('sends exactly one upstream request per client request on a pipelined connection', async () => {
    const before = upstream.seen.length;
    const reply = await rawExchange(
      gw.port,
      'POST /p1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' + 'GET /p2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      1000,
    );
    assert.equal(countResponses(reply.text), 2);
    const urls = upstream.seen.slice(before).map((s) => s.url);
    assert.deepEqual(urls, ['/p1', '/p2']);
    assert.equal(upstream.seen.at(-2)!.body, 'hello');
  });

  it('re-serializes a chunked body cleanly, whatever the client chunking', async () => {
    const reply = await rawExchange(
      gw.port,
      'POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer-X: 1\r\n\r\n',
    );
    assert.equal(reply.status, 200);
    const seen = upstream.seen.at(-1)!;
    assert.equal(seen.body, 'abcde');
  });

  it('keeps the connection usable after a normal request', async () => {
    const reply = await rawExchange(gw.port, 'GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 1000);
    assert.equal(countResponses(reply.text), 2);
  });
});

describe('the Host a route is chosen by', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: admin, service: echo, match: { hosts: [admin.example.com] }, policies: [{ key-auth: {} }] }
  - { name: open, service: echo, public: true, match: { paths: [/] } }
consumers:
  - { name: ops, credentials: { key-auth: [{ key: ops-key }] } }
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  for (const host of ['admin.example.com', 'ADMIN.example.com', 'admin.example.com:8080', 'admin.example.com.', 'admin.example.com.:443']) {
    it(`takes ${host} as the protected host admin.example.com`, async () => {
      const before = upstream.seen.length;
      const reply = await rawExchange(gw.port, `GET /a HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      assert.equal(reply.status, 401, reply.text);
      assert.equal(upstream.seen.length, before);
    });
  }
});

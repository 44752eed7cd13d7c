/**
 * HTTP/2 clients (node:http2) on an https listener: the same routing,
 * policies and logging as HTTP/1.1, large bodies both ways under flow
 * control, many concurrent streams, nothing HTTP/2-only leaking upstream or
 * HTTP/1-only leaking back, and a bad stream never harming the connection.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as h2constants, type ClientHttp2Session } from 'node:http2';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { echo, startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { h2Request, h2Session, makePki, type Pki } from '../helpers/tls.js';

const MiB = 1024 * 1024;
/** Whether this Node's nghttp2 refuses '@' in :authority itself (it does from 1.64.0 on). */
const nghttp2RefusesUserinfo = (() => {
  const [major = 0, minor = 0] = (process.versions.nghttp2 ?? '0').split('.').map(Number);
  return major > 1 || (major === 1 && minor >= 64);
})();

describe('HTTP/2 on an https listener', () => {
  let pki: Pki;
  let upstream: TestUpstream;
  let gw: TestGateway;
  let session: ClientHttp2Session;
  /** Requests under /reset/ whose body the upstream received to its end. */
  const completedResets: string[] = [];

  before(async () => {
    pki = await makePki();
    await pki.issue('server', { dns: ['localhost', 'api.example.com'], ips: ['127.0.0.1'] });
    upstream = await startUpstream((req, res, seen) => {
      if (req.url?.startsWith('/reset/')) completedResets.push(req.url);
      if (req.url?.startsWith('/download/')) {
        const size = Number(req.url.split('/')[2]);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        let sent = 0;
        const pump = () => {
          while (sent < size) {
            const n = Math.min(chunk.length, size - sent);
            sent += n;
            if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
        return;
      }
      if (req.url === '/hop-by-hop') {
        // HTTP/1.1 connection-specific fields: HTTP/2 forbids them; the gateway must not pass them on.
        res.writeHead(200, { connection: 'keep-alive, x-private', 'keep-alive': 'timeout=5', 'x-private': 'hop', 'content-type': 'text/plain' });
        res.end('ok');
        return;
      }
      if (req.url === '/slow') {
        setTimeout(() => echo(req, res, seen), 300);
        return;
      }
      echo(req, res, seen);
    });
    gw = await startGateway(
      `
listeners:
  - name: main
    address: "127.0.0.1:0"
    protocol: https
    tls: { certificates: [{ cert: server.crt, key: server.key }] }
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: api-host, service: echo, match: { hosts: [api.example.com], paths: [/] }, policies: [{ key-auth: {} }] }
  - name: guarded
    service: echo
    public: true
    match: { paths: [/guarded] }
    policies:
      - waf: {}
      - request-validation: { body: { schema: { type: object, required: [name], properties: { name: { type: string, maxLength: 40 } } } } }
  - { name: open, service: echo, public: true, match: { paths: [/] } }
consumers:
  - { name: alice, credentials: { key-auth: [{ key: alice-key }] } }
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

  it('inspects request bodies that announce no length (DATA frames without Content-Length)', async () => {
    const post = (body: string, withLength: boolean) =>
      h2Request(session, { ':method': 'POST', ':path': '/guarded', 'content-type': 'application/json', ...(withLength ? { 'content-length': String(Buffer.byteLength(body)) } : {}) }, body);
    const attack = JSON.stringify({ name: "x' UNION SELECT password FROM users --" });
    const before = upstream.seen.length;
    for (const withLength of [true, false]) assert.equal((await post(attack, withLength)).status, 403, `waf, content-length ${withLength}`);
    for (const withLength of [true, false]) assert.equal((await post('{"nome":"typo"}', withLength)).status, 400, `json schema, content-length ${withLength}`);
    assert.equal(upstream.seen.length, before, 'nothing reached the upstream');
    const ok = await post('{"name":"blue running shoes"}', false);
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.text).body, '{"name":"blue running shoes"}');
  });

  it('routes by :authority and runs the route\'s policies, as for HTTP/1.1', async () => {
    const open = await h2Request(session, { ':path': '/hello?x=1' });
    assert.equal(open.status, 200);
    assert.equal(JSON.parse(open.text).url, '/hello?x=1');
    const refused = await h2Request(session, { ':path': '/hello', ':authority': 'api.example.com' });
    assert.equal(refused.status, 401);
    assert.equal(JSON.parse(refused.text).error.code, 'unauthorized');
    assert.equal(refused.headers['www-authenticate'], 'Key realm="portcullis"');
    const trailingDot = await h2Request(session, { ':path': '/hello', ':authority': 'api.example.com.' });
    assert.equal(trailingDot.status, 401, 'the same host with the DNS root dot');
    // An authority with userinfo (RFC 9113 8.3.1 forbids it). nghttp2 1.64 and later (Node 22 and 24) reset such a
    // stream with PROTOCOL_ERROR before the gateway sees it; older ones (Node 20) pass it on and the gateway answers 400.
    const userinfo = h2Request(session, { ':path': '/hello', ':authority': 'localhost:1@api.example.com' });
    if (nghttp2RefusesUserinfo) await assert.rejects(userinfo, { code: 'ERR_HTTP2_STREAM_ERROR', message: /NGHTTP2_PROTOCOL_ERROR/ }, 'an authority with userinfo');
    else assert.equal((await userinfo).status, 400, 'an authority with userinfo');
    const allowed = await h2Request(session, { ':path': '/hello', ':authority': 'api.example.com', 'x-api-key': 'alice-key' });
    assert.equal(allowed.status, 200);
    assert.equal(JSON.parse(allowed.text).headers['x-consumer-name'], 'alice');
    const logged = await gw.waitForLog((l) => l.type === 'access' && l.route === 'api-host' && l.consumer === 'alice');
    assert.equal(logged.host, 'api.example.com');
    assert.equal(logged.status, 200);
  });

  it('sends the upstream no pseudo-headers, the target\'s Host, and the authority in X-Forwarded-Host', async () => {
    const res = await h2Request(session, { ':path': '/headers', 'x-custom': 'kept', te: 'trailers' });
    const seen = JSON.parse(res.text) as { headers: Record<string, string> };
    assert.ok(!Object.keys(seen.headers).some((h) => h.startsWith(':')), Object.keys(seen.headers).join(','));
    assert.equal(seen.headers.host, `127.0.0.1:${upstream.port}`);
    assert.equal(seen.headers['x-forwarded-host'], `localhost:${gw.port}`);
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    assert.equal(seen.headers['x-custom'], 'kept');
  });

  it('streams a large request body up and a large response down, under flow control', async () => {
    const body = Buffer.alloc(8 * MiB, 0x62);
    const up = await h2Request(session, { ':method': 'POST', ':path': '/upload', 'content-type': 'application/octet-stream' }, body);
    assert.equal(up.status, 200);
    assert.equal(JSON.parse(up.text).bodyBytes, body.length);
    const noLength = await h2Request(session, { ':method': 'PUT', ':path': '/upload-unknown-length' }, Buffer.alloc(3 * MiB, 0x63));
    assert.equal(JSON.parse(noLength.text).bodyBytes, 3 * MiB, 'a body without Content-Length is forwarded whole');
    const down = await h2Request(session, { ':path': `/download/${16 * MiB}` });
    assert.equal(down.status, 200);
    assert.equal(down.body.length, 16 * MiB);
  });

  it('serves many concurrent streams on one connection', async () => {
    const results = await Promise.all(Array.from({ length: 64 }, (_, i) => h2Request(session, { ':path': `/concurrent/${i}` })));
    assert.deepEqual(
      results.map((r) => r.status),
      results.map(() => 200),
    );
    assert.deepEqual(
      results.map((r) => (JSON.parse(r.text) as { url: string }).url),
      results.map((_, i) => `/concurrent/${i}`),
    );
  });

  it('never passes HTTP/1.1 connection headers back to an HTTP/2 client', async () => {
    const res = await h2Request(session, { ':path': '/hop-by-hop' });
    assert.equal(res.status, 200);
    assert.equal(res.text, 'ok');
    for (const name of ['connection', 'keep-alive', 'x-private']) assert.equal(res.headers[name], undefined, name);
  });

  it('answers a Host that contradicts :authority with 400, and the connection serves on', async () => {
    const seen = upstream.seen.length;
    const res = await h2Request(session, { ':path': '/x', ':authority': 'localhost', host: 'admin.internal' });
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.text).error.code, 'ambiguous_framing');
    assert.equal(res.headers.connection, undefined);
    assert.equal(upstream.seen.length, seen);
    assert.equal((await h2Request(session, { ':path': '/after' })).status, 200, 'other streams are unaffected');
  });

  it('refuses a path that escapes the root with 400 and serves on', async () => {
    const res = await h2Request(session, { ':path': '/a/../../etc/passwd' });
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.text).error.code, 'invalid_path');
    assert.equal((await h2Request(session, { ':path': '/still' })).status, 200);
  });

  it('refuses a :path carrying a fragment or a path parameter, which the upstream would cut off', async () => {
    for (const path of ['/hello#x', '/hello;x']) {
      const res = await h2Request(session, { ':path': path });
      assert.equal(res.status, 400, path);
      assert.equal(JSON.parse(res.text).error.code, 'invalid_path');
    }
  });

  it('never hands the upstream a body cut off half-way (stream reset, connection lost) as if it were whole', async () => {
    const own = await h2Session(gw.url, { ca: pki.caPem });
    for (const how of ['reset', 'lost']) {
      const path = `/reset/${how}`;
      const client = how === 'lost' ? own : session;
      const stream = client.request({ ':method': 'POST', ':path': path }, { endStream: false });
      stream.on('error', () => {});
      stream.resume();
      stream.write('the first half of a body');
      const deadline = Date.now() + 5000;
      while (!upstream.seen.some((r) => r.url === path && r.bodyBytes > 0)) {
        assert.ok(Date.now() < deadline, 'the request reached the upstream');
        await new Promise((r) => setTimeout(r, 10));
      }
      // destroy() sends RST_STREAM without END_STREAM (close() would end the body first).
      if (how === 'reset') stream.destroy(new Error('client gave up'));
      else own.destroy();
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.deepEqual(completedResets, [], 'the upstream never saw either request end');
    assert.equal((await h2Request(session, { ':path': '/still' })).status, 200);
  });

  it('answers Expect: 100-continue once the pipeline accepts the request', async () => {
    const stream = session.request({ ':method': 'POST', ':path': '/continue', expect: '100-continue', 'content-length': '5' }, { endStream: false });
    const status = await new Promise<number>((resolve, reject) => {
      stream.once('continue', () => stream.end('hello'));
      stream.once('response', (h) => resolve(Number(h[':status'])));
      stream.once('error', reject);
    });
    stream.resume();
    assert.equal(status, 200);
  });

  it('lets in-flight streams finish on shutdown, and tells the client to go away', async () => {
    const own = await h2Session(gw.url, { ca: pki.caPem });
    const goaway = new Promise<boolean>((resolve) => own.once('goaway', () => resolve(true)));
    const inflight = h2Request(own, { ':path': '/slow' });
    await new Promise((r) => setTimeout(r, 50));
    const closing = gw.close();
    const res = await inflight;
    assert.equal(res.status, 200, 'the in-flight stream completed');
    assert.equal(await goaway, true);
    await closing;
    own.destroy();
  });
});

describe('HTTP/2 streams whose body never ends', () => {
  let pki: Pki;
  let upstream: TestUpstream;
  let gw: TestGateway;
  let session: ClientHttp2Session;
  const aborted: string[] = [];

  before(async () => {
    pki = await makePki();
    await pki.issue('server', { dns: ['localhost'], ips: ['127.0.0.1'] });
    // /quick answers at once without reading the body; anything else waits for the whole body.
    upstream = await startUpstream(
      (req, res, seen) => {
        req.once('aborted', () => aborted.push(req.url ?? ''));
        if (req.url === '/quick') {
          res.writeHead(200, { 'content-length': 2 });
          res.end('ok');
          return;
        }
        req.resume();
        req.once('end', () => echo(req, res, seen));
      },
      { readBody: false },
    );
    gw = await startGateway(
      `
listeners:
  - name: main
    address: "127.0.0.1:0"
    protocol: https
    tls: { certificates: [{ cert: server.crt, key: server.key }] }
gateway: { limits: { headers_timeout: 1s, request_timeout: 1s } }
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: open, service: echo, public: true, match: { paths: [/] } }]
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

  /** Opens a POST stream, sends part of a body, never ends it; resolves with the status seen (0 for none) once the gateway closes the stream. */
  async function unfinishedUpload(path: string): Promise<{ status: number; rstCode: number | undefined }> {
    const stream = session.request({ ':method': 'POST', ':path': path }, { endStream: false });
    let status = 0;
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('error', () => {});
    stream.resume();
    stream.write('part of a body that never ends');
    const deadline = setTimeout(() => stream.destroy(), 10_000);
    await new Promise((r) => stream.once('close', r));
    clearTimeout(deadline);
    return { status, rstCode: stream.rstCode };
  }

  it('resets a stream whose body does not end within request_timeout, and abandons its upstream request', async () => {
    const result = await unfinishedUpload('/slow-upload');
    assert.equal(result.status, 0, 'no response: the request never completed');
    assert.equal(result.rstCode, h2constants.NGHTTP2_CANCEL, 'the gateway reset the stream (not the test deadline)');
    const deadline = Date.now() + 5000;
    while (!aborted.includes('/slow-upload')) {
      assert.ok(Date.now() < deadline, 'the upstream request was abandoned');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal((await h2Request(session, { ':path': '/still' })).status, 200, 'the connection serves on');
  });

  it('does not keep a stream open for ever after its response when the client never ends its body', async () => {
    const result = await unfinishedUpload('/quick');
    assert.equal(result.status, 200);
    assert.equal(result.rstCode, h2constants.NGHTTP2_CANCEL, 'the gateway closed the stream (not the test deadline)');
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { echo, startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { rawExchange } from '../helpers/raw.js';

/** Headers a proxy sets and upstream frameworks believe: a client must not be able to set them. */
const PROXY_SET_HEADERS = {
  'x-real-ip': '6.6.6.6',
  'true-client-ip': '6.6.6.6',
  'x-client-ip': '6.6.6.6',
  'x-cluster-client-ip': '6.6.6.6',
  'cf-connecting-ip': '6.6.6.6',
  'x-forwarded-port': '8443',
  'x-forwarded-prefix': '/evil',
  'x-forwarded-ssl': 'on',
  'x-original-url': '/orders/7',
  'x-rewrite-url': '/orders/7',
};

describe('proxying through the gateway', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services:
  - name: echo
    targets: [{ url: "${upstream.url}" }]
routes:
  - name: open
    service: echo
    public: true
    match: { paths: [/public] }
  - name: stripped
    service: echo
    public: true
    strip_prefix: true
    match: { paths: [/svc] }
  - name: orders
    service: echo
    match: { paths: [/orders] }
    policies: [{ key-auth: {} }]
consumers:
  - name: alice
    groups: [partners, beta]
    credentials: { key-auth: [{ key: alice-secret-key }] }
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('forwards a public request and echoes the request id', async () => {
    const res = await send(gw.url, '/public/hello?x=1');
    assert.equal(res.status, 200);
    const seen = res.json();
    assert.equal(seen.url, '/public/hello?x=1');
    assert.equal(seen.headers['x-request-id'], res.headers['x-request-id']);
    assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });

  it('keeps a well-formed request id from the client, and replaces a malformed one, both ways', async () => {
    const kept = await send(gw.url, '/public/x', { headers: { 'x-request-id': 'trace-01:abc.DEF_9' } });
    assert.equal(kept.headers['x-request-id'], 'trace-01:abc.DEF_9');
    assert.equal(kept.json().headers['x-request-id'], 'trace-01:abc.DEF_9');
    for (const bad of ['has space', 'x'.repeat(129), 'semi;colon', '<script>']) {
      const res = await send(gw.url, '/public/x', { headers: { 'x-request-id': bad } });
      const id = String(res.headers['x-request-id']);
      assert.match(id, /^[0-9a-f-]{36}$/, `${JSON.stringify(bad).slice(0, 20)} replaced by a generated id`);
      assert.equal(res.json().headers['x-request-id'], id, 'the upstream sees the same id as the client');
    }
  });

  it('answers 404 in the error shape when no route matches', async () => {
    const res = await send(gw.url, '/nowhere');
    assert.equal(res.status, 404);
    const body = res.json();
    assert.equal(body.error.code, 'not_found');
    assert.equal(body.error.status, 404);
    assert.equal(body.error.request_id, res.headers['x-request-id']);
  });

  it('refuses a protected route without a key, and with a wrong one, the same way', async () => {
    const none = await send(gw.url, '/orders');
    const wrong = await send(gw.url, '/orders', { headers: { 'x-api-key': 'guess' } });
    for (const res of [none, wrong]) {
      assert.equal(res.status, 401);
      assert.equal(res.headers['www-authenticate'], 'Key realm="portcullis"');
      assert.equal(res.json().error.message, 'Authentication is required.');
    }
    assert.equal(upstream.seen.filter((s) => s.url.startsWith('/orders')).length, 0);
  });

  it('passes the consumer upstream, removes the key, and drops spoofed identity headers', async () => {
    const res = await send(gw.url, '/orders/7', {
      headers: { 'x-api-key': 'alice-secret-key', 'x-consumer-name': 'admin', 'x-credential-id': 'forged' },
    });
    assert.equal(res.status, 200);
    const seen = res.json();
    assert.equal(seen.headers['x-consumer-name'], 'alice');
    assert.equal(seen.headers['x-consumer-groups'], 'partners,beta');
    assert.equal(seen.headers['x-credential-id'], 'alice/key-auth/0');
    assert.equal(seen.headers['x-api-key'], undefined);
  });

  it('drops identity and forwarding headers spelled with underscores (CGI-style servers read X_Consumer_Name as X-Consumer-Name)', async () => {
    const spoofed = {
      X_Consumer_Name: 'admin',
      'x_consumer-groups': 'admins',
      x_credential_id: 'forged',
      X_Authenticated_Scopes: 'admin',
      X_Forwarded_Client_Cert: 'Hash=00;Subject="CN=admin"',
      X_Forwarded_For: '6.6.6.6',
      X_Forwarded_Host: 'evil.example',
      X_Forwarded_Proto: 'https',
      X_Request_Id: 'forged-id',
      'x-not_gateway': 'kept',
    };
    for (const path of ['/public/x', '/orders/7']) {
      const res = await send(gw.url, path, { headers: { 'x-api-key': 'alice-secret-key', ...spoofed } });
      assert.equal(res.status, 200);
      const names = Object.keys(res.json().headers as Record<string, string>);
      assert.deepEqual(names.filter((n) => n.includes('_')), ['x-not_gateway'], `${path}: only the unrelated underscore header is forwarded`);
    }
  });

  it('strips the matched prefix when the route asks', async () => {
    const res = await send(gw.url, '/svc/users/1?q=2');
    assert.equal(res.json().url, '/users/1?q=2');
    assert.equal((await send(gw.url, '/svc')).json().url, '/');
  });

  it('sets forwarding headers from the peer, not from what the client claims', async () => {
    const res = await send(gw.url, '/public/x', { headers: { 'x-forwarded-for': '6.6.6.6', forwarded: 'for=6.6.6.6', 'x-forwarded-host': 'evil' } });
    const seen = res.json();
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-host'], `127.0.0.1:${gw.port}`);
    assert.equal(seen.headers.forwarded, `for=127.0.0.1;host="127.0.0.1:${gw.port}";proto=http`);
    assert.equal(seen.headers.host, `127.0.0.1:${upstream.port}`);
  });

  it('drops the client-address and URL-override headers proxies set, when a client sends them', async () => {
    const res = await send(gw.url, '/public/x', { headers: PROXY_SET_HEADERS });
    assert.equal(res.status, 200);
    const seen = res.json().headers as Record<string, string>;
    for (const name of Object.keys(PROXY_SET_HEADERS)) assert.equal(seen[name], undefined, `${name} is not forwarded`);
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
  });

  it('removes hop-by-hop headers and those the client lists in Connection', async () => {
    // undici will not send these headers itself: a raw request does.
    const reply = await rawExchange(
      gw.port,
      'GET /public/x HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, x-secret-hop\r\nX-Secret-Hop: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\n\r\n',
    );
    assert.equal(reply.status, 200);
    const seen = JSON.parse(reply.text.slice(reply.text.indexOf('\r\n\r\n') + 4));
    assert.equal(seen.headers['proxy-authorization'], undefined);
    assert.equal(seen.headers['x-secret-hop'], undefined);
    assert.equal(seen.headers.te, undefined);
    assert.equal(seen.headers['keep-alive'], undefined);
  });

  it('writes one access log line per request without the query string', async () => {
    const res = await send(gw.url, '/orders/9?api_key=should-not-be-logged', { headers: { 'x-api-key': 'alice-secret-key' } });
    const line = await gw.waitForLog((l) => l.type === 'access' && l.request_id === res.headers['x-request-id']);
    assert.equal(line.path, '/orders/9');
    assert.equal(line.route, 'orders');
    assert.equal(line.service, 'echo');
    assert.equal(line.consumer, 'alice');
    assert.equal(line.status, 200);
    assert.equal(line.client_ip, '127.0.0.1');
    assert.equal(line.method, 'GET');
    assert.equal(line.bytes_sent, Buffer.byteLength(res.text));
    assert.ok(!Number.isNaN(Date.parse(String(line.time))), 'a timestamp');
    assert.equal(typeof line.upstream_ms, 'number');
    assert.equal(typeof line.total_ms, 'number');
    assert.ok(!JSON.stringify(gw.logs).includes('should-not-be-logged'));
    assert.ok(!JSON.stringify(gw.logs).includes('alice-secret-key'));
  });
});

describe('Expect: 100-continue', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: upload, service: echo, match: { paths: [/upload] }, policies: [{ key-auth: {} }] }
consumers:
  - { name: alice, credentials: { key-auth: [{ key: k1 }] } }
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('refuses an unauthenticated upload before the client sends its body', async () => {
    const reply = await rawExchange(gw.port, 'PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    assert.equal(reply.status, 401);
    assert.ok(!reply.text.includes('100 Continue'));
  });

  it('answers 100 Continue once the request is accepted, then forwards the body', async () => {
    const socket = (await import('node:net')).connect(gw.port, '127.0.0.1');
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.write('PUT /upload HTTP/1.1\r\nHost: x\r\nx-api-key: k1\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n');
    await new Promise<void>((resolve) => {
      const tick = () => (text.includes('100 Continue') ? resolve() : setTimeout(tick, 5));
      tick();
    });
    socket.write('hello');
    await new Promise((r) => socket.on('close', r));
    assert.match(text, /HTTP\/1\.1 200 OK/);
    assert.equal(upstream.seen.at(-1)!.body, 'hello');
  });
});

describe('proxying behind a trusted proxy', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
gateway: { trusted_proxies: [127.0.0.1/32] }
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: open, service: echo, public: true, match: { paths: [/] } }]
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('passes on the headers the proxy set, and extends its X-Forwarded-For', async () => {
    const res = await send(gw.url, '/x', { headers: { ...PROXY_SET_HEADERS, 'x-forwarded-for': '203.0.113.9' } });
    const seen = res.json().headers as Record<string, string>;
    for (const [name, value] of Object.entries(PROXY_SET_HEADERS)) assert.equal(seen[name], value, `${name} is forwarded`);
    assert.equal(seen['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
  });
});

describe('upstream connections and the Host header', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  const peers: number[] = [];

  before(async () => {
    upstream = await startUpstream((req, res, seen) => {
      peers.push(req.socket.remotePort!);
      echo(req, res, seen);
    });
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services:
  - { name: plain, targets: [{ url: "${upstream.url}" }] }
  - { name: hosted, preserve_host: true, targets: [{ url: "${upstream.url}" }] }
routes:
  - { name: plain, service: plain, public: true, match: { paths: [/plain] } }
  - { name: plain-but-preserved, service: plain, public: true, preserve_host: true, match: { paths: [/route-preserved] } }
  - { name: hosted, service: hosted, public: true, match: { paths: [/hosted] } }
  - { name: hosted-but-not, service: hosted, public: true, preserve_host: false, match: { paths: [/route-plain] } }
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('keeps upstream connections alive: sequential requests from separate clients share one connection', async () => {
    peers.length = 0;
    for (let i = 0; i < 5; i++) assert.equal((await send(gw.url, '/plain')).status, 200);
    assert.equal(peers.length, 5);
    assert.equal(new Set(peers).size, 1, `one upstream connection, saw ports ${peers.join(', ')}`);
  });

  it('sends the target host by default, the client Host with preserve_host, and a route can override its service', async () => {
    const hostSeen = async (path: string) => (await send(gw.url, path, { headers: { host: 'shop.example.com' } })).json().headers.host as string;
    assert.equal(await hostSeen('/plain'), `127.0.0.1:${upstream.port}`);
    assert.equal(await hostSeen('/hosted'), 'shop.example.com');
    assert.equal(await hostSeen('/route-preserved'), 'shop.example.com');
    assert.equal(await hostSeen('/route-plain'), `127.0.0.1:${upstream.port}`);
  });
});

/**
 * Routing precedence as a client sees it through a running gateway: hosts
 * (exact over wildcard over none), paths (exact over the longest prefix over
 * regex), methods and header matches, each request answered by the route the
 * access log names and forwarded with the path that route implies.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { rawExchange } from '../helpers/raw.js';
import type { ClientHttp2Session } from 'node:http2';
import { h2Request, h2Session, makePki } from '../helpers/tls.js';

describe('routing precedence through the gateway', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: api, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: regex, service: api, public: true, match: { paths: ["~ ^/v1/orders/[0-9]+$"] } }
  - { name: v1, service: api, public: true, match: { paths: [/v1] } }
  - { name: orders, service: api, public: true, strip_prefix: true, match: { paths: [/v1/orders] } }
  - { name: special, service: api, public: true, match: { paths: ["= /v1/orders/special"] } }
  - { name: writes, service: api, public: true, match: { paths: [/v1/orders], methods: [POST, PUT] } }
  - { name: v2-header, service: api, public: true, match: { paths: [/v1/orders], headers: { x-api-version: "2" } } }
  - { name: beta-header, service: api, public: true, match: { paths: [/v1/orders], headers: { x-beta: "~ ^(on|yes)$" } } }
  - { name: items-regex, service: api, public: true, match: { paths: ["~ ^/items/[a-z]+$"] } }
  - { name: any-host, service: api, public: true, match: { paths: [/site] } }
  - { name: wildcard, service: api, public: true, match: { hosts: ["*.example.com"], paths: [/site] } }
  - { name: deeper-wildcard, service: api, public: true, match: { hosts: ["*.eu.example.com"], paths: [/site] } }
  - { name: exact-host, service: api, public: true, match: { hosts: [api.example.com], paths: [/site] } }
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  /** The route that served a request, as the access log records it, and the path the upstream received. */
  async function routeOf(path: string, options: { method?: string; host?: string; headers?: Record<string, string> } = {}) {
    const headers = { ...options.headers, ...(options.host ? { host: options.host } : {}) };
    const res = await send(gw.url, path, { method: options.method, headers, body: options.method === 'POST' || options.method === 'PUT' ? '{}' : undefined });
    const line = await gw.waitForLog((l) => l.type === 'access' && l.request_id === res.headers['x-request-id']);
    return { route: line.route as string | undefined, status: res.status, upstreamPath: res.status === 200 ? (res.json().url as string) : undefined };
  }

  it('prefers an exact path over the longest prefix over a shorter prefix over a regex', async () => {
    assert.deepEqual(await routeOf('/v1/orders/special'), { route: 'special', status: 200, upstreamPath: '/v1/orders/special' });
    assert.deepEqual(await routeOf('/v1/orders/7'), { route: 'orders', status: 200, upstreamPath: '/7' }, 'the prefix wins over the regex that also matches');
    assert.deepEqual(await routeOf('/v1/users'), { route: 'v1', status: 200, upstreamPath: '/v1/users' });
    assert.deepEqual(await routeOf('/items/abc'), { route: 'items-regex', status: 200, upstreamPath: '/items/abc' });
  });

  it('matches prefixes on segment boundaries only', async () => {
    assert.equal((await routeOf('/v1/ordersX')).route, 'v1');
    assert.equal((await routeOf('/v1x')).status, 404);
    assert.equal((await routeOf('/items/abc/def')).status, 404, 'a regex is anchored as written');
  });

  it('takes a method-specific route for its methods and falls through for others', async () => {
    assert.equal((await routeOf('/v1/orders/7', { method: 'POST' })).route, 'writes');
    assert.equal((await routeOf('/v1/orders/7', { method: 'PUT' })).route, 'writes');
    assert.equal((await routeOf('/v1/orders/7', { method: 'DELETE' })).route, 'orders');
  });

  it('takes a header-matched route when the header matches, exactly or by RE2, and not otherwise', async () => {
    assert.equal((await routeOf('/v1/orders/7', { headers: { 'x-api-version': '2' } })).route, 'v2-header');
    assert.equal((await routeOf('/v1/orders/7', { headers: { 'x-api-version': '22' } })).route, 'orders');
    assert.equal((await routeOf('/v1/orders/7', { headers: { 'x-beta': 'yes' } })).route, 'beta-header');
    assert.equal((await routeOf('/v1/orders/7', { headers: { 'x-beta': 'yesterday' } })).route, 'orders');
  });

  it('prefers an exact host over the longest wildcard over a shorter one over no host, whatever the case and port', async () => {
    assert.equal((await routeOf('/site', { host: 'api.example.com' })).route, 'exact-host');
    assert.equal((await routeOf('/site', { host: 'API.Example.COM:8443' })).route, 'exact-host');
    assert.equal((await routeOf('/site', { host: 'shop.eu.example.com' })).route, 'deeper-wildcard');
    assert.equal((await routeOf('/site', { host: 'shop.example.com' })).route, 'wildcard');
    assert.equal((await routeOf('/site', { host: 'example.com' })).route, 'any-host', 'a wildcard needs at least one label before it');
    assert.equal((await routeOf('/site', { host: 'example.org' })).route, 'any-host');
  });

  it('answers 404 in the error shape, and the upstream never hears of it, when nothing matches', async () => {
    const before = upstream.seen.length;
    const res = await send(gw.url, '/nothing/here');
    assert.equal(res.status, 404);
    assert.equal(res.json().error.code, 'not_found');
    assert.equal(upstream.seen.length, before);
  });
});

/**
 * One reading of the Host (red-team review of issue 10, F-low-4): routing
 * lower-cases it and drops the DNS root's one trailing dot, so
 * "ADMIN.example.com.:80" meets the admin route; "admin.example.com.." kept a
 * dot, missed the host-specific protected route and reached the public
 * catch-all, while upstreams that trim dots read it as the admin host. A host
 * with an empty label is refused with 400.
 */
describe('host names through the gateway', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let port: number;

  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: app, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: admin, service: app, match: { hosts: [admin.example.com] }, policies: [{ key-auth: {} }] }
  - { name: site, service: app, public: true, match: { paths: [/] } }
`);
    port = Number(new URL(gw.url).port);
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  const status = async (host: string) => (await rawExchange(port, `GET /x HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, 5000)).status;

  it('routes every spelling of one host name alike', async () => {
    for (const host of ['admin.example.com', 'ADMIN.Example.COM', 'admin.example.com.', 'admin.example.com.:80']) {
      assert.equal(await status(host), 401, host);
    }
    assert.equal(await status('www.example.com'), 200, 'another host takes the public route');
  });

  it('refuses a host with an empty label with 400, before any route', async () => {
    const before = upstream.seen.length;
    for (const host of ['admin.example.com..', 'admin.example.com..:80', '.admin.example.com', 'admin..example.com', '.']) {
      assert.equal(await status(host), 400, host);
    }
    assert.equal(upstream.seen.length, before, 'nothing reached the upstream');
  });
});

describe('host names over HTTP/2', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let session: ClientHttp2Session;

  before(async () => {
    const pki = await makePki();
    await pki.issue('server', { dns: ['localhost'], ips: ['127.0.0.1'] });
    upstream = await startUpstream();
    gw = await startGateway(
      `
listeners:
  - { name: main, address: "127.0.0.1:0", protocol: https, tls: { certificates: [{ cert: server.crt, key: server.key }] } }
services: [{ name: app, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: admin, service: app, match: { hosts: [admin.example.com] }, policies: [{ key-auth: {} }] }
  - { name: site, service: app, public: true, match: { paths: [/] } }
`,
      { dir: pki.dir },
    );
    session = await h2Session(gw.url, { ca: pki.caPem });
  });
  after(async () => {
    session?.close();
    await gw?.close();
    await upstream?.close();
  });

  it('reads :authority as Host: one trailing dot is the same host, an empty label is 400', async () => {
    assert.equal((await h2Request(session, { ':path': '/x', ':authority': 'Admin.Example.com.' })).status, 401);
    const before = upstream.seen.length;
    assert.equal((await h2Request(session, { ':path': '/x', ':authority': 'admin.example.com..' })).status, 400);
    assert.equal(upstream.seen.length, before, 'nothing reached the upstream');
  });
});

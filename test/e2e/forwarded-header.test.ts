/**
 * The Forwarded element the gateway adds is kept between requests while the
 * peer, the Host and the scheme stay the same (src/server/forwarded.ts): each
 * request must still get its own, whichever Host came before it. And the
 * headers a policy removed are dropped beside those never forwarded as sent.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

describe('Forwarded: each request its own host', () => {
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
  - name: keyed
    service: echo
    match: { paths: [/keyed] }
    policies:
      - key-auth: { header: x-api-key }
consumers:
  - name: alice
    credentials:
      key-auth: [{ key: alice-key-0123456789 }]
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('names the Host of each request, as they alternate', async () => {
    for (const host of ['a.example', 'b.example:8081', 'a.example', `127.0.0.1:${gw.port}`, 'b.example:8081']) {
      const res = await send(gw.url, '/public/x', { headers: { host } });
      assert.equal(res.status, 200, host);
      const seen = res.json().headers as Record<string, string>;
      assert.equal(seen.forwarded, `for=127.0.0.1;host="${host}";proto=http`, host);
      assert.equal(seen['x-forwarded-host'], host);
    }
  });

  it('drops what a policy removed and what is never forwarded as received, together and in turn', async () => {
    const clientTrace = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'vendor=x' };
    for (let i = 0; i < 3; i++) {
      // key-auth removes its header from what the upstream gets; the client's trace context is not passed as sent
      // but written by the gateway (telemetry/tracing), once: a copy of the client's beside it would show as "a, b"
      const keyed = await send(gw.url, '/keyed/x', { headers: { 'x-api-key': 'alice-key-0123456789', 'x-kept': 'k', ...clientTrace } });
      assert.equal(keyed.status, 200);
      const seen = keyed.json().headers as Record<string, string>;
      assert.equal(seen['x-api-key'], undefined);
      assert.equal(seen['x-consumer-name'], 'alice');
      assert.equal(seen['x-kept'], 'k');
      assert.equal(seen.traceparent, clientTrace.traceparent);
      assert.equal(seen.tracestate, clientTrace.tracestate);
      const open = await send(gw.url, '/public/x', { headers: { 'x-api-key': 'not-a-credential-here', ...clientTrace } });
      const openSeen = open.json().headers as Record<string, string>;
      assert.equal(openSeen['x-api-key'], 'not-a-credential-here', 'a route without key-auth forwards the header');
      assert.equal(openSeen.traceparent, clientTrace.traceparent);
    }
  });
});

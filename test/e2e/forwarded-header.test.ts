/**
 * The Forwarded element the gateway adds is kept between requests while the
 * peer, the Host and the scheme stay the same (src/server/forwarded.ts): each
 * request must still get its own, whichever Host came before it.
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
});

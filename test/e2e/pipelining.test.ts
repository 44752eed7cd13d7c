/**
 * Pipelined HTTP/1.1 requests: served one at a time per connection, in
 * order, so that one connection cannot put thousands of requests in flight,
 * and requests still queued when the client leaves are not counted in
 * flight for ever.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { echo, startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { countResponses, rawExchange } from '../helpers/raw.js';

describe('pipelined requests', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let concurrent = 0;
  let peak = 0;

  before(async () => {
    upstream = await startUpstream((req, res, seen) => {
      peak = Math.max(peak, ++concurrent);
      setTimeout(() => {
        concurrent--;
        echo(req, res, seen);
      }, 20);
    });
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
gateway: { limits: { max_in_flight: 4 } }
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: open, service: echo, public: true, match: { paths: [/] } }
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('are sent upstream one at a time, and answered in order', async () => {
    peak = 0;
    const count = 60;
    let payload = '';
    for (let i = 0; i < count; i++) payload += `GET /p${i} HTTP/1.1\r\nHost: x\r\n${i === count - 1 ? 'Connection: close\r\n' : ''}\r\n`;
    const reply = await rawExchange(gw.port, payload, 10_000);
    assert.equal(countResponses(reply.text), count);
    assert.equal(reply.text.match(/HTTP\/1\.1 200 /g)?.length, count, 'none shed: the connection never had more than one in flight');
    const order = [...reply.text.matchAll(/"url":"\/p(\d+)"/g)].map((m) => Number(m[1]));
    assert.deepEqual(order, [...Array(count).keys()]);
    assert.equal(peak, 1, 'the upstream never had two of them at once');
  });

  it('still queued when the client leaves are not counted in flight afterwards', async () => {
    // max_in_flight is 4: five abandoned requests would otherwise leave the gateway shedding everyone.
    const socket = connect(gw.port, '127.0.0.1');
    socket.on('error', () => {});
    await once(socket, 'connect');
    socket.write('GET /left HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(5));
    await new Promise((r) => setTimeout(r, 5));
    socket.destroy();
    const deadline = Date.now() + 5000;
    for (;;) {
      const status = (await send(gw.url, '/after')).status;
      if (status === 200) break;
      assert.ok(Date.now() < deadline, `still refused with ${status} long after the client left`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});

/**
 * Red team (issue 12): the admin listener's connection slots. One client that
 * opens many connections and trickles header lines (slowloris) must not keep
 * Prometheus and the probes out of /metrics and /healthz: before, 64 such
 * connections from one address held every slot for ~30 s (Node checked the
 * 5 s headers timeout only every 30 s) and a reconnecting attacker held them
 * for good. Attacker on 127.0.0.2, scraper on 127.0.0.1 (both loopback).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';

describe('red: admin listener slots', () => {
  let gw: TestGateway | undefined;
  const sockets: Socket[] = [];
  after(async () => {
    for (const s of sockets) s.destroy();
    await gw?.close();
  });

  it('a slowloris client from one address does not lock the scraper out', async () => {
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
admin: { address: "127.0.0.1:0" }
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes: [{ name: r, service: s, public: true, match: { paths: [/] } }]
`);
    const admin = new URL(gw.gateway.admin.url!);
    const connected: Array<Promise<void>> = [];
    for (let i = 0; i < 80; i++) {
      const s = connect({ port: Number(admin.port), host: admin.hostname, localAddress: '127.0.0.2' });
      s.on('error', () => {});
      sockets.push(s);
      connected.push(
        new Promise<void>((resolve) => {
          s.once('connect', () => s.write('GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n', () => resolve()));
          s.once('close', () => resolve());
        }),
      );
    }
    await Promise.all(connected);
    // The attacker's connections are open (or were refused); a scrape from elsewhere gets through now, not 30 s later.
    const health = await send(gw.gateway.admin.url!, '/healthz');
    assert.equal(health.status, 200);
    assert.equal((await send(gw.gateway.admin.url!, '/metrics')).status, 200);
    assert.ok(sockets.filter((s) => !s.destroyed).length <= 8, 'one address holds a few slots at most');
  });
});

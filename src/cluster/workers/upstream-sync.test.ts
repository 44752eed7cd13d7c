/**
 * A worker's breaker news reaches the others even when the breaker opened
 * before the worker's first look: requests sent within WATCH_MS of a worker's
 * start (a test, or traffic arriving the moment a node is up) opened it, and
 * the first look took "open" for where the target started, so the other
 * workers kept sending it traffic (seen in CI: workers-shared-state).
 * A real gateway's upstream registry and breaker; the IPC send is a function.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UpstreamSync, WATCH_MS } from './upstream-sync.js';
import type { UpstreamChange } from './protocol.js';
import { startGateway, type TestGateway } from '../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../test/helpers/upstream.js';

describe('upstream sync across workers', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream((_req, res) => {
      res.statusCode = 502;
      res.end();
    });
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "${upstream.url}" }], breaker: { failures: 3, open_for: 10m } }]
routes: [{ name: r, service: s, public: true, match: { paths: [/] } }]
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('shares a breaker that was already open at its first look', async () => {
    const shared: UpstreamChange[] = [];
    const sync = new UpstreamSync(gw.gateway.upstreams, (change) => shared.push(change));
    try {
      // Failures until the breaker opens, before the first look (it comes WATCH_MS after the start).
      const statuses: number[] = [];
      while (statuses.at(-1) !== 503 && statuses.length < 5) statuses.push((await fetch(`${gw.url}/`)).status);
      assert.equal(statuses.at(-1), 503, `the breaker is open here: ${statuses.join(',')}`);
      await new Promise((r) => setTimeout(r, WATCH_MS * 4));
      assert.deepEqual(
        shared.filter((c) => c.what === 'open').map((c) => [c.service, c.origin]),
        [['s', new URL(upstream.url).origin]],
        'the opening is shared once',
      );
    } finally {
      sync.close();
    }
  });
});

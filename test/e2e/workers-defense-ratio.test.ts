/**
 * Red team (session 6): a defense `ratio` detection on a node of 2 workers
 * (`portcullis start`, PORTCULLIS_WORKERS=2, real upstream). The detection
 * counts a route's requests and its matching ones in two window counters of
 * the store and reads the counts back from their `remaining`. Rate-limit
 * leases (src/cluster/workers/lease-host.ts) lent these counters too: the
 * flush that was lent a lease read the whole lease (100 units) as counted,
 * so ONE 401 among twenty good requests read as 101 of 120 and fired a
 * detection meant for "more than half failing" — anyone able to cause a 401
 * could page the route's on-call (a ratio's playbook notifies). The counts
 * must be exact node-wide, as they are in one process: they are asked of
 * the supervisor every flush, never lent.
 * In EXCLUSIVE (test/all.test.ts): three processes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { startCli, type RunningCli } from '../helpers/cli.js';
import { writeConfig } from '../helpers/gateway.js';
import { freePort } from '../helpers/redis.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const SPAWN_MS = 120_000;

function get(port: number, path: string, agent: Agent): Promise<number> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

describe('defense ratio detections over 2 workers count exactly', () => {
  let upstream: TestUpstream;
  let node: RunningCli;
  let port: number;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  /** The on-call's webhook (the playbook's notification), received by the same test server. */
  let hooks = 0;

  before(async () => {
    upstream = await startUpstream((req, res) => {
      if (req.url?.startsWith('/hook')) hooks++;
      res.statusCode = req.url?.includes('bad') ? 401 : 200;
      res.end('x');
    });
    port = await freePort();
    const file = writeConfig(`
gateway: { drain_delay: 0s, shutdown_timeout: 5s }
listeners: [{ name: main, address: "127.0.0.1:${port}" }]
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: flaky
    service: s
    public: true
    match: { paths: [/flaky] }
defense:
  detections:
    - name: failing-route
      match: { statuses: [401], routes: [flaky] }
      key: route
      ratio: { above: 0.5, min_requests: 10, window: 1h }
      playbook: tell-oncall
  playbooks:
    - name: tell-oncall
      actions: [ { notify: { webhook: oncall } } ]
  notifiers:
    webhooks: [ { name: oncall, url: "${upstream.url}/hook", secret: "a-webhook-secret-for-the-test-0123456789" } ]
`);
    node = startCli(['start', '-c', file], { env: { ...process.env, PORTCULLIS_WORKERS: '2' } });
    await node.waitFor('portcullis: 2 workers', SPAWN_MS);
  });
  after(async () => {
    agent.destroy();
    node.child.kill('SIGKILL');
    await upstream.close();
  });

  it('one failing request in twenty-one does not fire "more than half failing"; thirty more do', async () => {
    for (let i = 0; i < 20; i++) assert.equal(await get(port, '/flaky', agent), 200);
    assert.equal(await get(port, '/flaky?bad', agent), 401);
    // The detection flushes its counts once a second: give it a few flushes to (wrongly) fire.
    await new Promise((r) => setTimeout(r, 4_000));
    assert.equal(hooks, 0, 'on-call notified: 1 of 21 failing is not above 0.5');
    assert.doesNotMatch(node.output(), /defense\.detected/);
    // The positive control: now most of the route's requests fail, and on-call hears of it.
    for (let i = 0; i < 30; i++) assert.equal(await get(port, '/flaky?bad', agent), 401);
    const deadline = Date.now() + 30_000;
    while (hooks === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(hooks >= 1, 'on-call notified once most of the route fails');
  });
});

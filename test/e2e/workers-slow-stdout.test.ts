/**
 * Red team (session 7): a node of two workers whose stdout is a pipe (the
 * supervisor relays the workers' lines), read by a log shipper that stalls
 * for a few seconds while the node drains on SIGTERM. The workers' last log
 * flush used to give up on a full pipe after 2 s (bounded-flush.ts, meant for
 * a supervisor that is gone), and the chunk sonic-boom had in flight was lost
 * at exit whatever the wait: 105 of 600 access lines came out. The supervisor
 * waits drain_delay + shutdown_timeout + 5 s for its workers, so a worker it
 * asked to drain now waits for its reader until then; every line comes out.
 * In EXCLUSIVE (test/all.test.ts): three processes under load.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { statusOf as get, startCli, type RunningCli } from '../helpers/cli.js';
import { writeConfig } from '../helpers/gateway.js';
import { freePort } from '../helpers/redis.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const REQUESTS = 600;
/** How long the reader stops reading: more than the 2 s a last flush waits for a reader that does not read. */
const STALL_MS = 5_000;

describe('a node of 2 workers whose stdout reader stalls while it drains', () => {
  let upstream: TestUpstream;
  let node: RunningCli;
  let port: number;
  let out = '';

  before(async () => {
    upstream = await startUpstream();
    port = await freePort();
    const file = writeConfig(`
# No shedding on event-loop delay: on a loaded machine it answered some requests 503 (what is checked is the log).
gateway: { drain_delay: 0s, shutdown_timeout: 20s, limits: { max_event_loop_delay: 0s } }
listeners: [{ name: main, address: "127.0.0.1:${port}" }]
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: r, service: s, public: true, match: { paths: [/] } }]
`);
    node = startCli(['start', '-c', file], { env: { ...process.env, PORTCULLIS_WORKERS: '2' } });
    node.child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await node.waitFor('portcullis: 2 workers', 120_000);
  });
  after(async () => {
    node.child.kill('SIGKILL');
    await upstream.close();
  });

  it('passes on every access line once the reader reads again', async () => {
    // Long records: the lines of 600 requests are more than the pipes between the workers, the supervisor and us hold.
    const path = `/records/${'x'.repeat(2_000)}`;
    node.child.stdout!.pause();
    const statuses: number[] = [];
    for (let wave = 0; wave < REQUESTS / 50; wave++) statuses.push(...(await Promise.all(Array.from({ length: 50 }, () => get(port, path)))));
    assert.deepEqual(new Set(statuses), new Set([200]));
    node.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, STALL_MS));
    node.child.stdout!.resume();
    assert.equal(await node.exited, 0);
    const access = out.split('\n').filter((line) => line.includes('"type":"access"') && line.includes('/records/'));
    assert.equal(access.length, REQUESTS, `${access.length} of ${REQUESTS} access lines came out`);
  });
});

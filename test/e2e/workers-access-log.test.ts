/**
 * A node of two workers whose stdout is a regular file (`portcullis start >>
 * access.log`, a service manager's log file): the workers append their access
 * records to it themselves, with no relay through the supervisor, and the file
 * holds one whole JSON line per request, none split or mixed with another
 * worker's, under concurrent load. (stdout as a pipe goes through the
 * supervisor's line relay: test/e2e/workers-node.test.ts reads it.) In
 * EXCLUSIVE (test/all.test.ts): three processes and the load.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { statusOf as get, startCli, type RunningCli } from '../helpers/cli.js';
import { writeConfig } from '../helpers/gateway.js';
import { freePort } from '../helpers/redis.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const REQUESTS = 600;

describe('a node of 2 workers with its stdout on a file', () => {
  let upstream: TestUpstream;
  let node: RunningCli;
  let port: number;
  let log: string;

  before(async () => {
    upstream = await startUpstream();
    port = await freePort();
    log = join(mkdtempSync(join(tmpdir(), 'portcullis-access-')), 'access.log');
    const file = writeConfig(`
# No shedding on event-loop delay: on a loaded machine it answered some requests 503 (what is checked is the log).
gateway: { drain_delay: 0s, shutdown_timeout: 5s, limits: { max_event_loop_delay: 0s } }
listeners: [{ name: main, address: "127.0.0.1:${port}" }]
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: r, service: s, public: true, match: { paths: [/] } }]
`);
    const fd = openSync(log, 'a');
    node = startCli(['start', '-c', file], { env: { ...process.env, PORTCULLIS_WORKERS: '2' }, stdout: fd });
    closeSync(fd);
    await node.waitFor('portcullis: 2 workers', 120_000);
  });
  after(async () => {
    node.child.kill('SIGKILL');
    await upstream.close();
  });

  it('holds one whole access record per request, none split or mixed', async () => {
    // A long path makes each record long: a split or mixed write would show.
    const path = `/records/${'x'.repeat(2_000)}`;
    const statuses: number[] = [];
    for (let wave = 0; wave < REQUESTS / 50; wave++) statuses.push(...(await Promise.all(Array.from({ length: 50 }, () => get(port, path)))));
    assert.deepEqual(new Set(statuses), new Set([200]));
    node.child.kill('SIGTERM');
    assert.equal(await node.exited, 0);
    const lines = readFileSync(log, 'utf8').split('\n');
    assert.equal(lines.pop(), '', 'the file ends with a whole line');
    const records = lines.map((line, i) => {
      try {
        return JSON.parse(line) as { path?: string };
      } catch {
        throw new Error(`line ${i + 1} is not one JSON record: ${line.slice(0, 200)}`);
      }
    });
    const access = records.filter((r) => r.path === path);
    assert.equal(access.length, REQUESTS);
    // The workers wrote the file themselves; the supervisor relayed nothing.
    assert.ok(lines.some((l) => l.includes('"stdout":"direct"') && l.includes('every worker is serving')), 'the supervisor says the workers write stdout');
  });
});

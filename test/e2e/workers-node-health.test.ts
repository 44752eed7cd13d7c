/**
 * Once per node, not once per worker, in a node of two workers (`portcullis
 * start`, PORTCULLIS_WORKERS=2): active health checks probe each target from
 * one worker only, and a target that fails its check is out on every worker,
 * though only one of them probed it; a reload of the node is one
 * `config.reloaded` event on the event sink, not two. In EXCLUSIVE (test/all.test.ts, by its name
 * test/e2e/workers-node*): three processes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { dirname, join } from 'node:path';
import { runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { writeConfig } from '../helpers/gateway.js';
import { freePort } from '../helpers/redis.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const SPAWN_MS = 120_000;
const INTERVAL_MS = 200;

/** Which target answered one request on a connection of its own (node:cluster hands each new connection to the next worker). */
function answeredBy(port: number, path = '/api'): Promise<string> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(`${res.statusCode} ${body}`));
    });
    req.on('error', (err) => resolve(`error ${err.message}`));
    req.setTimeout(20_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

async function newConnections(port: number, count: number): Promise<string[]> {
  const seen: string[] = [];
  for (let wave = 0; wave < count / 10; wave++) seen.push(...(await Promise.all(Array.from({ length: 10 }, () => answeredBy(port)))));
  return seen;
}

describe('active health checks in a node of two workers', () => {
  let good: TestUpstream;
  let failing: TestUpstream;
  let node: RunningCli;
  let port: number;
  /** When each health check reached the good target (the test's clock). */
  const probes: number[] = [];
  let failingHealthy = false;
  let file: string;

  before(async () => {
    good = await startUpstream((req, res) => {
      if (req.url === '/health') probes.push(Date.now());
      res.end('good');
    });
    // Serves requests, fails its health check: only the active check can take it out.
    failing = await startUpstream((req, res) => {
      if (req.url === '/health') res.statusCode = failingHealthy ? 200 : 503;
      res.end('failing');
    });
    port = await freePort();
    file = writeConfig(`
gateway: { drain_delay: 0s, shutdown_timeout: 5s }
listeners: [{ name: main, address: "127.0.0.1:${port}" }]
services:
  - name: s
    targets: [{ url: "${good.url}" }, { url: "${failing.url}" }]
    health: { active: { path: /health, interval: ${INTERVAL_MS}ms, timeout: 5s, healthy_threshold: 1, unhealthy_threshold: 1 } }
routes:
  - { name: api, service: s, public: true, match: { paths: [/api] } }
  - { name: denied, service: s, public: true, match: { paths: [/denied] }, policies: [{ ip-restriction: { deny: [127.0.0.0/8] } }] }
telemetry:
  events:
    sinks:
      - { name: json, kind: file, path: events.json, format: json, batch: { interval: 20ms } }
`);
    node = startCli(['start', '-c', file], { env: { ...process.env, PORTCULLIS_WORKERS: '2' } });
    await node.waitFor('portcullis: 2 workers', SPAWN_MS);
  });
  after(async () => {
    node.child.kill('SIGKILL');
    await good.close();
    await failing.close();
  });

  it('a target that fails its active check is out on every worker: 40 new connections all reach the good one', async () => {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if ((await newConnections(port, 20)).every((a) => a === '200 good')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // Both workers took connections; only one of them probes.
    assert.deepEqual(new Set(await newConnections(port, 40)), new Set(['200 good']));
  });

  it('the target probed once per interval for the node, not once per worker', async () => {
    // A timer never fires early, so one prober makes at most one check per interval (and one at its start);
    // two would make about twice that. A slow machine only makes fewer.
    const from = Date.now();
    await new Promise((r) => setTimeout(r, 3_000));
    const to = Date.now();
    const seen = probes.filter((t) => t >= from && t <= to).length;
    assert.ok(seen >= 1, 'the node probes');
    assert.ok(seen <= Math.floor((to - from) / INTERVAL_MS) + 1, `${seen} probes in ${to - from} ms: more than one prober`);
  });

  it('a target whose check passes again is back on every worker', async () => {
    failingHealthy = true;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !(await newConnections(port, 20)).includes('200 failing')) await new Promise((r) => setTimeout(r, 100));
    // One connection after another: node:cluster hands them to the two workers in turn, and each worker
    // alternates between the two targets, so with both workers sending it traffic it takes about half
    // (20 of 40); with only the prober, about a quarter.
    const answers: string[] = [];
    for (let i = 0; i < 40; i++) answers.push(await answeredBy(port));
    assert.ok(answers.filter((a) => a === '200 failing').length >= 15, answers.join(', '));
  });

  it('a reload of the node is one config.reloaded event, not one per worker', async () => {
    const events = join(dirname(file), 'events.json');
    const types = () => (existsSync(events) ? readFileSync(events, 'utf8') : '').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { type: string }).type);
    const reloaded = await runCli(['reload', '-c', file], { timeoutMs: 60_000 });
    assert.equal(reloaded.code, 0, reloaded.stderr);
    // Then 20 refused requests, one connection after another (both workers take some). Each worker writes
    // its events in order, so once all 20 are in the file, any config.reloaded a worker emitted is too.
    for (let i = 0; i < 20; i++) assert.match(await answeredBy(port, '/denied'), /^403 /);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && types().filter((t) => t === 'ip.denied').length < 20) await new Promise((r) => setTimeout(r, 100));
    assert.equal(types().filter((t) => t === 'ip.denied').length, 20);
    assert.equal(types().filter((t) => t === 'config.reloaded').length, 1);
  });
});

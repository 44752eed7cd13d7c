/**
 * Red team (s6): a stale active-check verdict after a reload. In a node of two workers, worker 0 probes and
 * the others take its verdicts, keeping the last one per service and target so that a target a reload makes
 * anew starts where the prober judged it. Attack: let the only target fail its check (out everywhere), then
 * reload a config whose service has no active checks. One process (or worker 0) makes the target anew,
 * healthy; the other worker applied the old "unhealthy" verdict to its new target, with nothing left to
 * probe it back: half the node answered 503 for good. The verdict must only apply where active checks run.
 * In EXCLUSIVE (test/all.test.ts, by its name test/e2e/workers-node*): three processes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { writeConfig } from '../helpers/gateway.js';
import { freePort } from '../helpers/redis.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const SPAWN_MS = 120_000;

function answeredBy(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/api', agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(`${res.statusCode} ${res.statusCode === 200 ? body : ''}`.trim()));
    });
    req.on('error', (err) => resolve(`error ${err.message}`));
    req.setTimeout(20_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/** One connection after another: node:cluster hands them to the two workers in turn. */
async function inTurn(port: number, count: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(await answeredBy(port));
  return out;
}

const config = (port: number, url: string, active: boolean) => `
gateway: { drain_delay: 0s, shutdown_timeout: 5s }
listeners: [{ name: main, address: "127.0.0.1:${port}" }]
services:
  - name: s
    targets: [{ url: "${url}" }]
${active ? '    health: { active: { path: /health, interval: 200ms, timeout: 5s, healthy_threshold: 1, unhealthy_threshold: 1 } }\n' : ''}routes:
  - { name: api, service: s, public: true, match: { paths: [/api] } }
`;

describe('red team: an active-check verdict does not outlive the active checks (node of two workers)', () => {
  let upstream: TestUpstream;
  let node: RunningCli;
  let port: number;
  let file: string;

  before(async () => {
    // Serves requests, fails its health check.
    upstream = await startUpstream((req, res) => {
      if (req.url === '/health') res.statusCode = 503;
      res.end('served');
    });
    port = await freePort();
    file = writeConfig(config(port, upstream.url, true));
    node = startCli(['start', '-c', file], { env: { ...process.env, PORTCULLIS_WORKERS: '2' } });
    await node.waitFor('portcullis: 2 workers', SPAWN_MS);
  });
  after(async () => {
    node.child.kill('SIGKILL');
    await upstream.close();
  });

  it('the target failing its check is out on both workers', async () => {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (await inTurn(port, 10)).some((a) => a === '200 served')) await new Promise((r) => setTimeout(r, 100));
    assert.ok((await inTurn(port, 10)).every((a) => a !== '200 served'));
  });

  it('after a reload without active checks, every worker sends the target traffic', async () => {
    writeFileSync(file, config(port, upstream.url, false));
    const reloaded = await runCli(['reload', '-c', file], { timeoutMs: 60_000 });
    assert.equal(reloaded.code, 0, reloaded.stderr);
    // Both workers have reloaded once either answers: give the other the same time to follow.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !(await inTurn(port, 10)).every((a) => a === '200 served')) await new Promise((r) => setTimeout(r, 200));
    const answers = await inTurn(port, 20);
    assert.deepEqual(new Set(answers), new Set(['200 served']), answers.join(', '));
  });
});

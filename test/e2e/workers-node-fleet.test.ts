/**
 * A data plane of two workers, as deployed: `portcullis start` on a control
 * plane's file (asked for two workers: it runs one process and says so) and
 * on a data plane's with PORTCULLIS_WORKERS=2. The supervisor is the node's
 * one fleet client: a pushed version reaches every worker (40 requests on
 * new connections, which node:cluster spreads over both, all see it); a
 * version the node cannot run is refused and every worker keeps the running
 * one; the control plane sees one node, ready, in step, with the requests of
 * both workers summed. In EXCLUSIVE (test/all.test.ts, by its name
 * test/e2e/workers-node*): four processes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, startCli, type RunningCli } from '../helpers/cli.js';
import { adminClient, adminSection, TOKENS } from '../helpers/admin-api.js';
import { freePort } from '../helpers/redis.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

/** A process start (tsx, the X.509 library, two workers) on a loaded 2-core machine: generous, never a timing assertion. */
const STARTUP_MS = 120_000;

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`not within ${timeoutMs} ms: ${what}`);
}

/** The x-config header of one request on a connection of its own (node:cluster hands each new connection to the next worker). */
function configSeen(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/api/x', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(`${res.statusCode} ${String(res.headers['x-config'])}`));
    });
    req.on('error', (err) => resolve(`error ${err.message}`));
    req.setTimeout(20_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/** The data plane's own fleet view (its admin API) on a connection of its own: either worker may answer. */
function dpFleetView(adminPort: number): Promise<{ role: string; control_plane: string; version: { hash?: string } }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: adminPort, path: '/api/v1/fleet', agent: false, headers: { authorization: `Bearer ${TOKENS.viewer}` } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body) as { role: string; control_plane: string; version: { hash?: string } }) : reject(new Error(`${res.statusCode} ${body}`))));
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

async function fortyNewConnections(port: number): Promise<string[]> {
  const seen: string[] = [];
  for (let wave = 0; wave < 4; wave++) seen.push(...(await Promise.all(Array.from({ length: 10 }, () => configSeen(port)))));
  return seen;
}

const cpYaml = (upstream: string, version: string, extra = '') => `
${adminSection()}
listeners: [{ name: main, address: "127.0.0.1:0" }]
gateway: { limits: { max_event_loop_delay: 0s } }
services: [{ name: s, targets: [{ url: "${upstream}" }] }]
routes:
  - name: api
    service: s
    public: true
    match: { paths: [/api] }
    policies:
      - headers: { response: { set: { x-config: "${version}"${extra} } } }
fleet:
  role: control_plane
  address: "127.0.0.1:0"
  state_dir: cp-state
  ca: { cert: ca/ca.crt, key: ca/ca.key }
`;

const dpYaml = (cpUrl: string, port: number, adminPort: number) => `
listeners: [{ name: main, address: "127.0.0.1:${port}" }]
${adminSection().replace('127.0.0.1:0', `127.0.0.1:${adminPort}`)}
fleet:
  role: data_plane
  name: edge-1
  control_plane: "${cpUrl}"
  ca: { cert: ca/ca.crt }
  state_dir: dp-state
  report_interval: 500ms
  enrolment_token: "\${env:ENROL_TOKEN}"
`;

function urlOf(output: string, pattern: RegExp): string {
  const all = [...output.matchAll(pattern)];
  assert.ok(all.length > 0, output);
  return all.at(-1)![1]!;
}

interface FleetView {
  version: { hash: string };
  nodes: Array<{ name: string; hash?: string; in_step: boolean; ready: boolean; requests?: Record<string, number>; refused: { hash: string; issues: number } | null }>;
}

describe('fleet: a data plane of two workers', () => {
  let dir: string;
  let upstream: TestUpstream;
  let cp: RunningCli;
  let dp: RunningCli;
  let cpFile: string;
  let port: number;
  let adminPort: number;
  let cpOrigin: string;
  let fleet: () => Promise<FleetView>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-fleet-workers-'));
    upstream = await startUpstream();
    assert.equal((await cli(['ca', 'init', '--dir', join(dir, 'ca'), '--name', 'fleet CA'])).code, 0);
    cpFile = join(dir, 'cp.yaml');
    writeFileSync(cpFile, cpYaml(upstream.url, 'one'));
    cp = startCli(['start', '-c', cpFile], { env: { ...process.env, PORTCULLIS_WORKERS: '2', ONLY_ON_CP: 'cp-only' } });
    const cpOut = await cp.waitFor(/control plane on (https:\/\/\S+)/, STARTUP_MS);
    const cpUrl = urlOf(cpOut, /control plane on (https:\/\/\S+) /g);
    const operator = adminClient(urlOf(cpOut, /admin listener on (http:\/\/\S+) /g), TOKENS.operator);
    fleet = async () => (await operator.call('GET', '/api/v1/fleet')).json<FleetView>();

    const token = await cli(['fleet', 'token', '-c', cpFile, '--ttl', '10m', '--name', 'edge-1']);
    assert.equal(token.code, 0, token.stderr);
    port = await freePort();
    adminPort = await freePort();
    cpOrigin = new URL(cpUrl).origin;
    writeFileSync(join(dir, 'dp.yaml'), dpYaml(cpUrl, port, adminPort));
    dp = startCli(['start', '-c', join(dir, 'dp.yaml')], { env: { ...process.env, PORTCULLIS_WORKERS: '2', ENROL_TOKEN: token.stdout.trim() } });
    await dp.waitFor('portcullis: 2 workers', STARTUP_MS);
  });
  after(async () => {
    for (const p of [dp, cp]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
    await upstream.close();
  });

  it('a control plane asked for two workers runs one process and says so', () => {
    assert.match(cp.output(), /a control plane runs one process: gateway\.workers is not applied/);
  });

  it('the first version reaches both workers; the control plane sees one node, ready and in step', async () => {
    await until('the data plane serves version one', async () => (await configSeen(port)) === '200 one');
    assert.deepEqual(new Set(await fortyNewConnections(port)), new Set(['200 one']));
    await until('the node reports in step and ready', async () => {
      const view = await fleet();
      return view.nodes.length === 1 && view.nodes[0]!.in_step && view.nodes[0]!.ready;
    });
    // One client per node: one enrolment with the single-use token, no refusal of a second one.
    assert.doesNotMatch(cp.output(), /enrolment refused/);
  });

  it('a pushed version reaches every worker: 40 new connections all see it', async () => {
    writeFileSync(cpFile, cpYaml(upstream.url, 'two'));
    const reloaded = await cli(['reload', '-c', cpFile]);
    assert.equal(reloaded.code, 0, reloaded.stderr);
    await until('one request sees version two', async () => (await configSeen(port)) === '200 two');
    // All or nothing across the workers: once one serves it, every one does.
    assert.deepEqual(new Set(await fortyNewConnections(port)), new Set(['200 two']));
    const hash = (await fleet()).version.hash;
    await until('the node reports the new version', async () => (await fleet()).nodes[0]?.hash === hash);
    // Every worker's admin API shows the data plane's control plane and the version the node runs.
    for (let i = 0; i < 6; i++) {
      const view = await dpFleetView(adminPort);
      assert.deepEqual([view.role, view.control_plane, view.version.hash], ['data_plane', cpOrigin, hash]);
    }
  });

  it('reports the requests of both workers summed', async () => {
    // 1 + 40 + 1 + 40 answered 200 so far (the polls before the version arrived aside); each worker took about half.
    await until('the report counts both workers\' requests', async () => ((await fleet()).nodes[0]?.requests?.['2xx'] ?? 0) >= 82);
  });

  it('a version the node cannot run is refused and every worker keeps the running one', async () => {
    // ${env:ONLY_ON_CP} is set on the control plane only: the data plane's supervisor refuses it before any worker swaps.
    writeFileSync(cpFile, cpYaml(upstream.url, 'three', ', x-secret: "${env:ONLY_ON_CP}"'));
    const reloaded = await cli(['reload', '-c', cpFile]);
    assert.equal(reloaded.code, 0, reloaded.stderr);
    await dp.waitFor(/refused a config version from the control plane/, 60_000);
    assert.deepEqual(new Set(await fortyNewConnections(port)), new Set(['200 two']));
    await until('the control plane sees the refusal', async () => {
      const node = (await fleet()).nodes[0];
      return (node?.refused ?? null) !== null && !node!.in_step && node!.ready;
    });
  });

  it('SIGTERM ends the data plane\'s workers and supervisor', async () => {
    dp.child.kill('SIGTERM');
    assert.equal(await dp.exited, 0);
  });
});

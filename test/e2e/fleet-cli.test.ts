/**
 * The fleet as deployed: `portcullis start` on a control plane's file and on
 * a data plane's, in their own processes, with the CA from `portcullis ca
 * init` and the token from `portcullis fleet token`. A key removed at the
 * control plane (file edit + `portcullis reload`) is refused at the data
 * plane; with the control plane gone, a data plane restarted serves its last
 * good version; `portcullis reload` on a data plane keeps the pushed config.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, startCli, type RunningCli } from '../helpers/cli.js';
import { send } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const ALICE = 'alice-key-0123456789abcdef';
const BOB = 'bob-key-0123456789abcdef01';
/** A process start (tsx, the X.509 library) on a loaded 2-core machine: generous, never a timing assertion. */
const STARTUP_MS = 90_000;

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`not within ${timeoutMs} ms: ${what}`);
}

const cpYaml = (upstream: string, alice: boolean) => `
listeners: [{ name: main, address: "127.0.0.1:0" }]
gateway: { limits: { max_event_loop_delay: 0s } }
services: [{ name: s, targets: [{ url: "${upstream}" }] }]
routes: [{ name: api, service: s, match: { paths: [/api] }, policies: [{ key-auth: {} }] }]
consumers:
${alice ? `  - { name: alice, credentials: { key-auth: [{ key: "${ALICE}" }] } }\n` : ''}  - { name: bob, credentials: { key-auth: [{ key: "${BOB}" }] } }
fleet:
  role: control_plane
  address: "127.0.0.1:0"
  state_dir: cp-state
  ca: { cert: ca/ca.crt, key: ca/ca.key }
`;

const dpYaml = (cpUrl: string) => `
listeners: [{ name: main, address: "127.0.0.1:0" }]
fleet:
  role: data_plane
  name: edge-1
  control_plane: "${cpUrl}"
  ca: { cert: ca/ca.crt }
  state_dir: dp-state
  enrolment_token: "\${env:ENROL_TOKEN}"
`;

function urlOf(output: string, pattern: RegExp): string {
  const all = [...output.matchAll(pattern)];
  assert.ok(all.length > 0, output);
  return all.at(-1)![1]!;
}

describe('fleet: control plane and data plane processes', () => {
  let dir: string;
  let upstream: TestUpstream;
  const running: RunningCli[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-fleet-cli-'));
    upstream = await startUpstream();
  });
  after(async () => {
    for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await upstream.close();
  });

  it('pushes a change from the control plane to a data plane, which survives the control plane\'s absence', async () => {
    assert.equal((await cli(['ca', 'init', '--dir', join(dir, 'ca'), '--name', 'fleet CA'])).code, 0);
    const cpFile = join(dir, 'cp.yaml');
    writeFileSync(cpFile, cpYaml(upstream.url, true));
    const cp = startCli(['start', '-c', cpFile]);
    running.push(cp);
    const cpUrl = urlOf(await cp.waitFor(/control plane on (https:\/\/\S+)/, STARTUP_MS), /control plane on (https:\/\/\S+) /g);

    const token = await cli(['fleet', 'token', '-c', cpFile, '--ttl', '10m', '--name', 'edge-1']);
    assert.equal(token.code, 0, token.stderr);
    assert.match(token.stdout, /^pcf_[0-9a-f]{16}_\S{43}\n$/);

    const dpFile = join(dir, 'dp.yaml');
    writeFileSync(dpFile, dpYaml(cpUrl));
    const env = { ...process.env, ENROL_TOKEN: token.stdout.trim() };
    let dp = startCli(['start', '-c', dpFile], { env });
    running.push(dp);
    let dpUrl = urlOf(await dp.waitFor(/listening on (http:\/\/\S+)/, STARTUP_MS), /listening on (http:\/\/\S+) /g);
    await until('the data plane serves alice', async () => (await send(dpUrl, '/api/x', { headers: { 'x-api-key': ALICE } })).status === 200);

    writeFileSync(cpFile, cpYaml(upstream.url, false));
    const reloaded = await cli(['reload', '-c', cpFile]);
    assert.equal(reloaded.code, 0, reloaded.stderr);
    await until('alice refused at the data plane', async () => (await send(dpUrl, '/api/x', { headers: { 'x-api-key': ALICE } })).status === 401);

    // SIGHUP on a data plane re-reads its local file and keeps the pushed config.
    const dpReload = await cli(['reload', '-c', dpFile]);
    assert.equal(dpReload.code, 0, dpReload.stderr);
    assert.equal((await send(dpUrl, '/api/x', { headers: { 'x-api-key': BOB } })).status, 200);

    cp.child.kill('SIGTERM');
    assert.equal(await cp.exited, 0);
    assert.equal((await send(dpUrl, '/api/x', { headers: { 'x-api-key': BOB } })).status, 200);

    dp.child.kill('SIGTERM');
    assert.equal(await dp.exited, 0);
    // Restarted without the control plane: its certificate and last good version are on disk (the used token is not read again).
    dp = startCli(['start', '-c', dpFile], { env });
    running.push(dp);
    dpUrl = urlOf(await dp.waitFor(/listening on (http:\/\/\S+)/, STARTUP_MS), /listening on (http:\/\/\S+) /g);
    assert.equal((await send(dpUrl, '/api/x', { headers: { 'x-api-key': BOB } })).status, 200);
    assert.equal((await send(dpUrl, '/api/x', { headers: { 'x-api-key': ALICE } })).status, 401);
    dp.child.kill('SIGTERM');
    assert.equal(await dp.exited, 0);
  });
});

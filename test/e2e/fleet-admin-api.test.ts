/**
 * Issue 17's fleet test through the admin API: one control plane (admin API
 * on, fleet listener on) and two data planes, in-process gateways on
 * loopback over real mutual-TLS sockets with certificates from a real CA.
 * An operator revokes a consumer's key with the API on the control plane;
 * both data planes are polled until they refuse it. The issue asks for
 * "within 1 s": the test polls with a generous bound (a loaded CI machine
 * must not flake it) and logs the figure it measured, which is what
 * docs/fleet.md and the notes quote. An admin's rollback through the API
 * restores the key on both; the fleet view lists both nodes in step, in the
 * API and on the dashboard (a real browser: playwright-core driving Debian's
 * chromium); a data plane refuses admin writes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { chromium } from 'playwright-core';
import { CertificateAuthority } from '../../src/ca/authority.js';
import { ControlPlane } from '../../src/cluster/fleet/control-plane.js';
import { DataPlane, type GatewayPlane } from '../../src/cluster/fleet/data-plane.js';
import { createToken } from '../../src/cluster/fleet/tokens.js';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { adminClient, adminSection, TOKENS, type AdminClient } from '../helpers/admin-api.js';

const ALICE = 'alice-key-0123456789abcdef';
const BOB = 'bob-key-0123456789abcdef01';
/** Far above the issue's 1 s: a bound for a loaded machine, not the figure tested. The figure is logged. */
const BOUND_MS = 5_000;

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`not within ${timeoutMs} ms: ${what}`);
}

class Quiet extends Writable {
  override _write(_chunk: Buffer, _enc: string, done: () => void): void {
    done();
  }
}

describe('fleet: a key revoked through the admin API on the control plane is refused on both data planes', () => {
  let dir: string;
  let upstream: TestUpstream;
  let cp: TestGateway;
  let plane: ControlPlane;
  let operator: AdminClient;
  let admin: AdminClient;
  const dps: GatewayPlane[] = [];

  const status = async (dp: GatewayPlane, key: string) => (await send(dp.gateway.url(), '/api/x', { headers: { 'x-api-key': key } })).status;

  /** Polls both data planes side by side until each answers `want`; returns the ms each took from `since`. */
  async function bothAnswer(key: string, want: number, since: number): Promise<number[]> {
    return Promise.all(
      dps.map(async (dp) => {
        const deadline = since + BOUND_MS;
        while (Date.now() < deadline) {
          if ((await status(dp, key)) === want) return Date.now() - since;
          await new Promise((r) => setTimeout(r, 5));
        }
        return assert.fail(`data plane did not answer ${want} within ${BOUND_MS} ms`);
      }),
    );
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-fleet-admin-'));
    upstream = await startUpstream();
    const created = await CertificateAuthority.create({ name: 'fleet admin test CA' });
    writeFileSync(join(dir, 'ca.crt'), created.authority.certPem);
    writeFileSync(join(dir, 'ca.key'), created.keyPem, { mode: 0o600 });
    cp = await startGateway(`
${adminSection()}
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: api, service: s, match: { paths: [/api] }, policies: [{ key-auth: {} }] }
consumers:
  - { name: alice, credentials: { key-auth: [{ id: alice-1, key: "${ALICE}" }] } }
  - { name: bob, credentials: { key-auth: [{ id: bob-1, key: "${BOB}" }] } }
fleet:
  role: control_plane
  address: "127.0.0.1:0"
  state_dir: ${join(dir, 'cp-state')}
  ca: { cert: ${join(dir, 'ca.crt')}, key: ${join(dir, 'ca.key')} }
`);
    plane = await ControlPlane.start(cp.gateway);
    operator = adminClient(cp.gateway.admin.url!, TOKENS.operator);
    admin = adminClient(cp.gateway.admin.url!, TOKENS.admin);
    for (const name of ['dp1', 'dp2']) {
      const { token } = createToken(join(dir, 'cp-state'), 600_000, name);
      const file = join(dir, `${name}.yaml`);
      writeFileSync(
        file,
        `
${adminSection()}
listeners: [{ name: main, address: "127.0.0.1:0" }]
fleet:
  role: data_plane
  name: ${name}
  control_plane: "${plane.url}"
  ca: { cert: ${join(dir, 'ca.crt')} }
  state_dir: ${join(dir, `${name}-state`)}
  report_interval: 200ms
  enrolment_token: "${token}"
`,
      );
      dps.push(await DataPlane.start({ configFile: file, logDestination: new Quiet(), env: { ...process.env } }));
    }
    for (const dp of dps) await until('the data plane serves alice', async () => (await status(dp, ALICE)) === 200);
  });

  after(async () => {
    for (const dp of dps) await dp.shutdown();
    await plane?.close();
    await cp?.close();
    await upstream?.close();
  });

  it('the fleet view of the control plane lists both data planes in step', async () => {
    await until('both report the version served', async () => {
      const fleet = (await operator.call('GET', '/api/v1/fleet')).json<{ nodes: { in_step: boolean; ready: boolean }[] }>();
      return fleet.nodes.filter((n) => n.in_step && n.ready).length === 2;
    });
    const fleet = (await operator.call('GET', '/api/v1/fleet')).json<{ role: string; version: { hash: string; revision: number }; nodes: { name: string; hash: string; software: string }[] }>();
    for (const n of fleet.nodes) assert.match(n.software, /^portcullis \d+\.\d+\.\d+\S* on node v\d+/);
    assert.equal(fleet.role, 'control_plane');
    assert.equal(fleet.version.hash, plane.current.hash);
    assert.deepEqual(
      fleet.nodes.map((n) => n.name),
      ['dp1', 'dp2'],
    );
    const onDp = (await adminClient(dps[0]!.gateway.admin.url!, TOKENS.viewer).call('GET', '/api/v1/fleet')).json<{ role: string; control_plane: string; version: { hash: string } }>();
    assert.equal(onDp.role, 'data_plane');
    assert.equal(onDp.control_plane, new URL(plane.url).origin);
    assert.equal(onDp.version.hash, plane.current.hash);
  });

  it('an operator revokes alice\'s key on the control plane; both data planes refuse it, bob still passes', async () => {
    const consumer = await operator.call('GET', '/api/v1/consumers/alice');
    assert.equal(consumer.status, 200);
    const revoked = await operator.call('DELETE', '/api/v1/consumers/alice/credentials/alice-1', { ifMatch: String(consumer.headers.etag) });
    assert.equal(revoked.status, 204, revoked.text);
    const answered = Date.now();
    const took = await bothAnswer(ALICE, 401, answered);
    // The issue's figure: how long after the API answered each data plane refused the key (bench-like, never asserted).
    console.log(`# fleet-admin-api: revoked key refused on dp1 after ${took[0]} ms, dp2 after ${took[1]} ms (bound ${BOUND_MS} ms)`);
    for (const dp of dps) assert.equal(await status(dp, BOB), 200);
  });

  it('a data plane refuses admin writes: its config is the control plane\'s', async () => {
    const onDp = adminClient(dps[0]!.gateway.admin.url!, TOKENS.admin);
    const consumer = await onDp.call('GET', '/api/v1/consumers/bob');
    assert.equal(consumer.status, 200);
    const refused = await onDp.call('DELETE', '/api/v1/consumers/bob/credentials/bob-1', { ifMatch: String(consumer.headers.etag) });
    assert.equal(refused.status, 409);
    assert.equal(refused.json().error, 'data_plane');
    assert.equal(await status(dps[0]!, BOB), 200);
  });

  it('an admin rolls back through the API; the key works again on both data planes', async () => {
    const versions = (await operator.call('GET', '/api/v1/config/versions')).json<{ items: { id: number; current: boolean }[] }>().items;
    const previous = versions.find((v) => !v.current)!;
    const config = await admin.call('GET', '/api/v1/config');
    const rolled = await admin.call('POST', `/api/v1/config/versions/${previous.id}/rollback`, { ifMatch: String(config.headers.etag) });
    assert.equal(rolled.status, 200, rolled.text);
    const took = await bothAnswer(ALICE, 200, Date.now());
    console.log(`# fleet-admin-api: rollback served on dp1 after ${took[0]} ms, dp2 after ${took[1]} ms`);
    await until('both in step again', () => dps.every((dp) => dp.running === plane.current.hash));
  });

  it('a write with a stale ETag on the control plane is refused (412) and changes nothing anywhere', async () => {
    const read = await operator.call('GET', '/api/v1/consumers/bob');
    const etag = String(read.headers.etag);
    // Another operator changes bob in between (a second key).
    const added = await admin.call('POST', '/api/v1/consumers/bob/credentials', { body: { method: 'key-auth', credential: { id: 'bob-2', key: 'bob-second-key-0123456789ab' } }, ifMatch: etag });
    assert.equal(added.status, 201, added.text);
    const stale = await operator.call('DELETE', '/api/v1/consumers/bob/credentials/bob-1', { ifMatch: etag });
    assert.equal(stale.status, 412, stale.text);
    await until('the second key reaches both data planes', async () => (await Promise.all(dps.map((dp) => status(dp, 'bob-second-key-0123456789ab')))).every((s) => s === 200));
    for (const dp of dps) assert.equal(await status(dp, BOB), 200, 'the stale revoke changed nothing');
  });

  it('the dashboard of the control plane shows both data planes with their config version, in step', async () => {
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${cp.gateway.admin.url!}/dashboard/`);
      await page.fill('#token', TOKENS.viewer);
      await page.click('#login-form button[type=submit]');
      const short = plane.current.hash.slice(0, 12);
      await page.waitForSelector(`#fleet-role:has-text("control plane serving config ${short}")`, { timeout: 10_000 });
      for (const name of ['dp1', 'dp2']) await page.waitForSelector(`#fleet tbody tr[data-node="${name}"]:has-text("${short}"):has-text("yes"):has-text("portcullis")`, { timeout: 10_000 });
    } finally {
      await browser.close();
    }
  });
});

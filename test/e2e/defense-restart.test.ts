/**
 * Automatic defense's actions survive a restart on the memory store too
 * (issue 18): with `defense.state_file`, the actions in force are written to
 * a file after every change and put back in the store at start, so a single
 * node keeps refusing a banned address after it restarts, and an action
 * lifted before the restart stays lifted. (On Redis the store keeps them:
 * test/e2e/defense-fleet.test.ts restarts a node there.)
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { adminSection, TOKENS } from '../helpers/admin-api.js';

const ACTIONS = '/api/v1/defense/actions';

const config = (upstream: string) => `
gateway: { access_log: false, trusted_proxies: [127.0.0.1/32] }
listeners: [{ name: main, address: "127.0.0.1:0" }]
${adminSection()}services: [{ name: api, targets: [{ url: "${upstream}" }] }]
routes: [{ name: api, service: api, public: true, match: { paths: [/] } }]
defense:
  state_file: defense-state.json
  detections: []
  playbooks: []
`;

describe('defense actions across a restart (memory store, state_file)', () => {
  let upstream: TestUpstream;
  let gw: TestGateway | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-defense-restart-'));
  const admin = (path: string, init: { method?: string; body?: unknown } = {}) =>
    send(gw!.gateway.admin.url!, path, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${TOKENS.operator}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  const from = (ip: string) => send(gw!.url, '/', { headers: { 'x-forwarded-for': ip } });

  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    await gw?.close();
    await upstream.close();
  });

  it('keeps a ban in force after the gateway restarts, and a lifted one lifted', async () => {
    gw = await startGateway(config(upstream.url), { dir });
    const banned = await admin(ACTIONS, { method: 'POST', body: { target: '198.51.100.7', duration: '1h', reason: 'restart test' } });
    assert.equal(banned.status, 201, banned.text);
    const lifted = await admin(ACTIONS, { method: 'POST', body: { target: '198.51.100.8', duration: '1h' } });
    assert.equal(lifted.status, 201, lifted.text);
    const liftedId = lifted.json<{ action: { id: string } }>().action.id;
    assert.equal((await admin(`${ACTIONS}/${liftedId}`, { method: 'DELETE' })).status, 200);
    assert.equal((await from('198.51.100.7')).status, 403);
    const file = join(dir, 'defense-state.json');
    assert.equal(statSync(file).mode & 0o777, 0o600, 'the state file is readable by the gateway user only');
    assert.deepEqual(
      (JSON.parse(readFileSync(file, 'utf8')) as { target: string }[]).map((a) => a.target),
      ['198.51.100.7'],
    );

    await gw.close();
    gw = await startGateway(config(upstream.url), { dir });
    assert.equal((await from('198.51.100.7')).status, 403, 'the ban is enforced by the restarted gateway');
    assert.equal((await from('198.51.100.8')).status, 200, 'the lifted ban stays lifted');
    assert.equal((await from('198.51.100.9')).status, 200);
    const listed = (await admin(ACTIONS)).json<{ actions: { target: string; reason: string }[] }>().actions;
    assert.deepEqual(
      listed.map((a) => [a.target, a.reason]),
      [['198.51.100.7', 'restart test']],
    );
    assert.ok(gw.logs.some((l) => l.msg === 'defense actions restored from the state file' && l.actions === 1));
  });
});

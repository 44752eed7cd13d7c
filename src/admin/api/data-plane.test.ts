/**
 * A data plane never accepts admin writes (issue 17): its config is what its
 * control plane pushes, so a change made on the node would be overwritten by
 * the next push and differ from every other node meanwhile. Reads still work
 * there. The gateway runs a data plane's config (fleet.role: data_plane)
 * without its control plane here: the refusal comes from the config alone.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from '../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../test/helpers/upstream.js';
import { adminClient, adminSection, TOKENS } from '../../../test/helpers/admin-api.js';
import { makePki } from '../../../test/helpers/tls.js';

describe('admin API on a data plane', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    const pki = await makePki('Fleet CA');
    gw = await startGateway(
      `${adminSection()}
fleet:
  role: data_plane
  control_plane: "https://127.0.0.1:9"
  ca: { cert: "${pki.caFile}" }
  state_dir: "${pki.dir}/state"
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: r, service: s, public: true, match: { paths: [/] } }]
`,
      { dir: pki.dir },
    );
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('answers reads and refuses every write with 409, changing nothing', async () => {
    const admin = adminClient(gw.gateway.admin.url!, TOKENS.admin);
    const list = await admin.call('GET', '/api/v1/consumers');
    assert.equal(list.status, 200);
    const versionBefore = gw.gateway.snapshot.version;
    const created = await admin.call('POST', '/api/v1/consumers', { body: { name: 'mallory' }, ifMatch: String(list.headers.etag) });
    assert.equal(created.status, 409, created.text);
    assert.equal(created.json<{ error: string }>().error, 'data_plane');
    const config = await admin.call('GET', '/api/v1/config');
    const applied = await admin.call('PUT', '/api/v1/config', { yaml: 'listeners: []\n', ifMatch: String(config.headers.etag) });
    assert.equal(applied.status, 409, applied.text);
    assert.equal(gw.gateway.snapshot.version, versionBefore, 'nothing was reloaded');
    const after = await admin.call('GET', '/api/v1/consumers');
    assert.equal(after.status, 200);
    assert.ok(!after.text.includes('mallory'), after.text);
  });
});

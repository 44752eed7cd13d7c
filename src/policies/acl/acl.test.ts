import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { send, startGateway, writeConfig, type TestGateway } from '../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../test/helpers/upstream.js';
import { cli } from '../../../test/helpers/cli.js';

describe('acl', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  const as = (key: string | undefined, path: string) => send(gw.url, path, { headers: key ? { 'x-api-key': key } : {} });

  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services:
  - { name: orders, targets: [{ url: "${upstream.url}" }] }
  - { name: admin, targets: [{ url: "${upstream.url}" }] }
routes:
  - { name: orders, service: orders, anonymous: guest, match: { paths: [/orders] }, policies: [{ key-auth: {} }, { acl: { allow: [partners, staff], deny: [suspended] } }] }
  - { name: admin, service: admin, match: { paths: [/admin] }, policies: [{ key-auth: {} }] }
  - { name: open, service: orders, public: true, match: { paths: [/open] }, policies: [{ acl: { allow: [staff] } }] }
global_policies:
  - acl: { services: [admin], allow: [admins] }
consumers:
  - { name: pat, groups: [partners], credentials: { key-auth: [{ key: pat-key-0123456789 }] } }
  - { name: sam, groups: [staff, suspended], credentials: { key-auth: [{ key: sam-key-0123456789 }] } }
  - { name: ada, groups: [staff, admins], credentials: { key-auth: [{ key: ada-key-0123456789 }] } }
  - { name: guest, groups: [public] }
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('lets a consumer of an allowed group through', async () => {
    const res = await as('pat-key-0123456789', '/orders');
    assert.equal(res.status, 200);
    assert.equal(res.json().headers['x-consumer-groups'], 'partners');
  });

  it('refuses a denied group with 403 even when another group is allowed, and records why', async () => {
    const res = await as('sam-key-0123456789', '/orders');
    assert.equal(res.status, 403);
    assert.equal(res.json().error.code, 'forbidden');
    const line = await gw.waitForLog((l) => l.type === 'access' && l.request_id === res.headers['x-request-id']);
    assert.deepEqual(line.events, ['blocked:authz.group_denied']);
    assert.equal(line.consumer, 'sam');
  });

  it('holds the anonymous consumer to the same groups: 403, not 401', async () => {
    const res = await as(undefined, '/orders');
    assert.equal(res.status, 403);
  });

  it('keeps a wrong key at 401 before any acl', async () => {
    assert.equal((await as('nope', '/orders')).status, 401);
  });

  it('applies a global acl to the routes of the services it names only', async () => {
    assert.equal((await as('pat-key-0123456789', '/admin')).status, 403);
    assert.equal((await as('ada-key-0123456789', '/admin')).status, 200);
    assert.equal((await as('ada-key-0123456789', '/orders')).status, 200);
  });

  it('refuses a caller without a consumer on a public route', async () => {
    assert.equal((await as(undefined, '/open')).status, 403);
  });

  it('refuses an acl with neither allow nor deny at load', async () => {
    const file = writeConfig(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes: [{ name: r, service: s, public: true, policies: [{ acl: {} }] }]
`);
    const res = await cli(['validate', file]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /gateway\.yaml:4: routes\[0\]\.policies\[0\]\.acl: give "allow", "deny" or both/);
  });
});

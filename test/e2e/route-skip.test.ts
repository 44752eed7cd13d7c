/**
 * Routes opting out of global policies (issue 13, item 3): the Kong layout —
 * authentication everywhere as a global policy, a few public routes — in one
 * config. A global key-auth with a public `= /status` used to answer 401 for
 * /status; `skip: [key-auth]` with `public: true` exempts it, and a skip that
 * would leave a route open without `public: true` is refused at load.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { InvalidConfigError } from '../../src/config/errors.js';

const head = (upstream: string) => `
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: app, targets: [{ url: "${upstream}" }] }]
consumers:
  - { name: alice, credentials: { key-auth: [{ key: "alice-key-0123456789abcdef" }] } }
global_policies:
  - key-auth: {}
  - rate-limit: { limit: 1000, window: 1m }
`;

async function refusal(yaml: string): Promise<InvalidConfigError> {
  let gw: TestGateway | undefined;
  try {
    gw = await startGateway(yaml);
  } catch (err) {
    assert.ok(err instanceof InvalidConfigError, String(err));
    return err;
  } finally {
    await gw?.close();
  }
  assert.fail('the gateway started');
}

describe('routes skipping global policies', () => {
  let upstream: TestUpstream | undefined;
  let gw: TestGateway | undefined;
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  it('serves public routes without credentials and keeps authentication everywhere else', async () => {
    upstream = await startUpstream();
    gw = await startGateway(`${head(upstream.url)}
routes:
  - { name: status, service: app, public: true, skip: [key-auth], match: { paths: ["= /status"] } }
  - { name: docs, service: app, public: true, skip: [key-auth, rate-limit], match: { paths: [/docs] } }
  - { name: api, service: app, match: { paths: [/] } }
`);
    assert.equal((await send(gw.url, '/status')).status, 200);
    const docs = await send(gw.url, '/docs/intro');
    assert.equal(docs.status, 200);
    assert.equal(docs.headers['ratelimit-policy'], undefined, 'rate-limit is skipped on docs');
    const status = await send(gw.url, '/status');
    assert.ok(status.headers['ratelimit-policy'] !== undefined, 'rate-limit still runs on status');
    assert.equal((await send(gw.url, '/status/more')).status, 401, 'the exact path only');
    assert.equal((await send(gw.url, '/orders')).status, 401);
    assert.equal((await send(gw.url, '/orders', { headers: { 'x-api-key': 'alice-key-0123456789abcdef' } })).status, 200);
  });

  it('refuses a skip that leaves a route with no authentication and no public: true', async () => {
    const err = await refusal(`${head(upstream!.url)}
routes:
  - { name: status, service: app, skip: [key-auth], match: { paths: ["= /status"] } }
`);
    assert.equal(err.issues.length, 1);
    assert.equal(err.issues[0]!.path, 'routes[0].skip');
    assert.match(err.issues[0]!.message, /route "status" skips key-auth, which leaves it with no authentication; mark it "public: true"/);
  });

  it('takes a skip of the global authentication when the route authenticates itself', async () => {
    await gw?.close();
    gw = await startGateway(`${head(upstream!.url)}
routes:
  - { name: partners, service: app, skip: [key-auth], match: { paths: [/partners] }, policies: [{ basic-auth: {} }] }
`);
    const res = await send(gw.url, '/partners/x', { headers: { 'x-api-key': 'alice-key-0123456789abcdef' } });
    assert.equal(res.status, 401, 'the global key is not accepted where key-auth is skipped');
  });

  it('refuses a name that is not a global policy, with a hint', async () => {
    const err = await refusal(`${head(upstream!.url)}
routes:
  - { name: status, service: app, public: true, skip: [key-aut], match: { paths: ["= /status"] } }
`);
    assert.equal(err.issues.length, 1);
    assert.equal(err.issues[0]!.path, 'routes[0].skip[0]');
    assert.match(err.issues[0]!.message, /"key-aut" is not a global policy; did you mean "key-auth"\?/);
  });

  it('warns about a public route that a global authentication still covers', async () => {
    await gw?.close();
    gw = await startGateway(`${head(upstream!.url)}
routes:
  - { name: status, service: app, public: true, match: { paths: ["= /status"] } }
`);
    assert.equal((await send(gw.url, '/status')).status, 401);
    const warning = gw.logs.find((l) => l.config_warning === true && /routes\[0\]/.test(String(l.path)));
    assert.ok(warning, 'a config warning for routes[0]');
    assert.match(warning.msg, /route "status" is public, but the global key-auth still authenticates it; add skip: \[key-auth\]/);
  });

  it('refuses a route skipping the global authentication that takes requests a protected route was written for', async () => {
    const err = await refusal(`${head(upstream!.url)}
routes:
  - { name: site, service: app, public: true, skip: [key-auth], match: { paths: [/] } }
  - { name: private, service: app, match: { paths: ["~ ^/v[0-9]+/private"] } }
`);
    assert.equal(err.issues.length, 1, JSON.stringify(err.issues));
    assert.match(err.issues[0]!.message, /route "private" is protected \(key-auth\), but the route "site" \(without key-auth/);
  });
});

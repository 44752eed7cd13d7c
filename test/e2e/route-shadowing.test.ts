/**
 * A protected regex route behind a public prefix route (issue 10, item 7):
 * prefix paths are tried before regular expressions, so a public `/` took
 * every request for `~ ^/v[0-9]+/private` and answered 200 without
 * authentication. Such a config is refused at load, naming both routes.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { InvalidConfigError } from '../../src/config/errors.js';

const config = (upstream: string, publicPath: string) => `
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: app, targets: [{ url: "${upstream}" }] }]
routes:
  - { name: site, service: app, public: true, match: { paths: [${publicPath}] } }
  - { name: private, service: app, match: { paths: ["~ ^/v[0-9]+/private"] }, policies: [{ key-auth: {} }] }
`;

describe('a protected regex route shadowed by a public prefix route', () => {
  let upstream: TestUpstream | undefined;
  let gw: TestGateway | undefined;
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  it('is refused at load, naming both routes and why', async () => {
    upstream = await startUpstream();
    const err = await startGateway(config(upstream.url, '/')).then(
      async (started) => {
        gw = started;
        const res = await send(started.url, '/v2/private/data');
        return new Error(`the gateway started and answered /v2/private/data with ${res.status}`);
      },
      (e: unknown) => e,
    );
    assert.ok(err instanceof InvalidConfigError, String(err));
    assert.equal(err.issues.length, 1);
    assert.equal(err.issues[0]!.path, 'routes[1].match.paths[0]');
    assert.match(err.issues[0]!.message, /route "private" is protected \(key-auth\), but the route "site" \(without key-auth, path "\/"\) takes requests/);
  });

  it('serves when the public route does not cover the protected paths, and authenticates them', async () => {
    gw = await startGateway(config(upstream!.url, '/docs'));
    assert.equal((await send(gw.url, '/v2/private/data')).status, 401);
    assert.equal((await send(gw.url, '/docs/intro')).status, 200);
  });
});

/**
 * A public HEAD-only route beside a protected GET route on one path (red-team
 * review of issue 10, F6): HEAD took the public route, and the upstream ran
 * its GET handler for it, unauthenticated. HEAD is GET without the body (RFC
 * 9110 §9.3.2): a route that takes HEAD without GET is refused at load.
 */
describe('a route that takes HEAD without GET', () => {
  let upstream: TestUpstream | undefined;
  let gw: TestGateway | undefined;
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });
  const config = (url: string, headMethods: string) => `
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: app, targets: [{ url: "${url}" }] }]
routes:
  - { name: report-head, service: app, public: true, match: { paths: [/report], methods: [${headMethods}] } }
  - { name: report, service: app, match: { paths: [/report], methods: [GET] }, policies: [{ key-auth: {} }] }
`;

  it('is refused at load, saying HEAD is answered by the GET route', async () => {
    upstream = await startUpstream();
    const err = await startGateway(config(upstream.url, 'OPTIONS, HEAD')).then(
      async (started) => {
        gw = started;
        const res = await send(started.url, '/report', { method: 'HEAD' });
        return new Error(`the gateway started and answered HEAD /report with ${res.status}`);
      },
      (e: unknown) => e,
    );
    assert.ok(err instanceof InvalidConfigError, String(err));
    assert.equal(err.issues.length, 1);
    assert.equal(err.issues[0]!.path, 'routes[0].match.methods[1]');
    assert.match(err.issues[0]!.message, /route "report-head" takes HEAD without GET: HEAD is answered by the route that takes GET on the same path/);
  });

  it('leaves HEAD to the protected GET route when the public route does not take it', async () => {
    gw = await startGateway(config(upstream!.url, 'OPTIONS'));
    assert.equal((await send(gw.url, '/report', { method: 'HEAD' })).status, 401);
    assert.equal((await send(gw.url, '/report', { method: 'OPTIONS' })).status, 200);
  });
});

/**
 * Protection is more than authentication (red-team review of issue 10, F9):
 * a regex route guarded by ip-restriction (so `public: true`) was silently
 * shadowed by a public `/`, and answered 200 from any address.
 */
describe('a regex route guarded by ip-restriction behind a public prefix route', () => {
  let upstream: TestUpstream | undefined;
  let gw: TestGateway | undefined;
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });
  const config = (url: string, sitePath: string) => `
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: app, targets: [{ url: "${url}" }] }]
routes:
  - { name: site, service: app, public: true, match: { paths: [${sitePath}] } }
  - name: internal
    service: app
    public: true
    match: { paths: ["~ ^/v[0-9]+/internal/"] }
    policies: [{ ip-restriction: { allow: [10.0.0.0/8] } }]
`;

  it('is refused at load, naming both routes', async () => {
    upstream = await startUpstream();
    const err = await startGateway(config(upstream.url, '/')).then(
      async (started) => {
        gw = started;
        const res = await send(started.url, '/v1/internal/flush');
        return new Error(`the gateway started and answered /v1/internal/flush with ${res.status}`);
      },
      (e: unknown) => e,
    );
    assert.ok(err instanceof InvalidConfigError, String(err));
    assert.equal(err.issues.length, 1);
    assert.equal(err.issues[0]!.path, 'routes[1].match.paths[0]');
    assert.match(err.issues[0]!.message, /route "internal" is protected \(ip-restriction\), but the route "site" \(without ip-restriction, path "\/"\) takes requests/);
  });

  it('serves when the public route does not cover it, and refuses an address off the allow list', async () => {
    gw = await startGateway(config(upstream!.url, '/docs'));
    assert.equal((await send(gw.url, '/v1/internal/flush')).status, 403);
    assert.equal((await send(gw.url, '/docs/intro')).status, 200);
  });
});

/**
 * The dashboard in a real browser (playwright-core driving Debian's
 * chromium: .ci/install installs it) against a real gateway: the page
 * renders under its CSP with no violation, live data appears (traffic of
 * the route, upstream health, a security event as it happens, the config
 * history with a diff, the defense actions in force, the fleet panel), a
 * viewer sees no button, an operator revokes a key from the page and the
 * proxy refuses it, and an operator lifts a ban from the page (a viewer has
 * no button to, and the API refuses a viewer's lift).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chromium, type Browser, type Page } from 'playwright-core';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { adminClient, adminSection, TOKENS } from '../helpers/admin-api.js';
import { makePki } from '../helpers/tls.js';

const KEY = 'dashboard-key-0123456789abcdef';
const BANNED = '203.0.113.7';

describe('admin dashboard in a browser', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let browser: Browser;
  const violations: string[] = [];

  before(async () => {
    upstream = await startUpstream();
    // A listener certificate that ends in 20 days: the certificates panel shows it as ending soon.
    const pki = await makePki('Dashboard CA');
    await pki.issue('server', { dns: ['dashboard.example'], ttlMs: 20 * 86_400_000 });
    gw = await startGateway(
      `
${adminSection()}
listeners:
  - { name: main, address: "127.0.0.1:0" }
  - { name: secure, address: "127.0.0.1:0", protocol: https, tls: { certificates: [{ cert: server.crt, key: server.key }] } }
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: r, service: s, match: { paths: [/] }, policies: [{ key-auth: {} }] }]
consumers:
  - { name: alice, credentials: { key-auth: [{ id: alice-key, key: "${KEY}" }] } }
telemetry: { metrics: { enabled: true, consumer_labels: { enabled: true } } }
defense: {}
`,
      { dir: pki.dir },
    );
    // A ban in force before any page opens: the viewer sees it without a button, the operator lifts it.
    const banned = await adminClient(gw.gateway.admin.url!, TOKENS.operator).call('POST', '/api/v1/defense/actions', { body: { target: BANNED, duration: '1h', reason: 'scanner seen in the dashboard test' } });
    assert.equal(banned.status, 201, banned.text);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
    await upstream?.close();
  });

  async function open(token: string): Promise<Page> {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    page.on('pageerror', (e) => violations.push(String(e)));
    const res = await page.goto(`${gw.gateway.admin.url!}/dashboard/`);
    const csp = res!.headers()['content-security-policy'] ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'), csp);
    await page.fill('#token', token);
    await page.click('#login-form button[type=submit]');
    return page;
  }

  it('a viewer sees traffic, upstreams, live events and history, and no button', async () => {
    const page = await open(TOKENS.viewer);
    await page.waitForSelector('#who:has-text("vic (viewer)")');
    await page.waitForSelector('#upstreams tbody tr:has-text("healthy")');
    await page.waitForSelector('#events-state:has-text("(live)")');
    // Traffic and a security event while the page watches.
    for (let i = 0; i < 3; i++) assert.equal((await send(gw.url, '/', { headers: { 'x-api-key': KEY } })).status, 200);
    assert.equal((await send(gw.url, '/', { headers: { 'x-api-key': 'a-wrong-key-0000000000000' } })).status, 401);
    await page.waitForSelector('#events tbody tr[data-type="auth.invalid_credentials"]', { timeout: 10_000 });
    await page.waitForSelector('#routes tbody tr:has-text("r")', { timeout: 10_000 });
    await page.waitForSelector('#top-consumers tbody tr:has-text("alice")', { timeout: 10_000 });
    await page.waitForSelector('#versions tbody tr:has-text("running")');
    await page.waitForSelector('#consumers tbody tr[data-consumer="alice"]');
    await page.waitForSelector(`#defense tbody tr[data-target="${BANNED}"]:has-text("admin olly")`);
    await page.waitForSelector('#fleet-role:has-text("standalone")');
    await page.waitForSelector('#certificates tbody tr:has-text("dashboard.example") td.soon');
    assert.equal(await page.locator('main button').count(), 0, 'a viewer sees no button: no Lift, no Revoke, no Roll back');
    const text = await page.locator('main').innerText();
    assert.ok(!text.includes(KEY), 'no secret on the page');
    await page.context().close();
  });

  it('an operator lifts a ban from the page; the viewer could not (no button, and the API says 403)', async () => {
    const viewerLift = await adminClient(gw.gateway.admin.url!, TOKENS.viewer).call('DELETE', `/api/v1/defense/actions?target=${BANNED}`);
    assert.equal(viewerLift.status, 403);
    const page = await open(TOKENS.operator);
    await page.waitForSelector('#who:has-text("olly (operator)")');
    const lift = page.locator(`#defense tbody tr[data-target="${BANNED}"] button`);
    await lift.click();
    await lift.click();
    await page.waitForSelector(`#defense tbody tr[data-target="${BANNED}"]`, { state: 'detached', timeout: 10_000 });
    assert.equal(await page.locator('#defense-error').innerText(), '');
    const left = await adminClient(gw.gateway.admin.url!, TOKENS.viewer).call('GET', '/api/v1/defense/actions');
    assert.deepEqual(left.json().actions, [], 'lifted on the gateway, not only on the page');
    await page.context().close();
  });

  it('an operator revokes a key from the page; the proxy refuses it; the history shows the change with its diff', async () => {
    const page = await open(TOKENS.operator);
    await page.waitForSelector('#who:has-text("olly (operator)")');
    const revoke = page.locator('#consumers tbody tr[data-consumer="alice"] button');
    await revoke.click();
    await revoke.click();
    await page.waitForSelector('#versions tbody tr:has-text("admin olly")', { timeout: 10_000 });
    assert.equal((await send(gw.url, '/', { headers: { 'x-api-key': KEY } })).status, 401);
    assert.equal(await page.locator('#versions tbody tr button').count(), 0, 'an operator cannot roll back the config: no button');
    await page.locator('#versions tbody tr:has-text("admin olly") a').click();
    await page.waitForSelector('#diff div.removed:has-text("consumers[name=alice].credentials")');
    await page.context().close();
  });

  it('an admin can roll back from the page; the key works again', async () => {
    const page = await open(TOKENS.admin);
    await page.waitForSelector('#who:has-text("alice (admin)")');
    const row = page.locator('#versions tbody tr').nth(1);
    await row.locator('button').click();
    await row.locator('button').click();
    await page.waitForSelector('#versions tbody tr:first-child:has-text("rollback")', { timeout: 10_000 });
    assert.equal((await send(gw.url, '/', { headers: { 'x-api-key': KEY } })).status, 200);
    await page.context().close();
  });

  it('saw no CSP violation and no script error', () => {
    assert.deepEqual(violations, []);
  });
});

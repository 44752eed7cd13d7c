/**
 * The dashboard on an admin listener with admin mTLS, in a real browser
 * (playwright-core driving Debian's chromium; playwright's
 * clientCertificates option presents the client certificate for the
 * browser's connections to the listener): no token is typed, the certificate
 * opens the page with its client's name and role; an operator's
 * certificate lifts a ban from the page, a viewer's sees no button; a
 * browser with no certificate gets the token form.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { httpsGet, makePki, type IssuedFiles, type Pki } from '../helpers/tls.js';
import { TOKENS, sha } from '../helpers/admin-api.js';

const BANNED = '198.51.100.23';

describe('admin dashboard over mTLS in a browser', () => {
  let pki: Pki;
  let gw: TestGateway;
  let base: string;
  let browser: Browser;
  const certs: Record<string, IssuedFiles> = {};
  const violations: string[] = [];

  before(async () => {
    pki = await makePki('Dashboard mTLS CA');
    certs.server = await pki.issue('server', { dns: ['localhost'], ips: ['127.0.0.1'], usage: 'server' });
    certs.olly = await pki.issue('olly', { commonName: 'olly', dns: ['olly.example'], usage: 'client' });
    certs.vic = await pki.issue('vic', { commonName: 'vic', dns: ['vic.example'], usage: 'client' });
    gw = await startGateway(
      `
admin:
  address: "127.0.0.1:0"
  tls: { cert: server.crt, key: server.key, client_ca: ${pki.caFile} }
  api:
    tokens: [{ name: tina, role: viewer, token_sha256: "${sha(TOKENS.viewer)}" }]
    clients:
      - { name: olly, role: operator, subject_cn: olly }
      - { name: vic, role: viewer, san: "DNS:vic.example" }
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes: [{ name: r, service: s, public: true, match: { paths: [/] } }]
defense: {}
`,
      { dir: pki.dir },
    );
    base = gw.gateway.admin.url!;
    const banned = await httpsGet(base, '/api/v1/defense/actions', {
      ca: pki.caPem,
      cert: certs.olly.certPem,
      key: certs.olly.keyPem,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ target: BANNED, duration: '1h', reason: 'seen scanning' }),
    });
    assert.equal(banned.status, 201, banned.text);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
  });

  /** A browser context holding `who`'s client certificate (none when undefined); the test CA is not in chromium's store. */
  async function context(who: string | undefined): Promise<BrowserContext> {
    const ctx = await browser.newContext({
      ignoreHTTPSErrors: true,
      ...(who ? { clientCertificates: [{ origin: new URL(base).origin, cert: Buffer.from(certs[who]!.certPem), key: Buffer.from(certs[who]!.keyPem) }] } : {}),
    });
    ctx.on('page', (page) => {
      page.on('console', (m) => {
        if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
      });
      page.on('pageerror', (e) => violations.push(String(e)));
    });
    return ctx;
  }

  it('a viewer\'s certificate opens the page without a token; the ban is listed, no button', async () => {
    const ctx = await context('vic');
    const page = await ctx.newPage();
    await page.goto(`${base}/dashboard/`);
    await page.waitForSelector('#who:has-text("vic (viewer) by client certificate")');
    await page.waitForSelector(`#defense tbody tr[data-target="${BANNED}"]`);
    assert.equal(await page.locator('#login').isHidden(), true);
    assert.equal(await page.locator('main button').count(), 0, 'a viewer sees no button');
    await ctx.close();
  });

  it('an operator\'s certificate lifts the ban from the page', async () => {
    const ctx = await context('olly');
    const page = await ctx.newPage();
    await page.goto(`${base}/dashboard/`);
    await page.waitForSelector('#who:has-text("olly (operator) by client certificate")');
    const lift = page.locator(`#defense tbody tr[data-target="${BANNED}"] button`);
    await lift.click();
    await lift.click();
    await page.waitForSelector(`#defense tbody tr[data-target="${BANNED}"]`, { state: 'detached', timeout: 10_000 });
    const left = await httpsGet(base, '/api/v1/defense/actions', { ca: pki.caPem, cert: certs.vic!.certPem, key: certs.vic!.keyPem });
    assert.deepEqual(left.json().actions, []);
    await ctx.close();
  });

  it('a browser without a certificate gets the token form, and a token opens the page', async () => {
    const ctx = await context(undefined);
    const page = await ctx.newPage();
    await page.goto(`${base}/dashboard/`);
    await page.waitForSelector('#login-form');
    assert.equal(await page.locator('#app').isHidden(), true);
    await page.fill('#token', TOKENS.viewer);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#who:has-text("tina (viewer)")');
    await ctx.close();
  });

  it('saw no CSP violation and no script error', () => {
    assert.deepEqual(violations, []);
  });
});

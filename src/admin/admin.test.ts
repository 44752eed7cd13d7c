/**
 * The admin listener as an operator meets it: the metrics token (401
 * without it or with a wrong one, digest only in memory), the warning that
 * `portcullis validate` prints for an open non-loopback /metrics, config
 * mistakes refused with file:line, metrics off, and the listener moved by a
 * reload.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { send, startGateway, writeConfig, type TestGateway } from '../../test/helpers/gateway.js';
import { cli } from '../../test/helpers/cli.js';
import { scrape } from '../../test/helpers/prometheus.js';
import { bearerMatches } from './auth.js';

const base = (admin: string, extra = '') => `
${admin}
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes: [{ name: r, service: s, public: true, match: { paths: [/] } }]
${extra}`;

const TOKEN = 'scrape-token-0123456789abcdef';
const digest = (t: string) => createHash('sha256').update(t).digest('hex');

describe('admin listener', () => {
  const running: TestGateway[] = [];
  after(async () => {
    for (const gw of running) await gw.close();
  });
  async function start(yaml: string, env?: NodeJS.ProcessEnv): Promise<TestGateway> {
    const gw = await startGateway(yaml, { env });
    running.push(gw);
    return gw;
  }

  it('requires the metrics token when one is configured: 401 without it or with a wrong one', async () => {
    const gw = await start(base('admin: { address: "127.0.0.1:0", metrics_token: "${env:SCRAPE_TOKEN}" }'), { ...process.env, SCRAPE_TOKEN: TOKEN });
    const admin = gw.gateway.admin.url!;
    const none = await scrape(admin);
    assert.equal(none.status, 401);
    assert.equal(none.text.includes('portcullis_'), false, 'nothing of the metrics without the token');
    const wrong = await scrape(admin, { authorization: `Bearer ${TOKEN.slice(0, -1)}x` });
    assert.equal(wrong.status, 401);
    const basic = await scrape(admin, { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` });
    assert.equal(basic.status, 401, 'only a bearer token');
    const right = await scrape(admin, { authorization: `Bearer ${TOKEN}` });
    assert.equal(right.status, 200);
    assert.ok(right.has('portcullis_config_version'));
    assert.equal((await send(admin, '/healthz')).status, 200, '/healthz needs no token (a liveness probe)');
    // The snapshot keeps the digest, never the token.
    assert.equal(gw.gateway.snapshot.config.admin?.metrics_token, undefined);
    assert.equal(gw.gateway.snapshot.config.admin?.metrics_token_sha256, digest(TOKEN));
    assert.ok(!JSON.stringify(gw.logs).includes(TOKEN), 'the token is in no log line');
  });

  it('accepts the token given as its SHA-256 (metrics_token_sha256)', async () => {
    const gw = await start(base(`admin: { address: "127.0.0.1:0", metrics_token_sha256: "${digest(TOKEN).toUpperCase()}" }`));
    const admin = gw.gateway.admin.url!;
    assert.equal((await scrape(admin)).status, 401);
    assert.equal((await scrape(admin, { authorization: `bearer ${TOKEN}` })).status, 200, 'the scheme is case-insensitive');
  });

  it('compares digests in constant time, whatever was presented', () => {
    const req = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;
    const d = digest(TOKEN);
    assert.equal(bearerMatches(req(`Bearer ${TOKEN}`), d), true);
    for (const bad of [undefined, '', 'Bearer', `Bearer ${TOKEN} extra`, `Bearer ${'x'.repeat(10_000)}`, `Token ${TOKEN}`]) {
      assert.equal(bearerMatches(req(bad), d), false, String(bad).slice(0, 40));
    }
    // An empty token must not match a digest of the empty string configured by mistake either.
    assert.equal(bearerMatches(req(undefined), digest('')), false);
  });

  it('warns at validate when /metrics is open on a non-loopback address, not on loopback or with a token', async () => {
    const open = writeConfig(base('admin: { address: "0.0.0.0:9901" }'));
    const r = await cli(['validate', open]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`${open}:2: admin.address: warning: the admin listener on 0\\.0\\.0\\.0:9901 is not on loopback and /metrics needs no token`));
    for (const fine of ['admin: { address: "127.0.0.1:9901" }', 'admin: { address: "[::1]:9901" }', `admin: { address: "0.0.0.0:9901", metrics_token_sha256: "${digest(TOKEN)}" }`]) {
      const quiet = await cli(['validate', '--strict', writeConfig(base(fine))]);
      assert.equal(quiet.code, 0, `${fine}: ${quiet.stderr}`);
    }
  });

  it('refuses metrics on without an admin listener, both token forms, an admin port a listener takes, and buckets out of order', async () => {
    const file = writeConfig(base(`admin: { address: "127.0.0.1:0", metrics_token: x, metrics_token_sha256: "${digest('x')}" }`, 'telemetry: { metrics: { latency_buckets: [0.1, 0.05] } }'));
    const r = await cli(['validate', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /:2: admin: give one of "metrics_token" or "metrics_token_sha256", not both/);
    assert.match(r.stderr, /:6: telemetry.metrics.latency_buckets\[1\]: bucket bounds must increase/);
    const clash = await cli(['validate', writeConfig(base('admin: { address: "0.0.0.0:8080" }').replace('127.0.0.1:0', '127.0.0.1:8080'))]);
    assert.equal(clash.code, 1);
    assert.match(clash.stderr, /:2: admin.address: 0\.0\.0\.0:8080 is the port of listener "main" \(127\.0\.0\.1:8080\): the admin listener needs a port of its own/);
    const noAdmin = await cli(['validate', writeConfig(base('', 'telemetry: { metrics: { enabled: true } }'))]);
    assert.equal(noAdmin.code, 1);
    assert.match(noAdmin.stderr, /telemetry.metrics.enabled: metrics are served on the admin listener: set admin.address/);
  });

  it('with metrics off, /metrics is 404 and the gateway holds no metrics', async () => {
    const gw = await start(base('admin: { address: "127.0.0.1:0" }', 'telemetry: { metrics: { enabled: false } }'));
    assert.equal(gw.gateway.telemetry.metrics, undefined);
    assert.equal((await scrape(gw.gateway.admin.url!)).status, 404);
    assert.equal((await send(gw.gateway.admin.url!, '/healthz')).status, 200);
    const plain = await start(base(''));
    assert.equal(plain.gateway.admin.url, undefined, 'no admin section: no admin listener');
    assert.equal(plain.gateway.telemetry.metrics, undefined);
  });

  it('a reload moves the admin listener, turns metrics on and off, and a taken address refuses the reload', async () => {
    const gw = await start(base('admin: { address: "127.0.0.1:0" }', 'telemetry: { metrics: { enabled: false } }'));
    const first = gw.gateway.admin.url!;
    const other = await start(base('admin: { address: "127.0.0.1:0" }'));
    const taken = new URL(other.gateway.admin.url!).host;
    const refused = await gw.reload(base(`admin: { address: "${taken}" }`));
    assert.equal(refused.ok, false);
    // Tried before anything is swapped (server/listen-check.ts): the issue points at admin.address.
    if (!refused.ok) assert.match(`${refused.issues[0]!.path}: ${refused.issues[0]!.message}`, /^admin\.address: the admin listener cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    assert.equal(gw.gateway.admin.url, first, 'the running admin listener stays');
    assert.equal((await send(first, '/healthz')).status, 200);

    const moved = await gw.reload(base('admin: { address: "127.0.0.2:0" }'));
    assert.equal(moved.ok, true);
    const second = gw.gateway.admin.url!;
    assert.notEqual(second, first);
    assert.equal((await scrape(second)).status, 200, 'metrics on by default once admin is set');
    await assert.rejects(send(first, '/healthz'), 'the old address is closed');

    assert.equal((await gw.reload(base(''))).ok, true);
    assert.equal(gw.gateway.admin.url, undefined);
    assert.equal(gw.gateway.telemetry.metrics, undefined);
  });
});

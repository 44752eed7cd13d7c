/**
 * Hot reload: a new config is compiled beside the running one and swapped in;
 * requests in flight finish on the snapshot they started with; a config that
 * does not validate is refused and the running one keeps serving.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { Pool } from 'undici';
import { send, startGateway, withoutLagShedding, type TestGateway } from '../helpers/gateway.js';
import { echo, startUpstream, type TestUpstream } from '../helpers/upstream.js';

const config = (upstream: string, extra: { route?: string; service?: string; routes?: string } = {}) => `
listeners: [{ name: main, address: "127.0.0.1:0" }]
services:
  - name: s
    targets: [{ url: "${upstream}" }]
    ${extra.service ?? ''}
routes:
  - { name: main, service: s, public: true, match: { paths: [/] } ${extra.route ?? ''} }
${extra.routes ?? ''}
`;

describe('reload', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream((req, res, seen) => setTimeout(() => echo(req, res, seen), 150));
    gw = await startGateway(config(upstream.url));
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('swaps configs while 1,000 requests are in flight, and none fails', async () => {
    const pool = new Pool(gw.url, { connections: 200, pipelining: 1 });
    try {
      const requests = Array.from({ length: 1000 }, (_, i) =>
        pool.request({ path: `/inflight/${i}`, method: 'GET' }).then(async (res) => {
          await res.body.dump();
          return res.statusCode;
        }),
      );
      // Two reloads during the flight: one changes routes, one changes the service (new pools).
      await new Promise((r) => setTimeout(r, 50));
      const first = await gw.reload(config(upstream.url, { routes: '  - { name: extra, service: s, public: true, match: { paths: [/extra] } }' }));
      assert.deepEqual(first, { ok: true, version: 2 });
      const second = await gw.reload(config(upstream.url, { service: 'max_connections: 64' }));
      assert.equal(second.ok, true);
      const statuses = await Promise.all(requests);
      const failed = statuses.filter((s) => s !== 200);
      assert.equal(failed.length, 0, `failed statuses: ${failed.slice(0, 10).join(',')}`);
    } finally {
      await pool.close();
    }
  });

  it('refuses an invalid config with every problem listed, and keeps serving the old one', async () => {
    const before = (await send(gw.url, '/still-here')).status;
    assert.equal(before, 200);
    const result = await gw.reload(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services:
  - { name: s, targets: [{ url: "not a url" }], balanse: random }
routes:
  - { name: main, service: s, match: { paths: [/] }, timeout: 5s }
`);
    assert.equal(result.ok, false);
    if (result.ok) return;
    const messages = result.issues.map((i) => `${i.line}: ${i.path}: ${i.message}`);
    assert.ok(messages.some((m) => m.includes('services[0].targets[0].url')), messages.join('\n'));
    assert.ok(messages.some((m) => m.includes('unknown key "balanse"; did you mean "balance"?')), messages.join('\n'));
    assert.ok(messages.some((m) => m.startsWith('6: routes[0].timeout')), messages.join('\n'));
    assert.equal((await send(gw.url, '/still-here')).status, 200, 'the old config keeps serving');
    const logged = await gw.waitForLog((l) => l.msg === 'reload refused: the running config keeps serving');
    assert.ok(Array.isArray(logged.issues));
  });

  it('reloads from a document handed in as text, not the file, and refuses a bad one by the name it was given', async () => {
    const text = withoutLagShedding(config(upstream.url, { routes: '  - { name: handed, service: s, public: true, match: { paths: [/handed] } }' }));
    const ok = await gw.gateway.reload({ kind: 'process' }, { file: 'pushed-version', text, baseDir: process.cwd() });
    assert.equal(ok.ok, true);
    assert.equal(gw.gateway.snapshot.routes.has('handed'), true, 'the handed-in document is the one running');
    assert.equal(gw.gateway.source.text, text, 'the gateway keeps the text it runs');
    const bad = await gw.gateway.reload({ kind: 'process' }, { file: 'pushed-version', text: 'routes: 7\n', baseDir: process.cwd() });
    assert.equal(bad.ok, false);
    if (bad.ok) return;
    assert.ok(bad.issues.every((i) => i.file === 'pushed-version'), JSON.stringify(bad.issues));
    assert.equal(gw.gateway.snapshot.routes.has('handed'), true, 'the refused document changed nothing');
    assert.equal(gw.gateway.source.text, text);
  });

  it('refuses a config that validates but cannot compile (closed route without authentication)', async () => {
    const result = await gw.reload(config(upstream.url, { routes: '  - { name: closed, service: s, match: { paths: [/closed] } }' }));
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.match(result.issues[0]!.message, /no authentication policy.*public: true/);
    assert.equal(result.issues[0]!.path, 'routes[1]');
    assert.equal((await send(gw.url, '/closed')).status, 200, 'old config: /closed still goes to the catch-all route');
  });

  it('reloads on its own when watching the file', async () => {
    const watched = await startGateway(config(upstream.url) + 'gateway: { watch: true }\n');
    try {
      assert.equal((await send(watched.url, '/watched')).json().url, '/watched');
      writeFileSync(watched.configFile, withoutLagShedding(config(upstream.url, { route: ', strip_prefix: true', routes: '' }).replace('paths: [/]', 'paths: [/watched]') + 'gateway: { watch: true }\n'));
      await watched.waitForLog((l) => l.msg === 'config reloaded', 5000);
      assert.equal((await send(watched.url, '/watched/x')).json().url, '/x');
    } finally {
      await watched.close();
    }
  });
});

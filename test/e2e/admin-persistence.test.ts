/**
 * The admin API's versions on disk (SQLite) and the rule between the file
 * and the API, on real gateways restarted over the same directory:
 * - file mode: API changes survive a restart while the file is unchanged;
 *   a file edited underneath refuses API writes (409) until it is reloaded,
 *   and then the file wins;
 * - api mode: a file edit changes only the admin section; the stored
 *   version runs after a restart;
 * - `portcullis config dump` then `apply` round-trips, secrets kept.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { adminClient, adminSection, TOKENS } from '../helpers/admin-api.js';
import { cli } from '../helpers/cli.js';

const KEY = 'persisted-key-0123456789abcdef';
const FILE_KEY = 'file-key-0123456789abcdef-000';

const config = (upstream: string, mode: 'file' | 'api', extraConsumer = '') => `
${adminSection(`    database: admin.db\n    source_of_truth: ${mode}\n`)}
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "${upstream}" }] }]
routes: [{ name: r, service: s, match: { paths: [/] }, policies: [{ key-auth: {} }] }]
consumers:
  - { name: filed, credentials: { key-auth: [{ id: f1, key: "${FILE_KEY}" }] } }
${extraConsumer}`;

async function addKey(gw: TestGateway, consumer: string, id: string, key: string): Promise<void> {
  const api = adminClient(gw.gateway.admin.url!, TOKENS.operator);
  const list = await api.call('GET', '/api/v1/consumers');
  const made = await api.call('POST', '/api/v1/consumers', { body: { name: consumer }, ifMatch: String(list.headers.etag) });
  assert.equal(made.status, 201, made.text);
  const cred = await api.call('POST', `/api/v1/consumers/${consumer}/credentials`, { body: { method: 'key-auth', credential: { id, key } }, ifMatch: String(made.headers.etag) });
  assert.equal(cred.status, 201, cred.text);
}

const status = async (gw: TestGateway, key: string) => (await send(gw.url, '/', { headers: { 'x-api-key': key } })).status;

describe('admin API: persistence and the source of truth', () => {
  let upstream: TestUpstream;
  const running: TestGateway[] = [];
  const start = async (yaml: string, dir: string) => {
    const gw = await startGateway(yaml, { dir });
    running.push(gw);
    return gw;
  };
  const stop = async (gw: TestGateway) => {
    running.splice(running.indexOf(gw), 1);
    await gw.close();
  };
  after(async () => {
    for (const gw of running) await gw.close();
    await upstream?.close();
  });

  it('file mode: API changes survive a restart; a file edited underneath refuses API writes, then wins once reloaded', async () => {
    upstream = await startUpstream();
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-admin-persist-'));
    let gw = await start(config(upstream.url, 'file'), dir);
    await addKey(gw, 'alice', 'a1', KEY);
    assert.equal(await status(gw, KEY), 200);
    await stop(gw);

    gw = await start(config(upstream.url, 'file'), dir);
    assert.equal(await status(gw, KEY), 200, 'the API change runs again after the restart');
    const versions = (await adminClient(gw.gateway.admin.url!, TOKENS.viewer).call('GET', '/api/v1/config/versions')).json<{ items: { kind: string; actor: string }[] }>().items;
    assert.deepEqual(versions.slice(0, 3).map((v) => v.actor), ['admin olly', 'admin olly', `start ${gw.configFile}`]);
    assert.equal(versions.length, 3, 'the restart on the same text adds no version');

    // The file is edited (a consumer added) but not reloaded yet: an API write would stack on a stale base.
    writeFileSync(gw.configFile, config(upstream.url, 'file', `  - { name: bob, credentials: { key-auth: [{ key: "bob-key-0123456789abcdefgh" }] } }`));
    const api = adminClient(gw.gateway.admin.url!, TOKENS.operator);
    const list = await api.call('GET', '/api/v1/consumers');
    const refused = await api.call('POST', '/api/v1/consumers', { body: { name: 'carol' }, ifMatch: String(list.headers.etag) });
    assert.equal(refused.status, 409);
    assert.equal(refused.json().error, 'file_changed');
    const reloaded = await gw.gateway.reload({ kind: 'signal', signal: 'SIGHUP' });
    assert.ok(reloaded.ok);
    assert.equal(await status(gw, 'bob-key-0123456789abcdefgh'), 200, 'the file wins');
    assert.equal(await status(gw, KEY), 401, 'the API change made on the old file is gone with it (it stays in the history)');
    await stop(gw);
  });

  it('api mode: a file edit changes only the admin section; the stored version runs after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-admin-persist-'));
    let gw = await start(config(upstream.url, 'api'), dir);
    await addKey(gw, 'alice', 'a1', KEY);
    // A file edit: the key of "filed" removed from the file, and a new viewer token.
    const edited = config(upstream.url, 'api').replace(`[{ id: f1, key: "${FILE_KEY}" }]`, '[]').replace('      - { name: vic,', '      - { name: val, role: viewer, token_sha256: "0000000000000000000000000000000000000000000000000000000000000000" }\n      - { name: vic,');
    writeFileSync(gw.configFile, edited);
    const reloaded = await gw.gateway.reload({ kind: 'signal', signal: 'SIGHUP' });
    assert.ok(reloaded.ok);
    assert.equal(await status(gw, FILE_KEY), 200, 'the file does not change what the API owns');
    assert.equal(await status(gw, KEY), 200);
    assert.ok(gw.gateway.snapshot.config.admin?.api?.tokens?.some((t) => t.name === 'val'), 'the admin section is the file\'s');
    await stop(gw);
    writeFileSync(join(dir, 'gateway.yaml'), edited);
    gw = await start(edited, dir);
    assert.equal(await status(gw, KEY), 200, 'the stored version runs after the restart');
    assert.equal(await status(gw, FILE_KEY), 200);
    await stop(gw);
  });

  it('the file watch follows the source of truth: api mode ignores all but the admin section, file mode lets the file win', async () => {
    for (const mode of ['api', 'file'] as const) {
      const dir = mkdtempSync(join(tmpdir(), 'portcullis-admin-persist-'));
      const yaml = `gateway: { watch: true }\n${config(upstream.url, mode)}`;
      const gw = await start(yaml, dir);
      await addKey(gw, 'alice', 'a1', KEY);
      const reloads = gw.logs.filter((l) => l.msg === 'config reloaded').length;
      const written = readFileSync(gw.configFile, 'utf8');
      assert.ok(written.includes(FILE_KEY));
      writeFileSync(gw.configFile, written.replace(FILE_KEY, 'another-file-key-0123456789abcdef'));
      await gw.waitForLog(() => gw.logs.filter((l) => l.msg === 'config reloaded').length > reloads, 10_000);
      if (mode === 'api') {
        assert.equal(await status(gw, FILE_KEY), 200, 'api mode: the file edit is not applied');
        assert.equal(await status(gw, KEY), 200);
      } else {
        assert.equal(await status(gw, FILE_KEY), 401, 'file mode: the file wins');
        assert.equal(await status(gw, KEY), 401, 'and the API change made on the old file goes with it');
      }
      await stop(gw);
    }
  });

  it('config dump then apply round-trips; an edited dump applies; secrets are kept and never printed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-admin-persist-'));
    const gw = await start(config(upstream.url, 'file'), dir);
    const env = { ...process.env, PORTCULLIS_ADMIN_TOKEN: TOKENS.admin };
    const admin = ['--admin', gw.gateway.admin.url!];
    const dump = await cli(['config', 'dump', ...admin], { env });
    assert.equal(dump.code, 0, dump.stderr);
    assert.ok(!dump.stdout.includes(FILE_KEY), 'no secret in the dump');
    assert.match(dump.stdout, /key: "?\[secret\]"?/);
    const file = join(dir, 'dumped.yaml');
    writeFileSync(file, dump.stdout);
    const same = await cli(['config', 'diff', file, ...admin], { env });
    assert.equal(same.stdout, 'no changes\n');
    const sameApply = await cli(['config', 'apply', file, ...admin], { env });
    assert.equal(sameApply.code, 0, sameApply.stderr);
    assert.equal(sameApply.stdout, 'no changes\n');

    writeFileSync(file, `${readFileSync(file, 'utf8')}`.replace('consumers:\n', `consumers:\n  - name: dora\n    credentials: { key-auth: [{ id: d1, key: "dora-key-0123456789abcdefgh" }] }\n`));
    const diff = await cli(['config', 'diff', file, ...admin], { env });
    assert.match(diff.stdout, /^\+ consumers\[name=dora\]: /m);
    assert.ok(!diff.stdout.includes('dora-key'), 'the diff masks the new secret too');
    const applied = await cli(['config', 'apply', file, ...admin], { env });
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /applied: version \d+/);
    assert.equal(await status(gw, 'dora-key-0123456789abcdefgh'), 200);
    assert.equal(await status(gw, FILE_KEY), 200, '"[secret]" kept the running key');

    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, readFileSync(file, 'utf8').replace('name: r\n', 'name: r\n    strip_prefix: maybe\n'));
    const refused = await cli(['config', 'apply', broken, ...admin], { env });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /routes\[0\]\.strip_prefix: /);
    const viewer = await cli(['config', 'apply', file, ...admin], { env: { ...env, PORTCULLIS_ADMIN_TOKEN: TOKENS.viewer } });
    assert.equal(viewer.code, 0, 'no changes left: nothing to refuse');
    const token = await cli(['admin-token', 'ci-bot', '--role', 'operator']);
    assert.equal(token.code, 0);
    assert.match(token.stdout, /^token: pca_[A-Za-z0-9_-]{43}\n/);
    assert.match(token.stdout, /- \{ name: ci-bot, role: operator, token_sha256: "[0-9a-f]{64}" \}/);
  });
});

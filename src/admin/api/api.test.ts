/**
 * The admin API against a real gateway and a real upstream: a consumer and
 * its key made through the API and honoured by the proxy at once, the key
 * revoked and refused, ETags (412 stale, 428 missing), roles (a viewer
 * cannot write), invalid documents refused with the file's `path: message`
 * and nothing changed, secrets never in answers, history, diff and rollback.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { send, startGateway, type TestGateway } from '../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../test/helpers/upstream.js';
import { adminClient, adminSection, sha, TOKENS, type AdminClient } from '../../../test/helpers/admin-api.js';

const AUDITOR = 'pca_auditor-token-for-tests-0123456789abcd';

const KEY = 'k-0123456789abcdef-alice-key';
const SECOND_KEY = 'k-fedcba9876543210-second-key';

describe('admin API', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let admin: AdminClient;
  let viewer: AdminClient;
  let operator: AdminClient;
  const answers: string[] = [];
  const events: { type: string; reason?: string; details?: Record<string, unknown> }[] = [];

  const dir = mkdtempSync(join(tmpdir(), 'portcullis-admin-api-'));
  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(`
${adminSection(`    roles:
      auditor: [{ resources: [config, state], verbs: [read] }]
`).replace('    tokens:\n', `    tokens:\n      - { name: audra, role: auditor, token_sha256: "${sha(AUDITOR)}" }\n`)}
telemetry:
  audit: { file: audit.jsonl, key: "\${env:AUDIT_KEY}" }
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: r
    service: s
    match: { paths: [/] }
    policies: [{ key-auth: {} }]
consumers:
  - name: existing
    credentials: { key-auth: [{ id: old, key: "${SECOND_KEY}" }] }
`, { dir, env: { ...process.env, AUDIT_KEY: 'an-hmac-key-for-the-admin-api-test-0123456789' } });
    gw.gateway.telemetry.events.subscribe((e) => events.push(e));
    const base = gw.gateway.admin.url!;
    const record = (c: AdminClient): AdminClient => ({
      async call(method, path, options) {
        const res = await c.call(method, path, options);
        answers.push(res.text);
        return res;
      },
    });
    admin = record(adminClient(base, TOKENS.admin));
    viewer = record(adminClient(base, TOKENS.viewer));
    operator = record(adminClient(base, TOKENS.operator));
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('refuses a call without a token (401) or with a wrong one', async () => {
    const base = gw.gateway.admin.url!;
    assert.equal((await send(base, '/api/v1/consumers')).status, 401);
    assert.equal((await adminClient(base, 'pca_wrong').call('GET', '/api/v1/consumers')).status, 401);
    const seen = events.filter((e) => e.type === 'admin.unauthorized');
    assert.deepEqual(seen.map((e) => e.reason), ['missing_token', 'invalid_token'], 'each refusal is a security event');
    assert.equal(seen[0]!.details?.path, '/api/v1/consumers');
    assert.ok(!JSON.stringify(seen).includes('pca_wrong'), 'the presented token is not in the event');
  });

  it('creates a consumer and its key; the proxy honours the key at once', async () => {
    assert.equal((await send(gw.url, '/x', { headers: { 'x-api-key': KEY } })).status, 401);
    const list = await operator.call('GET', '/api/v1/consumers');
    assert.equal(list.status, 200);
    const created = await operator.call('POST', '/api/v1/consumers', { body: { name: 'alice', groups: ['team-a'] }, ifMatch: String(list.headers.etag) });
    assert.equal(created.status, 201, created.text);
    const cred = await operator.call('POST', '/api/v1/consumers/alice/credentials', {
      body: { method: 'key-auth', credential: { id: 'alice-1', key: KEY } },
      ifMatch: String(created.headers.etag),
    });
    assert.equal(cred.status, 201, cred.text);
    assert.equal(cred.json().id, 'alice-1');
    assert.match(String(cred.json().fingerprint), /^hmac-sha256:/);
    const proxied = await send(gw.url, '/x', { headers: { 'x-api-key': KEY } });
    assert.equal(proxied.status, 200, 'the key works as soon as the API answered');
    const shown = await viewer.call('GET', '/api/v1/consumers/alice');
    assert.deepEqual(shown.json().credentials, [{ method: 'key-auth', id: 'alice-1', fingerprint: cred.json().fingerprint }]);
    assert.deepEqual(shown.json().groups, ['team-a']);
  });

  it('refuses a stale ETag with 412 and a missing one with 428, changing nothing', async () => {
    const first = await admin.call('GET', '/api/v1/consumers/alice');
    const etag = String(first.headers.etag);
    const put = await admin.call('PUT', '/api/v1/consumers/alice', { body: { groups: ['team-b'] }, ifMatch: etag });
    assert.equal(put.status, 200, put.text);
    const stale = await admin.call('PUT', '/api/v1/consumers/alice', { body: { groups: ['team-c'] }, ifMatch: etag });
    assert.equal(stale.status, 412);
    const missing = await admin.call('PUT', '/api/v1/consumers/alice', { body: { groups: ['team-c'] } });
    assert.equal(missing.status, 428);
    const now = await admin.call('GET', '/api/v1/consumers/alice');
    assert.deepEqual(now.json().groups, ['team-b']);
    assert.equal(now.json().credentials.length, 1, 'a replace keeps the credentials');
    assert.equal((await send(gw.url, '/x', { headers: { 'x-api-key': KEY } })).status, 200);
  });

  it('a viewer cannot write (403), an operator cannot change routes (403)', async () => {
    const list = await viewer.call('GET', '/api/v1/consumers');
    const tried = await viewer.call('POST', '/api/v1/consumers', { body: { name: 'mallory' }, ifMatch: String(list.headers.etag) });
    assert.equal(tried.status, 403);
    const route = await operator.call('GET', '/api/v1/routes/r');
    assert.equal(route.status, 200);
    const op = await operator.call('DELETE', '/api/v1/routes/r', { ifMatch: String(route.headers.etag) });
    assert.equal(op.status, 403);
    assert.equal((await viewer.call('GET', '/api/v1/consumers/mallory')).status, 404);
    const forbidden = events.filter((e) => e.type === 'admin.forbidden');
    assert.deepEqual(
      forbidden.map((e) => [e.details?.actor, e.details?.resource, e.details?.verb]),
      [
        ['vic', 'consumers', 'write'],
        ['olly', 'routes', 'write'],
      ],
    );
  });

  it('a custom role grants exactly its resources and verbs', async () => {
    const auditor = adminClient(gw.gateway.admin.url!, AUDITOR);
    assert.equal((await auditor.call('GET', '/api/v1/config/versions')).status, 200);
    assert.equal((await auditor.call('GET', '/api/v1/state')).status, 200);
    assert.equal((await auditor.call('GET', '/api/v1/consumers')).status, 403);
    const config = await auditor.call('GET', '/api/v1/config');
    assert.equal((await auditor.call('PUT', '/api/v1/config', { yaml: 'listeners: []', ifMatch: String(config.headers.etag) })).status, 403);
    assert.deepEqual((await auditor.call('GET', '/api/v1/me')).json().grants, { config: ['read'], state: ['read'] });
  });

  it('refuses an invalid body with 400 and the file\'s path: message; nothing changes', async () => {
    const before = gw.gateway.source.text;
    const version = gw.gateway.snapshot.version;
    const route = await admin.call('GET', '/api/v1/routes/r');
    const bad = await admin.call('PUT', '/api/v1/routes/r', { body: { ...route.json<Record<string, unknown>>(), service: 'nowhere', strip_prefix: 'yes' }, ifMatch: String(route.headers.etag) });
    assert.equal(bad.status, 400, bad.text);
    const errors = bad.json().errors as string[];
    assert.ok(errors.some((e) => /^routes\[0\]\.strip_prefix: /.test(e)), errors.join('\n'));
    assert.equal(gw.gateway.source.text, before);
    assert.equal(gw.gateway.snapshot.version, version);
    const badCred = await admin.call('POST', '/api/v1/consumers/alice/credentials', {
      body: { method: 'key-auth', credential: { key: KEY, unknown_field: 1 } },
      ifMatch: String((await admin.call('GET', '/api/v1/consumers/alice')).headers.etag),
    });
    assert.equal(badCred.status, 400);
    assert.ok((badCred.json().errors as string[]).some((e) => e.startsWith('consumers[1].credentials.key-auth[1]')), badCred.text);
    assert.equal(gw.gateway.source.text, before);
  });

  it('revokes a key: the proxy refuses it at once, the other keys still work', async () => {
    const consumer = await operator.call('GET', '/api/v1/consumers/alice');
    const revoked = await operator.call('DELETE', '/api/v1/consumers/alice/credentials/alice-1', { ifMatch: String(consumer.headers.etag) });
    assert.equal(revoked.status, 204, revoked.text);
    assert.equal((await send(gw.url, '/x', { headers: { 'x-api-key': KEY } })).status, 401);
    assert.equal((await send(gw.url, '/x', { headers: { 'x-api-key': SECOND_KEY } })).status, 200);
  });

  it('keeps a history with actors, diffs two versions and rolls back to one', async () => {
    const versions = await viewer.call('GET', '/api/v1/config/versions');
    const items = versions.json().items as { id: number; actor: string; kind: string; current: boolean }[];
    assert.ok(items.length >= 5, versions.text);
    assert.equal(items[0]!.actor, 'admin olly');
    assert.equal(items[0]!.current, true);
    assert.equal(items.at(-1)!.kind, 'file');
    // The version where the key was added, against the one before.
    const withKey = items.find((v, i) => i + 1 < items.length && v.actor === 'admin olly' && items[i + 1]!.actor === 'admin olly')!;
    const diff = await viewer.call('GET', `/api/v1/config/versions/${withKey.id}/diff`);
    assert.equal(diff.status, 200);
    const changes = diff.json().changes as { op: string; path: string; after?: unknown }[];
    assert.ok(changes.some((c) => c.path.startsWith('consumers[name=alice]') && JSON.stringify(c.after).includes('alice-1')), diff.text);
    assert.ok(!diff.text.includes(KEY));
    const config = await viewer.call('GET', '/api/v1/config');
    const rolled = await admin.call('POST', `/api/v1/config/versions/${withKey.id}/rollback`, { ifMatch: String(config.headers.etag) });
    assert.equal(rolled.status, 200, rolled.text);
    assert.equal((await send(gw.url, '/x', { headers: { 'x-api-key': KEY } })).status, 200, 'the key is back with the version that had it');
    const after = (await viewer.call('GET', '/api/v1/config/versions')).json().items as { kind: string; actor: string }[];
    assert.equal(after[0]!.kind, 'rollback');
    assert.equal(after[0]!.actor, 'admin alice');
  });

  it('shows the running state and the caller\'s grants', async () => {
    const state = await viewer.call('GET', '/api/v1/state');
    assert.equal(state.status, 200);
    assert.equal(state.json().services[0].name, 's');
    assert.equal(state.json().version, gw.gateway.snapshot.version);
    const me = await viewer.call('GET', '/api/v1/me');
    assert.deepEqual(me.json().grants.consumers, ['read']);
  });

  it('never answers with a secret', () => {
    for (const text of answers) {
      assert.ok(!text.includes(KEY), text);
      assert.ok(!text.includes(SECOND_KEY), text);
    }
  });

  it('writes each change to the audit trail with the token name as actor, refusals too, and no secret', () => {
    const text = readFileSync(join(dir, 'audit.jsonl'), 'utf8');
    const records = text.trim().split('\n').map((l) => JSON.parse(l) as { action?: string; actor?: { kind: string; name?: string; address?: string } });
    const byAdmin = records.filter((r) => r.actor?.kind === 'admin');
    assert.ok(byAdmin.some((r) => r.action === 'config.reload' && r.actor?.name === 'olly'));
    assert.ok(byAdmin.some((r) => r.action === 'config.refused' && r.actor?.name === 'alice'));
    assert.ok(byAdmin.every((r) => r.actor?.address === '127.0.0.1'));
    assert.ok(!text.includes(KEY) && !text.includes(SECOND_KEY));
  });
});

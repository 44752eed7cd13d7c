import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { send, startGateway, writeConfig, type TestGateway } from '../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../test/helpers/upstream.js';
import { cli } from '../../../test/helpers/cli.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('key-auth', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: api, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: header, service: api, match: { paths: [/h] }, policies: [{ key-auth: { header: X-Key } }] }
  - { name: query, service: api, match: { paths: [/q] }, policies: [{ key-auth: { query: api_key } }] }
  - { name: kept, service: api, match: { paths: [/kept] }, policies: [{ key-auth: { query: api_key, keep_credential: true } }] }
consumers:
  - name: alice
    groups: [partners]
    credentials: { key-auth: [{ id: alice-2026, key: "alice key/with+symbols" }] }
  - name: bob
    credentials: { key-auth: [{ key_sha256: "${sha256('bob-key-0123456789').toUpperCase()}" }] }
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  const seenFor = (res: { headers: Record<string, unknown> }) => upstream.seen.find((s) => s.headers['x-request-id'] === res.headers['x-request-id']);

  it('takes the key from the configured header, tells the upstream who called, and removes the key', async () => {
    const res = await send(gw.url, '/h/1', { headers: { 'x-key': 'alice key/with+symbols' } });
    assert.equal(res.status, 200);
    const seen = res.json();
    assert.equal(seen.headers['x-consumer-name'], 'alice');
    assert.equal(seen.headers['x-consumer-groups'], 'partners');
    assert.equal(seen.headers['x-credential-id'], 'alice-2026');
    assert.equal(seen.headers['x-key'], undefined);
  });

  it('matches a key configured only as its SHA-256 digest (hex in any case), with a default credential id', async () => {
    const res = await send(gw.url, '/h', { headers: { 'x-key': 'bob-key-0123456789' } });
    assert.equal(res.status, 200);
    assert.equal(res.json().headers['x-consumer-name'], 'bob');
    assert.equal(res.json().headers['x-credential-id'], 'bob/key-auth/0');
  });

  it('does not read the query string unless told to', async () => {
    const res = await send(gw.url, '/h?x-key=bob-key-0123456789&api_key=bob-key-0123456789');
    assert.equal(res.status, 401);
  });

  it('takes a percent-encoded key from the query parameter and removes only that parameter upstream', async () => {
    const res = await send(gw.url, `/q/list?page=2&api_key=${encodeURIComponent('alice key/with+symbols')}&sort=asc`);
    assert.equal(res.status, 200);
    const seen = res.json();
    assert.equal(seen.headers['x-consumer-name'], 'alice');
    assert.equal(seen.url, '/q/list?page=2&sort=asc');
  });

  it('prefers the header when both are sent, and then leaves the query alone', async () => {
    const res = await send(gw.url, '/q?api_key=unrelated', { headers: { 'x-api-key': 'bob-key-0123456789' } });
    assert.equal(res.status, 200);
    assert.equal(res.json().headers['x-consumer-name'], 'bob');
    assert.equal(res.json().headers['x-api-key'], undefined);
  });

  it('forwards the key when keep_credential is set', async () => {
    const res = await send(gw.url, '/kept?api_key=bob-key-0123456789');
    assert.equal(res.status, 200);
    assert.equal(res.json().url, '/kept?api_key=bob-key-0123456789');
  });

  it('answers missing, empty, wrong, near-miss and wrongly-placed keys alike, forwarding nothing', async () => {
    const before = upstream.seen.length;
    const attempts = [
      await send(gw.url, '/h'),
      await send(gw.url, '/h', { headers: { 'x-key': '' } }),
      await send(gw.url, '/h', { headers: { 'x-key': 'bob-key-012345678' } }),
      await send(gw.url, '/h', { headers: { 'x-key': sha256('bob-key-0123456789') } }),
      await send(gw.url, '/h', { headers: { 'x-api-key': 'bob-key-0123456789' } }),
      await send(gw.url, '/q?api_key=%zz'),
      await send(gw.url, '/q?api_key='),
    ];
    for (const res of attempts) {
      assert.equal(res.status, 401);
      assert.equal(res.headers['www-authenticate'], 'Key realm="portcullis"');
      const { error } = res.json();
      assert.deepEqual({ ...error, request_id: undefined }, { status: 401, code: 'unauthorized', message: 'Authentication is required.', request_id: undefined });
    }
    assert.equal(upstream.seen.length, before, 'the upstream saw none of them');
    assert.equal(seenFor(attempts[0]!), undefined);
  });

  it('records missing and wrong keys as security events, never the key itself', async () => {
    const none = await send(gw.url, '/h');
    const wrong = await send(gw.url, '/h', { headers: { 'x-key': 'guessed-key-value-42' } });
    const lineOf = (res: { headers: Record<string, unknown> }) => gw.waitForLog((l) => l.type === 'access' && l.request_id === res.headers['x-request-id']);
    assert.deepEqual((await lineOf(none)).events, ['blocked:auth.missing_credentials']);
    assert.deepEqual((await lineOf(wrong)).events, ['blocked:auth.invalid_credentials']);
    const logs = JSON.stringify(gw.logs);
    assert.ok(!logs.includes('guessed-key-value-42'));
    assert.ok(!logs.includes('alice key/with+symbols'));
  });

  it('keeps no key in the running config: only digests serve the lookup', () => {
    const running = JSON.stringify(gw.gateway.snapshot.config);
    assert.ok(running.includes('"alice"'), 'the consumers are there');
    assert.ok(!running.includes('alice key/with+symbols'));
    assert.ok(!running.includes(sha256('bob-key-0123456789').toUpperCase()));
  });

  it('refuses at load a credential with both or neither of key and key_sha256, and a key two consumers hold', async () => {
    const file = writeConfig(`listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: api, targets: [{ url: "http://127.0.0.1:9" }] }]
routes: [{ name: r, service: api, policies: [{ key-auth: {} }] }]
consumers:
  - { name: a, credentials: { key-auth: [{ key: k1-0123456789, key_sha256: "${sha256('x')}" }] } }
  - { name: b, credentials: { key-auth: [{ id: only-an-id }] } }
  - { name: c, credentials: { key-auth: [{ key: shared-0123456789 }] } }
  - { name: d, credentials: { key-auth: [{ key_sha256: "${sha256('shared-0123456789')}" }] } }
`);
    const result = await cli(['validate', file]);
    assert.equal(result.code, 1);
    const lines = result.stderr.trim().split('\n');
    assert.ok(lines.includes(`${file}:5: consumers[0].credentials.key-auth[0]: a key-auth credential needs exactly one of "key" or "key_sha256"`), result.stderr);
    assert.ok(lines.includes(`${file}:6: consumers[1].credentials.key-auth[0]: a key-auth credential needs exactly one of "key" or "key_sha256"`), result.stderr);
    assert.ok(lines.includes(`${file}:8: consumers[3].credentials.key-auth[0]: this key is also held by consumer "c"; keys must be unique`), result.stderr);
    assert.doesNotMatch(result.stderr, /shared-0123456789|k1-0123456789/, 'no key in the errors');
  });
});

/**
 * Red team (issue 12): what the audit trail's diff shows of secrets the
 * schema does not mark with x-secret. A URL's userinfo (a password in
 * store.url, telemetry.tracing.endpoint, an ldap url, an introspection
 * endpoint) and a key's unsalted SHA-256 (key-auth key_sha256,
 * admin.metrics_token_sha256, which lets anyone holding the trail or its SIEM
 * copy test guesses of the key offline) must show as "[secret]", in the file
 * and on the event stream.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import type { TelemetryEvent } from '../../src/telemetry/event.js';

const URL_PASSWORD = 'collector-password-5f3a9';
const API_KEY_DIGEST = createHash('sha256').update('weak-key').digest('hex');
const SCRAPE_DIGEST = createHash('sha256').update('scrape').digest('hex');

const config = (endpoint: string, digest: string, scrape: string) => `
listeners: [{ name: main, address: "127.0.0.1:0" }]
admin: { address: "127.0.0.1:0", metrics_token_sha256: "${scrape}" }
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes:
  - name: api
    service: s
    match: { paths: [/] }
    policies: [{ key-auth: {} }]
consumers:
  - { name: alice, credentials: { key-auth: [{ id: k1, key_sha256: "${digest}" }] } }
telemetry:
  tracing: { enabled: false, endpoint: "${endpoint}" }
  audit: { file: trail.jsonl, key: "\${file:audit.key}" }
`;

describe('red: audit diff and secrets the schema does not mark', () => {
  let gw: TestGateway | undefined;
  after(async () => gw?.close());

  it('masks URL credentials and key digests in the audit file and its events', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-red-audit-'));
    writeFileSync(join(dir, 'audit.key'), 'k'.repeat(40));
    gw = await startGateway(config('http://otel:old-pass@127.0.0.1:9/v1/traces', createHash('sha256').update('a').digest('hex'), createHash('sha256').update('b').digest('hex')), { dir });
    const events: TelemetryEvent[] = [];
    gw.gateway.telemetry.events.subscribe((e) => events.push(e));
    const result = await gw.reload(config(`http://otel:${URL_PASSWORD}@127.0.0.1:9/v1/traces`, API_KEY_DIGEST, SCRAPE_DIGEST));
    assert.equal(result.ok, true);
    const text = readFileSync(join(dir, 'trail.jsonl'), 'utf8');
    const reload = JSON.parse(text.trim().split('\n').at(-1)!) as { changes: Array<{ path: string; after: unknown }> };
    const paths = reload.changes.map((c) => c.path);
    // The changes are still recorded, as changed secrets are.
    assert.ok(paths.includes('telemetry.tracing.endpoint'), paths.join(', '));
    assert.ok(paths.includes('consumers[name=alice].credentials.key-auth[0].key_sha256'), paths.join(', '));
    assert.ok(paths.includes('admin.metrics_token_sha256'), paths.join(', '));
    const streamed = JSON.stringify(events);
    for (const secret of [URL_PASSWORD, API_KEY_DIGEST, SCRAPE_DIGEST]) {
      assert.ok(!text.includes(secret), `${secret} in the audit file: ${JSON.stringify(reload.changes)}`);
      assert.ok(!streamed.includes(secret), `${secret} on the event stream`);
    }
  });
});

describe('red: private key material pasted where a public key goes', () => {
  let gw: TestGateway | undefined;
  after(async () => gw?.close());

  it('a jwt issuer key given as a private PEM or a private JWK works, and the audit trail does not show the private key', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = ec.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const jwk = ec.privateKey.export({ format: 'jwk' });
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-red-audit-keys-'));
    writeFileSync(join(dir, 'audit.key'), 'k'.repeat(40));
    writeFileSync(join(dir, 'issuer.pem'), pem);
    writeFileSync(join(dir, 'issuer.pub'), ec.publicKey.export({ format: 'pem', type: 'spki' }).toString());
    const yaml = (keys: string) => `
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes:
  - name: api
    service: s
    match: { paths: [/] }
    policies:
      - jwt: { issuers: [{ issuer: "https://idp.example", algorithms: [ES256], keys: ${keys} }] }
telemetry:
  audit: { file: trail.jsonl, key: "\${file:audit.key}" }
`;
    gw = await startGateway(yaml('[{ kid: a, pem: "${file:issuer.pub}" }]'), { dir });
    const reload = await gw.reload(yaml(`[{ kid: a, pem: "\${file:issuer.pem}" }, { kid: b, jwk: ${JSON.stringify(jwk)} }]`));
    assert.equal(reload.ok, true);
    const text = readFileSync(join(dir, 'trail.jsonl'), 'utf8');
    const body = pem.split('\n').slice(1, 3).join('');
    const change = JSON.parse(text.trim().split('\n').at(-1)!) as { changes: Array<{ path: string }> };
    assert.deepEqual(
      change.changes.map((c) => c.path),
      ['routes[name=api].policies[0].jwt.issuers[0].keys[0].pem', 'routes[name=api].policies[0].jwt.issuers[0].keys[1]'],
    );
    assert.ok(!text.includes(body.slice(0, 40)), `the private PEM is not in the trail: ${text.split('\n')[1]}`);
    assert.ok(!text.includes(jwk.d!), `the JWK's private "d" is not in the trail: ${text.split('\n')[1]}`);
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import { send, startGateway, writeConfig, type TestGateway } from '../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../test/helpers/upstream.js';
import { cli } from '../../../test/helpers/cli.js';
import { hashPassword } from '../../identity/passwords.js';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

describe('basic-auth', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let cliHash: string;

  before(async () => {
    upstream = await startUpstream();
    const hashed = await cli(['hash-password'], { input: 'from-the-cli\n' });
    assert.equal(hashed.code, 0, hashed.stderr);
    cliHash = hashed.stdout.trim();
    const aliceHash = await hashPassword('correct horse battery staple');
    // The password holds "ü" and "ß"; the client below sends "ü" decomposed (u + U+0308).
    const jurgenHash = await hashPassword('grüße-123');
    const imported = await bcrypt.hash('imported-secret', 4);
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: app, service: echo, match: { paths: [/app] }, policies: [{ basic-auth: {} }] }
  - { name: keep, service: echo, match: { paths: [/keep] }, policies: [{ basic-auth: { keep_credential: true, realm: internal } }] }
consumers:
  - name: alice
    groups: [staff]
    credentials: { basic-auth: [{ id: alice-pw, username: alice, password_hash: "${aliceHash}" }] }
  - { name: jurgen, credentials: { basic-auth: [{ username: "jürgen", password_hash: "${jurgenHash}" }] } }
  - { name: legacy, credentials: { basic-auth: [{ username: legacy, password_hash: "${imported}" }] } }
  - { name: cli, credentials: { basic-auth: [{ username: cli, password_hash: "${cliHash}" }] } }
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('prints scrypt hashes in the documented format from the CLI', () => {
    assert.match(cliHash, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  });

  it('accepts a right password, tells the upstream who called, and removes the credentials', async () => {
    const res = await send(gw.url, '/app/x', { headers: { authorization: basic('alice', 'correct horse battery staple'), 'x-consumer-groups': 'admins' } });
    assert.equal(res.status, 200);
    const seen = res.json();
    assert.equal(seen.headers['x-consumer-name'], 'alice');
    assert.equal(seen.headers['x-consumer-groups'], 'staff');
    assert.equal(seen.headers['x-credential-id'], 'alice-pw');
    assert.equal(seen.headers.authorization, undefined);
  });

  it('accepts hashes made by the CLI and imported bcrypt hashes', async () => {
    assert.equal((await send(gw.url, '/app', { headers: { authorization: basic('cli', 'from-the-cli') } })).status, 200);
    const res = await send(gw.url, '/app', { headers: { authorization: basic('legacy', 'imported-secret') } });
    assert.equal(res.status, 200);
    assert.equal(res.json().headers['x-consumer-name'], 'legacy');
  });

  it('reads UTF-8 and compares in Unicode normal form C', async () => {
    const decomposed = 'gru\u0308ße-123';
    const res = await send(gw.url, '/app', { headers: { authorization: basic('ju\u0308rgen', decomposed) } });
    assert.equal(res.status, 200);
    assert.equal(res.json().headers['x-consumer-name'], 'jurgen');
  });

  it('answers missing, malformed, wrong and unknown credentials alike, forwarding nothing', async () => {
    const before = upstream.seen.length;
    const cases = [
      undefined,
      'Basic',
      'Basic !!!notbase64',
      `Basic ${Buffer.from('no-colon').toString('base64')}`,
      `Basic ${Buffer.from([0x61, 0x3a, 0xff, 0xfe]).toString('base64')}`,
      basic('alice', 'wrong'),
      basic('alice', ''),
      basic('mallory', 'correct horse battery staple'),
    ];
    for (const authorization of cases) {
      const res = await send(gw.url, '/app', { headers: authorization ? { authorization } : {} });
      assert.equal(res.status, 401, String(authorization));
      assert.equal(res.headers['www-authenticate'], 'Basic realm="portcullis", charset="UTF-8"');
      assert.equal(res.json().error.message, 'Authentication is required.');
    }
    assert.equal(upstream.seen.length, before);
  });

  it('records wrong passwords as security events', async () => {
    const res = await send(gw.url, '/app', { headers: { authorization: basic('alice', 'guess') } });
    const line = await gw.waitForLog((l) => l.type === 'access' && l.request_id === res.headers['x-request-id']);
    assert.deepEqual(line.events, ['blocked:auth.invalid_credentials']);
  });

  it('forwards the credentials when the policy keeps them, with its own realm', async () => {
    const res = await send(gw.url, '/keep', { headers: { authorization: basic('alice', 'correct horse battery staple') } });
    assert.equal(res.json().headers.authorization, basic('alice', 'correct horse battery staple'));
    const refused = await send(gw.url, '/keep');
    assert.equal(refused.headers['www-authenticate'], 'Basic realm="internal", charset="UTF-8"');
  });

  it('refuses plain passwords in place of hashes at load, with line and path', async () => {
    const file = writeConfig(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "http://127.0.0.1:9" }] }]
routes: [{ name: app, service: echo, policies: [{ basic-auth: {} }] }]
consumers:
  - { name: c, credentials: { basic-auth: [{ username: c, password: "plain" }] } }
`);
    const res = await cli(['validate', file]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /gateway\.yaml:6: consumers\[0\]\.credentials\.basic-auth\[0\]\.password: unknown key "password"/);
  });

  it('refuses a hash in no known format without echoing it', async () => {
    const file = writeConfig(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "http://127.0.0.1:9" }] }]
routes: [{ name: app, service: echo, policies: [{ basic-auth: {} }] }]
consumers:
  - { name: a, credentials: { basic-auth: [{ username: a, password_hash: "hunter2" }] } }
`);
    const res = await cli(['validate', file]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /gateway\.yaml:6: consumers\[0\]\.credentials\.basic-auth\[0\]\.password_hash: expected "\$scrypt\$/);
    assert.ok(!res.stderr.includes('hunter2'), 'the bad hash is not echoed');
  });

  it('refuses a username held by two consumers', async () => {
    const file = writeConfig(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "http://127.0.0.1:9" }] }]
routes: [{ name: app, service: echo, policies: [{ basic-auth: {} }] }]
consumers:
  - { name: a, credentials: { basic-auth: [{ username: same, password_hash: "${cliHash}" }] } }
  - { name: b, credentials: { basic-auth: [{ username: same, password_hash: "${cliHash}" }] } }
`);
    const res = await cli(['validate', file]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /:7: consumers\[1\]\.credentials\.basic-auth\[0\]\.username: username "same" is also used by consumer "a"/);
  });
});

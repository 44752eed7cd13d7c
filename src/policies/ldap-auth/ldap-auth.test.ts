import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { send, startGateway, writeConfig, type TestGateway } from '../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../test/helpers/upstream.js';
import { cli } from '../../../test/helpers/cli.js';
import { BASE_DN, startDirectory, type TestDirectory } from '../../../test/helpers/slapd.js';

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

describe('ldap-auth against a real slapd', () => {
  let upstream: TestUpstream;
  let directory: TestDirectory;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    directory = await startDirectory();
    await directory.addUser('alice', 'alice-password', ['staff', 'admins']);
    await directory.addUser('bob', 'bob-password', ['staff']);
    await directory.addUser('carol', 'carol-password');
    await directory.addUser('pay$&roll', 'dollar-password');
    // A certificate the directory does not present, to show an untrusted directory is refused.
    const other = mkdtempSync(join(tmpdir(), 'portcullis-ca-'));
    await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-keyout', join(other, 'k'), '-out', join(other, 'c'), '-subj', '/CN=127.0.0.1']); // awaited: a synchronous keygen held the event loop of every test file beside this one
    const otherCa = readFileSync(join(other, 'c'), 'utf8');
    rmSync(other, { recursive: true });
    const ldap = (url: string, extra: string) =>
      `{ ldap-auth: { url: "${url}", tls: { ca: ${JSON.stringify(directory.ca)} }, bind_dn: "cn=gateway,${BASE_DN}", bind_password: gateway-bind-secret, base_dn: "ou=people,${BASE_DN}", group_attribute: memberOf${extra} } }`;
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: starttls, service: echo, match: { paths: [/starttls] }, policies: [${ldap(directory.ldapUrl, ', start_tls: true, cache: { ttl: 1m }')}] }
  - { name: ldaps, service: echo, match: { paths: [/ldaps] }, policies: [${ldap(directory.ldapsUrl, ', consumer: { mapping: { carol: payroll } }')}] }
  - { name: open, service: echo, anonymous: guest, match: { paths: [/open] }, policies: [${ldap(directory.ldapsUrl, ', fail: open')}] }
  - name: untrusted
    service: echo
    match: { paths: [/untrusted] }
    policies: [{ ldap-auth: { url: "${directory.ldapsUrl}", tls: { ca: ${JSON.stringify(otherCa)} }, bind_dn: "cn=gateway,${BASE_DN}", bind_password: x, base_dn: "${BASE_DN}" } }]
consumers:
  - { name: guest }
  - { name: payroll, groups: [finance] }
`);
  });
  after(async () => {
    await gw.close();
    await directory.close();
    await upstream.close();
  });

  it('binds over StartTLS, takes groups from memberOf, and removes the credentials', async () => {
    const res = await send(gw.url, '/starttls', { headers: { ...basic('alice', 'alice-password'), 'x-consumer-groups': 'root' } });
    assert.equal(res.status, 200);
    const seen = res.json();
    assert.equal(seen.headers['x-consumer-name'], 'alice');
    assert.equal(seen.headers['x-consumer-groups'], 'staff,admins');
    assert.equal(seen.headers['x-credential-id'], 'ldap:alice');
    assert.equal(seen.headers.authorization, undefined);
  });

  it('binds over ldaps:// and maps a user to a configured consumer', async () => {
    const res = await send(gw.url, '/ldaps', { headers: basic('carol', 'carol-password') });
    assert.equal(res.status, 200);
    assert.equal(res.json().headers['x-consumer-name'], 'payroll');
    assert.equal(res.json().headers['x-consumer-groups'], 'finance');
  });

  it('refuses wrong passwords, unknown users, empty passwords and filter injection alike', async () => {
    const before = upstream.seen.length;
    for (const [user, password] of [
      ['alice', 'wrong'],
      ['mallory', 'alice-password'],
      ['alice', ''],
      ['*', 'alice-password'],
      ['alice)(uid=*', 'alice-password'],
    ] as const) {
      const res = await send(gw.url, '/starttls', { headers: basic(user, password) });
      assert.equal(res.status, 401, `${user}:${password}`);
      assert.equal(res.headers['www-authenticate'], 'Basic realm="portcullis", charset="UTF-8"');
      assert.equal(res.json().error.message, 'Authentication is required.');
    }
    assert.equal(upstream.seen.length, before);
  });

  it('puts a username holding $ patterns into the filter as typed, escaped, never as replacement patterns', async () => {
    // String.replace reads $', $`, $& and $$ in a replacement string: "$'" made the filter "(uid=))", a 503,
    // and under fail: open the anonymous consumer for a wrong credential.
    const dollar = await send(gw.url, '/starttls', { headers: basic('pay$&roll', 'dollar-password') });
    assert.equal(dollar.status, 200);
    assert.equal(dollar.json().headers['x-consumer-name'], 'pay$&roll');
    for (const user of ["$'", '$`', '$&', '$$', "alice$'", 'x$`(uid=*)']) {
      const closed = await send(gw.url, '/starttls', { headers: basic(user, 'alice-password') });
      assert.equal(closed.status, 401, `${user} on a fail-closed route`);
      const open = await send(gw.url, '/open', { headers: basic(user, 'wrong') });
      assert.equal(open.status, 401, `${user} on a fail-open route is refused, not the anonymous consumer`);
    }
  });

  it('names the consumer as the directory spells the user, whatever spelling the caller typed', async () => {
    // uid matches without regard to case or surrounding spaces: "ALICE" binds as alice, and must be alice
    // for mappings, known_only, rate limits and quotas by consumer, and the upstream.
    const upper = await send(gw.url, '/starttls', { headers: basic('ALICE', 'alice-password') });
    assert.equal(upper.status, 200);
    assert.equal(upper.json().headers['x-consumer-name'], 'alice');
    assert.equal(upper.json().headers['x-credential-id'], 'ldap:alice');
    const mapped = await send(gw.url, '/ldaps', { headers: basic('Carol', 'carol-password') });
    assert.equal(mapped.status, 200);
    assert.equal(mapped.json().headers['x-consumer-name'], 'payroll');
    assert.equal(mapped.json().headers['x-consumer-groups'], 'finance');
  });

  it('refuses a directory whose certificate it does not trust', async () => {
    const res = await send(gw.url, '/untrusted', { headers: basic('alice', 'alice-password') });
    assert.equal(res.status, 503);
  });

  it('remembers a successful bind briefly, so a directory outage does not log it out', async () => {
    assert.equal((await send(gw.url, '/starttls', { headers: basic('bob', 'bob-password') })).status, 200);
    await directory.stop();
    assert.equal((await send(gw.url, '/starttls', { headers: basic('bob', 'bob-password') })).status, 200);
  });

  it('follows the fail mode while the directory is down', async () => {
    const closed = await send(gw.url, '/ldaps', { headers: basic('alice', 'alice-password') });
    assert.equal(closed.status, 503);
    assert.equal(closed.json().error.code, 'dependency_unavailable');
    const open = await send(gw.url, '/open', { headers: basic('alice', 'alice-password') });
    assert.equal(open.status, 200);
    assert.equal(open.json().headers['x-consumer-name'], 'guest');
  });

  it('refuses plain ldap:// without StartTLS at load', async () => {
    const file = writeConfig(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes:
  - { name: r, service: s, policies: [{ ldap-auth: { url: "ldap://127.0.0.1:389", bind_dn: x, bind_password: y, base_dn: z } }] }
`);
    const res = await cli(['validate', file]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /:5: routes\[0\]\.policies\[0\]\.ldap-auth\.url: passwords would cross the network in clear/);
  });

  it('asks which attribute names the user when the filter does not say', async () => {
    const file = writeConfig(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes:
  - { name: r, service: s, policies: [{ ldap-auth: { url: "ldaps://127.0.0.1:636", bind_dn: x, bind_password: y, base_dn: z, filter: "(uid=*{username})" } }] }
`);
    const res = await cli(['validate', file]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /routes\[0\]\.policies\[0\]\.ldap-auth\.filter: name the attribute that holds the username \(username_attribute\)/);
  });
});

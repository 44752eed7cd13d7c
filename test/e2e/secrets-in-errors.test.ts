/**
 * A secret written in a config with the wrong type (a YAML number where a
 * string is wanted) must not come back in the error that reports it: config
 * errors go to the log, to `portcullis validate` and `reload` output, and to
 * the reload status file.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

describe('config errors about secrets', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  const base = () => `
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
`;

  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(`${base()}routes: [{ name: open, service: echo, public: true }]\n`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('name the path and the expected type, never the value', async () => {
    const result = await gw.reload(`${base()}
routes:
  - name: api
    service: echo
    policies:
      - ldap-auth: { url: "ldaps://127.0.0.1:636", bind_dn: "cn=gw", bind_password: 4242424242, base_dn: "dc=x" }
consumers:
  - { name: alice, credentials: { key-auth: [{ key: 8675309123456 }], hmac-auth: [{ key_id: k, secret: 77777777777777777777 }] } }
`);
    assert.equal(result.ok, false);
    const messages = !result.ok ? result.issues.map((i) => `${i.path}: ${i.message}`) : [];
    assert.ok(messages.some((m) => /^consumers\[0\]\.credentials\.key-auth\[0\]\.key: expected string/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /bind_password: expected string/.test(m)), messages.join('\n'));
    const logged = JSON.stringify(await gw.waitForLog((l) => l.msg.startsWith('reload refused')));
    for (const text of [messages.join('\n'), logged]) {
      assert.ok(!text.includes('8675309123456'), text);
      assert.ok(!text.includes('4242424242'), text);
      assert.ok(!/7777777777/.test(text), text);
    }
  });
});

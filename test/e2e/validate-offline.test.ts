/**
 * `portcullis validate --offline` (issue 13, item 2): CI checks a config with
 * none of its secrets set and none of its certificate files present;
 * references are checked for syntax and named, not resolved. And every
 * problem of every phase (references, schema, cross-checks) in one run.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeConfig } from '../helpers/gateway.js';
import { cli, ROOT } from '../helpers/cli.js';

const CONFIG = `listeners:
  - name: main
    address: "127.0.0.1:8443"
    protocol: https
    tls:
      certificates: [{ cert: certs/gateway.crt, key: certs/gateway.key }]
services:
  - name: api
    targets: [{ url: "https://10.0.0.5:8443" }]
    tls: { ca: certs/upstream-ca.pem }
routes:
  - name: api
    service: api
    policies:
      - jwt: { issuers: [{ issuer: "\${env:ISSUER}", algorithms: [RS256], jwks_url: "\${env:JWKS_URL}", audiences: [api] }] }
consumers:
  - { name: acme, credentials: { key-auth: [{ key: "\${env:ACME_KEY}" }] } }
  - { name: bob, credentials: { basic-auth: [{ username: bob, password_hash: "\${file:secrets/bob.hash}" }] } }
`;

describe('validate --offline', () => {
  it('passes a config whose secrets are unset and whose files are absent, naming each reference once', async () => {
    const file = writeConfig(CONFIG);
    const result = await cli(['validate', '--offline', file], { env: {} });
    assert.equal(result.stderr, '');
    assert.equal(result.code, 0);
    assert.equal(result.stdout, `${file}: valid offline (1 listener, 1 service, 1 route, 2 consumers); not resolved: \${env:ISSUER}, \${env:JWKS_URL}, \${env:ACME_KEY}, \${file:secrets/bob.hash}\n`);
  });

  it('without --offline, lists every unresolved reference, and nothing the schema would say of their unknown values', async () => {
    const file = writeConfig(CONFIG);
    const result = await cli(['validate', file], { env: {} });
    assert.equal(result.code, 1);
    assert.deepEqual(result.stderr.trim().split('\n'), [
      `${file}:15: routes[0].policies[0].jwt.issuers[0].issuer: environment variable ISSUER is not set (referenced as \${env:ISSUER})`,
      `${file}:15: routes[0].policies[0].jwt.issuers[0].jwks_url: environment variable JWKS_URL is not set (referenced as \${env:JWKS_URL})`,
      `${file}:17: consumers[0].credentials.key-auth[0].key: environment variable ACME_KEY is not set (referenced as \${env:ACME_KEY})`,
      `${file}:18: consumers[1].credentials.basic-auth[0].password_hash: cannot read secrets/bob.hash (referenced as \${file:secrets/bob.hash}): ENOENT`,
    ]);
  });

  it('still reports a reference of bad syntax and every schema error, in one run, in line order', async () => {
    const file = writeConfig(`listeners: [{ name: main, address: "127.0.0.1:0" }]
services:
  - name: s
    targets: [{ url: "http://127.0.0.1:9" }]
    timeouts: { connect: 5, response: 2 minutes }
routes:
  - name: r
    service: s
    policies:
      - key-auth: { hedaer: x-key }
consumers:
  - { name: c, credentials: { key-auth: [{ key: "\${env:API KEY}" }] } }
`);
    const result = await cli(['validate', '--offline', file], { env: {} });
    assert.equal(result.code, 1);
    assert.deepEqual(result.stderr.trim().split('\n'), [
      `${file}:5: services[0].timeouts.connect: expected a duration like "250ms", "5s", "1m", "1h" or "1d", got number 5`,
      `${file}:5: services[0].timeouts.response: expected a duration like "250ms", "5s", "1m", "1h" or "1d", got "2 minutes"`,
      `${file}:10: routes[0].policies[0].key-auth.hedaer: unknown key "hedaer"; did you mean "header"?`,
      `${file}:12: consumers[0].credentials.key-auth[0].key: \${env:API KEY} does not name an environment variable (letters, digits, _, . and -, not starting with a digit)`,
    ]);
  });

  it('still runs the cross-checks: a route naming a missing service', async () => {
    const file = writeConfig(`listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes: [{ name: r, service: orders, public: true, anonymous: "\${env:ANON}" }]
`);
    const result = await cli(['validate', '--offline', file], { env: {} });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^[^\n]*:3: routes\[0\]\.service: [^\n]*"orders"[^\n]*\n$/);
  });

  it('runs the cross-checks beside schema errors and unset references: every problem of every phase in one run', async () => {
    const file = writeConfig(`listeners: [{ name: main, address: "127.0.0.1:0" }]
services:
  - { name: s, targets: [{ url: "http://127.0.0.1:9" }], balanse: random }
  - { name: s, targets: [{ url: "http://127.0.0.1:9" }] }
routes:
  - { name: r, service: orders, public: true, skip: [jwt] }
consumers:
  - { name: c, credentials: { key-auth: [{ key: "\${env:C_KEY}" }] } }
`);
    const result = await cli(['validate', file], { env: {} });
    assert.equal(result.code, 1);
    assert.deepEqual(result.stderr.trim().split('\n'), [
      `${file}:3: services[0].balanse: unknown key "balanse"; did you mean "balance"?`,
      `${file}:4: services[1].name: "s" is already the name of services[0]`,
      `${file}:6: routes[0].service: no service named "orders" (services: s)`,
      `${file}:6: routes[0].skip[0]: "jwt" is not a global policy (there are no global policies)`,
      `${file}:8: consumers[0].credentials.key-auth[0].key: environment variable C_KEY is not set (referenced as \${env:C_KEY})`,
    ]);
  });

  it('says so when the cross-checks need a referenced value (an upstream URL), and passes the shape', async () => {
    const file = writeConfig(`listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "\${env:UPSTREAM_URL}" }] }]
routes: [{ name: r, service: s, public: true }]
`);
    const result = await cli(['validate', '--offline', file], { env: {} });
    assert.equal(result.stderr, '');
    assert.equal(result.code, 0);
    assert.equal(result.stdout, `${file}: valid offline (1 listener, 1 service, 1 route, 0 consumers); not resolved: \${env:UPSTREAM_URL}\n${file}: cross-checks not run offline: they need a referenced value (Invalid URL)\n`);
  });

  it('passes the per-environment examples as CI would run it: no secrets, no certificates', async () => {
    for (const [name, refs] of [
      ['production', '${env:PORTCULLIS_TLS_DIR}, ${env:ACME_API_KEY}'],
      ['staging', '${env:PORTCULLIS_TLS_DIR}, ${env:TESTER_API_KEY}'],
    ] as const) {
      const file = join(ROOT, 'examples', 'environments', `${name}.yaml`);
      const result = await cli(['validate', '--offline', '--strict', file], { env: {} });
      assert.equal(result.stderr, '', name);
      assert.equal(result.stdout, `${file}: valid offline (3 listeners, 1 service, 3 routes, 2 consumers); not resolved: ${refs}\n`);
    }
  });
});

/**
 * The command line's rough edges a first-time user meets (issue 13, item 6):
 * each command's own --help, files that are not there, what a duration looks
 * like, generated routes that validate, a stale pid file, a folder to create.
 * Run in-process through main(argv, io), like test/e2e/cli.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeConfig } from '../helpers/gateway.js';
import { cli } from '../helpers/cli.js';

const SPEC = `openapi: 3.0.3
info: { title: orders, version: "1" }
paths:
  /orders:
    get: { responses: { "200": { description: ok } } }
  /orders/{id}:
    get:
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses: { "200": { description: ok } }
`;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('CLI paper cuts', () => {
  it('prints a command\'s own usage for COMMAND --help, and the whole usage for --help', async () => {
    for (const command of ['start', 'validate', 'reload', 'hash-password', 'openapi-routes', 'schema']) {
      const result = await cli([command, '--help']);
      assert.equal(result.code, 0, command);
      assert.match(result.stdout, new RegExp(`^Usage:\\n  portcullis ${command}\\b`), command);
      assert.doesNotMatch(result.stdout, /portcullis ca init/, `${command} --help is not the global help`);
    }
    assert.match((await cli(['validate', '--help'])).stdout, /--offline/);
    assert.match((await cli(['help', 'reload'])).stdout, /^Usage:\n {2}portcullis reload/);
    const all = await cli(['--help']);
    for (const command of ['start -c FILE', 'validate FILE', 'schema', 'ca init', 'audit verify']) assert.match(all.stdout, new RegExp(`portcullis ${command}`));
  });

  it('says a config file is not there in one plain line, naming where it looked', async () => {
    const result = await cli(['validate', 'nope.yaml']);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `nope.yaml: config file not found (looked for ${join(process.cwd(), 'nope.yaml')})\n`);
  });

  it('says ca inspect\'s file is not there, without a raw ENOENT', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-ca-'));
    const result = await cli(['ca', 'inspect', join(dir, 'missing.crt')]);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `portcullis ca: ${join(dir, 'missing.crt')}: file not found\n`);
  });

  it('creates the folder of ca issue --out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-ca-'));
    const init = await cli(['ca', 'init', '--dir', join(dir, 'ca')]);
    assert.equal(init.code, 0, init.stderr);
    const issued = await cli(['ca', 'issue', '--dir', join(dir, 'ca'), '--dns', 'api.test', '--out', join(dir, 'certs', 'api')]);
    assert.equal(issued.code, 0, issued.stderr);
    assert.ok(existsSync(join(dir, 'certs', 'api.crt')) && existsSync(join(dir, 'certs', 'api.key')));
    assert.equal(statSync(join(dir, 'certs')).mode & 0o777, 0o700, 'the new folder holds a private key: owner only');
  });

  it('says what a duration looks like when given a number', async () => {
    const file = writeConfig(`listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }], timeouts: { connect: 5 } }]
routes: [{ name: r, service: s, public: true }]
`);
    const result = await cli(['validate', file]);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `${file}:2: services[0].timeouts.connect: expected a duration like "250ms", "5s", "1m", "1h" or "1d", got number 5\n`);
  });

  for (const auth of ['jwt', 'oauth2-introspection', 'ldap-auth', 'key-auth', 'none']) {
    it(`prints openapi-routes --auth ${auth} that validate as printed`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'portcullis-openapi-'));
      writeFileSync(join(dir, 'orders.yaml'), SPEC);
      const routes = await cli(['openapi-routes', join(dir, 'orders.yaml'), '--service', 'orders', '--auth', auth]);
      assert.equal(routes.code, 0, routes.stderr);
      const indented = routes.stdout.replace(/^/gm, '  ');
      const file = writeConfig(`listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: orders, targets: [{ url: "http://127.0.0.1:9" }] }]
routes:
${indented}`, dir);
      const env = {
        JWT_ISSUER: 'https://login.example.com',
        JWT_JWKS_URL: 'https://login.example.com/jwks',
        OAUTH_ISSUER: 'https://login.example.com',
        OAUTH_CLIENT_ID: 'gateway',
        OAUTH_CLIENT_SECRET: 'a-secret',
        LDAP_URL: 'ldaps://ldap.example.com',
        LDAP_BIND_DN: 'cn=gateway,dc=example,dc=com',
        LDAP_BIND_PASSWORD: 'a-password',
        LDAP_BASE_DN: 'ou=people,dc=example,dc=com',
      };
      const result = await cli(['validate', file], { env });
      assert.equal(result.code, 0, `${routes.stdout}\n${result.stderr}`);
      assert.match(result.stdout, /valid \(1 listener, 1 service, 2 routes/);
    });
  }

  it('refuses openapi-routes --auth oidc and --auth of no authentication method, saying why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-openapi-'));
    writeFileSync(join(dir, 'orders.yaml'), SPEC);
    const oidc = await cli(['openapi-routes', join(dir, 'orders.yaml'), '--service', 'orders', '--auth', 'oidc']);
    assert.equal(oidc.code, 1);
    assert.match(oidc.stderr, /^portcullis: --auth oidc: oidc logs browsers in/);
    const waf = await cli(['openapi-routes', join(dir, 'orders.yaml'), '--service', 'orders', '--auth', 'waf']);
    assert.equal(waf.code, 1);
    assert.match(waf.stderr, /^portcullis: --auth is none or an authentication method \(key-auth, .*\), not "waf"\n$/);
  });

  it('does not signal a process that is not a gateway when the pid file is stale', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-pid-'));
    const pidFile = join(dir, 'gateway.pid');
    // Another program now has the pid the gateway had: SIGHUP would end it.
    const other = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      writeFileSync(pidFile, `${other.pid}\n`);
      const result = await cli(['reload', '--pid-file', pidFile]);
      assert.equal(result.code, 2);
      assert.equal(result.stderr, `portcullis: pid ${other.pid} (from ${pidFile}) is not a portcullis gateway, not signalled; ${pidFile} is stale\n`);
      assert.ok(isAlive(other.pid!), 'the other process was not signalled');
    } finally {
      other.kill('SIGKILL');
    }
    await new Promise((r) => other.once('exit', r));
    const gone = await cli(['reload', '--pid-file', pidFile]);
    assert.equal(gone.code, 2);
    assert.equal(gone.stderr, `portcullis: the gateway (pid ${other.pid}) is not running; ${pidFile} is stale\n`);
  });
});

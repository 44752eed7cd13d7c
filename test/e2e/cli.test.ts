/**
 * The command line: what each command prints and the code it returns, run
 * in-process through main(argv, io) (cli()); and as a user runs it, in child
 * processes (runCli, startCli), for what only a process shows: the exit code
 * the bin sets, start, a listener that cannot open, reload, signals.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { send, writeConfig } from '../helpers/gateway.js';
import { cli, runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { echo, startUpstream } from '../helpers/upstream.js';

/** A child process's start (node + tsx + the gateway's modules) can take well over 20 s on a busy 2-core machine. */
const SPAWN = { timeoutMs: 60_000 };

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

describe('portcullis CLI', () => {
  const running: RunningCli[] = [];
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const r of running) r.child.kill('SIGKILL');
    for (const c of cleanup) await c();
  });

  // Exit codes as a child process sees them: 2 here, 1 for a listener that cannot open, 0 from reload and after SIGTERM (below).
  it('exits 2 on a usage error, with one line and no stack trace (a child process)', async () => {
    const result = await runCli(['start', '--bogus'], SPAWN);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, 'portcullis: unknown option --bogus (see --help)\n');
  });

  it('prints its version and help', async () => {
    const version = await cli(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^portcullis \d+\.\d+\.\d+\n$/);
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /portcullis start -c FILE/);
  });

  it('answers a bad flag, an unknown command and a missing file with one line, no stack trace', async () => {
    for (const args of [['start', '--bogus'], ['frobnicate'], ['validate', '/nonexistent/gateway.yaml'], ['start', '-c', '/nonexistent/gateway.yaml']]) {
      const result = await cli(args);
      assert.notEqual(result.code, 0, args.join(' '));
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${args.join(' ')}: ${result.stderr}`);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    }
    const missing = await cli(['validate', '/nonexistent/gateway.yaml']);
    assert.equal(missing.stderr.trim(), '/nonexistent/gateway.yaml: config file not found');
    const said = async (args: string[]) => {
      const result = await cli(args);
      assert.equal(result.code, 2, args.join(' '));
      return result.stderr;
    };
    assert.equal(await said(['start', '--bogus']), 'portcullis: unknown option --bogus (see --help)\n');
    assert.equal(await said(['--versoin']), 'portcullis: unknown option --versoin; did you mean --version? (see --help)\n');
    assert.equal(await said(['start', '-c']), 'portcullis: option -c/--config needs a value\n');
    assert.equal(await said(['ca', 'issue', '--spife', 'spiffe://x']), 'portcullis ca: unknown option --spife; did you mean --spiffe? (see --help)\n');
  });

  it('prints the usage on stderr with exit 2 when given no command, and the ca usage on ca --help', async () => {
    const bare = await cli([]);
    assert.equal(bare.code, 2);
    assert.equal(bare.stdout, '');
    assert.match(bare.stderr, /portcullis start -c FILE/);
    const ca = await cli(['ca', '--help']);
    assert.equal(ca.code, 0, ca.stderr);
    assert.match(ca.stdout, /portcullis ca issue .*--spiffe spiffe:\/\/DOMAIN/);
  });

  it('names the listener (or demo upstream) and address it cannot open, and a missing spec file, in one line and nothing else', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => taken.close(() => r())));
    const port = (taken.address() as { port: number }).port;
    const file = writeConfig(`
listeners: [{ name: main, address: "127.0.0.1:${port}" }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes: [{ name: r, service: s, public: true }]
`);
    const result = await runCli(['start', '-c', file], SPAWN);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `portcullis: listener "main" cannot listen on 127.0.0.1:${port}: the address is already in use (another process listens there)\n`);
    assert.equal(result.stdout, '', 'no "shutting down" / "stopped" log lines for a gateway that never started');

    const demo = await cli(['start', '-c', file, '--demo-upstream', `127.0.0.1:${port}`]);
    assert.equal(demo.code, 1);
    assert.equal(demo.stderr, `portcullis: the demo upstream cannot listen on 127.0.0.1:${port}: the address is already in use (another process listens there)\n`);

    const spec = await cli(['openapi-routes', '/nonexistent/openapi.yaml', '--service', 's']);
    assert.equal(spec.code, 1);
    assert.equal(spec.stderr, 'portcullis: /nonexistent/openapi.yaml: file not found\n');
  });

  it('validates a good file with exit 0 and lists every problem of a bad one as file:line: path: message', async () => {
    const good = writeConfig(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes: [{ name: r, service: s, public: true }]
`);
    const ok = await cli(['validate', good]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /valid/);

    const bad = writeConfig(`listeners:
  - { name: main, address: "127.0.0.1:0" }
services:
  - name: s
    targets: [{ url: "http://127.0.0.1:9" }]
    timeouts: { connect: 2 seconds }
routes:
  - name: r
    service: orders
    policies:
      - key-auth: { hedaer: x-key }
      - rate-limitt: {}
consumers:
  - { name: c, credentials: { key-auth: [{ key: "\${env:PORTCULLIS_TEST_UNSET}" }] } }
`);
    const result = await cli(['validate', bad]);
    assert.equal(result.code, 1);
    const lines = result.stderr.trim().split('\n');
    // Every phase in one run: the unset variable, the schema's findings and the cross-checks together, in line order.
    assert.deepEqual(lines, [
      `${bad}:6: services[0].timeouts.connect: expected a duration like "250ms", "5s", "1m", "1h" or "1d", got "2 seconds"`,
      `${bad}:9: routes[0].service: no service named "orders" (services: s)`,
      `${bad}:11: routes[0].policies[0].key-auth.hedaer: unknown key "hedaer"; did you mean "header"?`,
      `${bad}:12: routes[0].policies[1].rate-limitt: unknown policy "rate-limitt"; did you mean "rate-limit"?`,
      `${bad}:14: consumers[0].credentials.key-auth[0].key: environment variable PORTCULLIS_TEST_UNSET is not set (referenced as \${env:PORTCULLIS_TEST_UNSET})`,
    ]);

    writeFileSync(bad, (await import('node:fs')).readFileSync(bad, 'utf8').replace('${env:PORTCULLIS_TEST_UNSET}', 'k'));
    const second = await cli(['validate', bad]);
    assert.equal(second.code, 1);
    const all = second.stderr.trim().split('\n');
    assert.ok(all.includes(`${bad}:6: services[0].timeouts.connect: expected a duration like "250ms", "5s", "1m", "1h" or "1d", got "2 seconds"`), second.stderr);
    assert.ok(all.includes(`${bad}:11: routes[0].policies[0].key-auth.hedaer: unknown key "hedaer"; did you mean "header"?`), second.stderr);
    assert.ok(all.includes(`${bad}:12: routes[0].policies[1].rate-limitt: unknown policy "rate-limitt"`) || all.some((l) => l.startsWith(`${bad}:12: routes[0].policies[1].rate-limitt: unknown policy`)), second.stderr);
  });

  it('prints config warnings with file:line: path (exit 0), and --strict makes them fail', async () => {
    const file = writeConfig(`listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes:
  - name: api
    service: s
    policies:
      - jwt:
          issuers:
            - { issuer: "https://idp.test", algorithms: [HS256], keys: [{ kid: k, secret: "a-secret-of-at-least-32-bytes-long!!" }] }
`);
    const expected = [
      `${file}:9: routes[0].policies[0].jwt.issuers[0]: warning: neither audiences nor types: any token this issuer signed for another client (an ID token, another API's access token) is accepted here; set audiences (and types: [at+jwt] where the issuer follows RFC 9068)`,
    ];
    const plain = await cli(['validate', file]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.deepEqual(plain.stderr.trim().split('\n'), expected);
    assert.match(plain.stdout, /: valid \(.*; 1 warning\)/);

    const strict = await cli(['validate', '--strict', file]);
    assert.equal(strict.code, 1);
    assert.deepEqual(strict.stderr.trim().split('\n'), [...expected, `${file}: 1 warning, refused by --strict`]);
    assert.equal(strict.stdout, '');

    // A file without warnings passes --strict, and prints nothing on stderr.
    const clean = writeConfig(file.endsWith('.yaml') ? readFileSync(file, 'utf8').replace('algorithms: [HS256]', 'algorithms: [HS256], audiences: [api]') : '');
    const ok = await cli(['validate', '--strict', clean]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stderr, '');
  });

  it('reads JSON configs the same way, with lines in errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-json-'));
    const file = join(dir, 'gateway.json');
    const config = {
      listeners: [{ name: 'main', address: '127.0.0.1:0' }],
      services: [{ name: 's', targets: [{ url: 'http://127.0.0.1:9' }] }],
      routes: [{ name: 'r', service: 's', public: true }],
    };
    writeFileSync(file, JSON.stringify(config, null, 2));
    const ok = await cli(['validate', file]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, `${file}: valid (1 listener, 1 service, 1 route, 0 consumers)\n`);
    const text = JSON.stringify({ ...config, routes: [{ name: 'r', service: 's', publik: true }] }, null, 2);
    writeFileSync(file, text);
    const line = text.split('\n').findIndex((l) => l.includes('"publik"')) + 1;
    const bad = await cli(['validate', file]);
    assert.equal(bad.code, 1);
    assert.ok(bad.stderr.includes(`${file}:${line}: routes[0].publik: unknown key "publik"; did you mean "public"?`), bad.stderr);
  });

  it('reports compile problems too, such as a route naming a missing service', async () => {
    const file = writeConfig(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: orders, targets: [{ url: "http://127.0.0.1:9" }] }]
routes:
  - { name: r, service: ordres, public: true }
  - { name: r, service: orders, match: { paths: ["~ ^/(unclosed"] } }
  - { name: rollout, service: orders, policies: [{ key-auth: { mode: monitor } }] }
`);
    const result = await cli(['validate', file]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /:7: routes\[2\]: route "rollout" authenticates only in monitor mode, which lets every caller through; mark it "public: true"/);
    assert.match(result.stderr, /:5: routes\[0\]\.service: no service named "ordres"; did you mean "orders"\?/);
    assert.match(result.stderr, /:6: routes\[1\]\.name: "r" is already the name of routes\[0\]/);
    assert.match(result.stderr, /:6: routes\[1\]: route "r" has no authentication policy/);
    assert.match(result.stderr, /:6: routes\[1\]\.match\.paths\[0\]: invalid regular expression/);
  });

  it('refuses at validate the limits Node would reject at start or read another way, and start says the same', async () => {
    const file = writeConfig(`gateway:
  shutdown_timeout: 30d
  limits:
    request_timeout: 5s
    headers_timeout: 10s
    keepalive_timeout: 0s
    max_header_size: 0
listeners: [{ name: main, address: "127.0.0.1:0" }]
services:
  - name: s
    targets: [{ url: "http://127.0.0.1:9" }]
    health: { active: { interval: 100d } }
routes: [{ name: r, service: s, public: true }]
`);
    const expected = [
      `${file}:2: gateway.shutdown_timeout: "30d" is too long: Node's timers wait at most 24d`,
      `${file}:5: gateway.limits.headers_timeout: "10s" is longer than request_timeout ("5s"): the request head is part of the request, so headers_timeout must be at most request_timeout`,
      `${file}:6: gateway.limits.keepalive_timeout: must be longer than 0: Node reads 0 as no limit at all, which lets a client hold a connection open for ever`,
      `${file}:7: gateway.limits.max_header_size: must be more than 0 bytes (Node reads 0 as its own default, 16KiB)`,
      `${file}:12: services[0].health.active.interval: "100d" is too long: Node's timers wait at most 24d`,
    ];
    const validated = await cli(['validate', file]);
    assert.equal(validated.code, 1);
    assert.deepEqual(validated.stderr.trim().split('\n'), expected);

    const started = await cli(['start', '-c', file]);
    assert.equal(started.code, 1);
    assert.deepEqual(started.stderr.trim().split('\n'), expected, 'start refuses with the same lines, not an ERR_OUT_OF_RANGE from Node');

    // The same two timeouts in the right order, and equal, are fine.
    writeFileSync(file, `gateway: { limits: { request_timeout: 10s, headers_timeout: 10s } }
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes: [{ name: r, service: s, public: true }]
`);
    const ok = await cli(['validate', file]);
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('refuses policy timeouts longer than a Node timer can wait', async () => {
    const file = writeConfig(`listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes:
  - name: r
    service: s
    public: true
    policies:
      - concurrency-limit: { max: 1, queue: { size: 1, timeout: 30d } }
      - oauth2-introspection: { endpoint: "https://idp.example/introspect", client_id: gw, client_secret: s3cret, timeout: 25d }
`);
    const result = await cli(['validate', file]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /:8: routes\[0\]\.policies\[0\]\.concurrency-limit\.queue\.timeout: expected a duration of at most 24d .*got "30d"/);
    assert.match(result.stderr, /:9: routes\[0\]\.policies\[1\]\.oauth2-introspection\.timeout: expected a duration of at most 24d .*got "25d"/);

    writeFileSync(file, readFileSync(file, 'utf8').replace('30d', '24d').replace('25d', '2s'));
    const ok = await cli(['validate', file]);
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('starts, prints where it listens, reloads on `portcullis reload`, and drains in-flight requests on SIGTERM', async () => {
    const upstream = await startUpstream((req, res, seen) => setTimeout(() => echo(req, res, seen), req.url === '/slow' ? 700 : 0));
    cleanup.push(() => upstream.close());
    const port = await freePort();
    const yaml = (prefix: string) => `
listeners: [{ name: main, address: "127.0.0.1:${port}" }]
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: r, service: s, public: true, strip_prefix: true, match: { paths: [${prefix}] } }]
`;
    const file = writeConfig(yaml('/v1'));
    const gateway = startCli(['start', '-c', file]);
    running.push(gateway);
    await gateway.waitFor(`portcullis listening on http://127.0.0.1:${port} (main)`, SPAWN.timeoutMs);
    const base = `http://127.0.0.1:${port}`;
    assert.equal((await send(base, '/v1/a')).json().url, '/a');

    writeFileSync(file, yaml('/v2'));
    const reload = await runCli(['reload', '-c', file], SPAWN); // as an operator runs it
    assert.equal(reload.code, 0, reload.stderr);
    assert.match(reload.stdout, /reloaded: config version 2/);
    assert.equal((await send(base, '/v2/b')).json().url, '/b');

    writeFileSync(file, yaml('/v3') + 'bogus: true\n');
    const refused = await cli(['reload', '-c', file]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /reload refused; the running config keeps serving/);
    assert.match(refused.stderr, /bogus: unknown key "bogus"/);
    assert.equal((await send(base, '/v2/still')).status, 200);

    writeFileSync(file, yaml('/v4'));
    gateway.child.kill('SIGHUP');
    await gateway.waitFor('"version":3');
    assert.equal((await send(base, '/v4/c')).json().url, '/c');

    const inflight = send(base, '/v4/slow');
    await new Promise((r) => setTimeout(r, 150));
    gateway.child.kill('SIGTERM');
    const res = await inflight;
    assert.equal(res.status, 200, 'the in-flight request finished during shutdown');
    assert.equal(await gateway.exited, 0);
    await assert.rejects(send(base, '/v4/after'), 'no longer accepting');
  });
});

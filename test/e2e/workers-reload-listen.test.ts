/**
 * A node of workers (`portcullis start`, a child process, real sockets) asked
 * to reload onto a listener address that cannot be bound (a port this test's
 * own server holds): the reload is refused with the listener's place in the
 * file and the system's answer, every worker goes on serving the old config
 * on its old listeners, and none is restarted (no "exited unasked", no
 * restart counted). A node started on such an address says why and exits,
 * rather than forking workers again and again. In EXCLUSIVE
 * (test/all.test.ts): three processes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:net';
import { childCliPids, runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { send, writeConfig } from '../helpers/gateway.js';
import { freePort } from '../helpers/redis.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const SPAWN_MS = 120_000;
const WORKERS = 2;

function config(adminPort: number, upstream: string, version: string, listeners: string): string {
  return `gateway: { drain_delay: 0s, shutdown_timeout: 5s }
admin: { address: "127.0.0.1:${adminPort}" }
listeners:
${listeners}
services: [{ name: s, targets: [{ url: "${upstream}" }] }]
routes:
  - name: open
    service: s
    public: true
    match: { paths: [/] }
    policies:
      - headers: { response: { set: { x-config: "${version}" } } }
`;
}

async function metric(adminPort: number, name: string): Promise<string[]> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name));
}

describe(`a node of ${WORKERS} workers asked to listen where it cannot`, () => {
  let upstream: TestUpstream;
  let busy: Server;
  let busyPort: number;
  let node: RunningCli;
  let file: string;
  let port: number;
  let adminPort: number;
  let workers: number[];

  /** 20 requests, each on a connection of its own (spread across the workers): the versions that answered. */
  async function versions(): Promise<Set<string>> {
    const answers = await Promise.all(Array.from({ length: 20 }, () => send(`http://127.0.0.1:${port}`, '/')));
    return new Set(answers.map((a) => `${a.status} ${String(a.headers['x-config'])}`));
  }

  /** The node is as it was: the old version everywhere, the same worker processes, no restart. */
  async function unchanged(): Promise<void> {
    assert.deepEqual(await versions(), new Set(['200 one']));
    assert.deepEqual(await metric(adminPort, 'portcullis_config_version'), ['portcullis_config_version 1']);
    assert.deepEqual(await metric(adminPort, 'portcullis_worker_restarts_total'), []);
    assert.deepEqual(childCliPids(node.child.pid!).sort(), workers);
    assert.doesNotMatch(node.output(), /exited unasked|could not swap/);
  }

  before(async () => {
    upstream = await startUpstream((_req, res) => res.end('ok'));
    busy = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    busyPort = (busy.address() as { port: number }).port;
    [port, adminPort] = [await freePort(), await freePort()];
    file = writeConfig(config(adminPort, upstream.url, 'one', `  - { name: main, address: "127.0.0.1:${port}" }`));
    node = startCli(['start', '-c', file], { env: { ...process.env, PORTCULLIS_WORKERS: String(WORKERS) } });
    await node.waitFor(`portcullis: ${WORKERS} workers`, SPAWN_MS);
    workers = childCliPids(node.child.pid!).sort();
    assert.equal(workers.length, WORKERS);
  });
  after(async () => {
    node.child.kill('SIGKILL');
    await upstream.close();
    await new Promise((resolve) => busy.close(resolve));
  });

  it('refuses a listener added on a port another process holds; every worker keeps serving the old config', async () => {
    writeFileSync(file, config(adminPort, upstream.url, 'two', `  - { name: main, address: "127.0.0.1:${port}" }\n  - { name: extra, address: "127.0.0.1:${busyPort}" }`));
    const refused = await runCli(['reload', '-c', file], { timeoutMs: 60_000 });
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /reload refused; the running config keeps serving/);
    assert.match(refused.stderr, new RegExp(`gateway\\.yaml:5: listeners\\[1\\]\\.address: listener "extra" cannot listen on 127\\.0\\.0\\.1:${busyPort}: the address is already in use .*EADDRINUSE`));
    await unchanged();
  });

  it('refuses a listener moved onto that port; its old address keeps serving on every worker', async () => {
    writeFileSync(file, config(adminPort, upstream.url, 'two', `  - { name: main, address: "127.0.0.1:${busyPort}" }`));
    const refused = await runCli(['reload', '-c', file], { timeoutMs: 60_000 });
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /listeners\[0\]\.address: listener "main" cannot listen on .*EADDRINUSE/);
    await unchanged();
  });

  it('refuses a reload whose new port is taken after it was tried, while the workers prepared it: none is restarted', async () => {
    // The workers prepare a route with a jwt policy whose signing keys are fetched first (once, by the
    // supervisor); this test's key server holds that fetch, takes the new listener's port meanwhile, then
    // answers. The port was free when the supervisor tried it: every worker fails to open it at the swap,
    // puts its old listeners back, and the node refuses the reload rather than replacing the workers.
    let answer: ServerResponse | undefined;
    const keys = createHttpServer((_req, res) => (answer = res));
    await new Promise<void>((resolve) => keys.listen(0, '127.0.0.1', resolve));
    const late = await freePort();
    const taker = createServer((socket) => socket.destroy());
    try {
      const keysPort = (keys.address() as { port: number }).port;
      writeFileSync(
        file,
        config(adminPort, upstream.url, 'two', `  - { name: main, address: "127.0.0.1:${port}" }\n  - { name: late, address: "127.0.0.1:${late}" }`) +
          `  - name: signed
    service: s
    match: { paths: [/signed] }
    policies:
      - jwt:
          jwks: { timeout: 60s }
          issuers: [{ issuer: "https://idp.test", algorithms: [RS256], jwks_url: "http://127.0.0.1:${keysPort}/jwks", audiences: [api] }]
`,
      );
      const reload = runCli(['reload', '-c', file], { timeoutMs: 120_000 });
      while (!answer) await new Promise((r) => setTimeout(r, 20));
      await new Promise<void>((resolve) => taker.listen(late, '127.0.0.1', resolve));
      answer.setHeader('content-type', 'application/json').end('{"keys":[]}');
      const refused = await reload;
      assert.equal(refused.code, 1, refused.stdout + refused.stderr);
      assert.match(refused.stderr, new RegExp(`gateway\\.yaml:5: listeners\\[1\\]\\.address: worker \\d: listener "late" cannot listen on 127\\.0\\.0\\.1:${late}: the address is already in use .*EADDRINUSE`));
      await node.waitFor('reload refused: no worker could swap it in');
      await unchanged();
    } finally {
      await new Promise((resolve) => taker.close(resolve));
      keys.closeAllConnections();
      await new Promise((resolve) => keys.close(resolve));
    }
  });

  it('still reloads a config it can serve afterwards', async () => {
    writeFileSync(file, config(adminPort, upstream.url, 'two', `  - { name: main, address: "127.0.0.1:${port}" }`));
    const reloaded = await runCli(['reload', '-c', file], { timeoutMs: 60_000 });
    assert.equal(reloaded.stdout, 'reloaded: config version 2\n', reloaded.stderr);
    assert.deepEqual(await versions(), new Set(['200 two']));
  });

  it('`portcullis start` on a port another process holds says so and exits, without forking workers again', async () => {
    const other = writeConfig(config(await freePort(), upstream.url, 'one', `  - { name: main, address: "127.0.0.1:${busyPort}" }`));
    const started = await runCli(['start', '-c', other], { env: { ...process.env, PORTCULLIS_WORKERS: String(WORKERS) }, timeoutMs: SPAWN_MS });
    assert.equal(started.code, 1, started.stderr);
    assert.match(started.stderr, new RegExp(`gateway\\.yaml:4: listeners\\[0\\]\\.address: listener "main" cannot listen on 127\\.0\\.0\\.1:${busyPort}: the address is already in use .*EADDRINUSE`));
    // Said before any worker was forked.
    assert.doesNotMatch(started.stderr + started.stdout, /worker ready|could not start|exited unasked|forking it again/);
  });
});

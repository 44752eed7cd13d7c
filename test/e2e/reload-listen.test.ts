/**
 * A reload that needs a listener address this host cannot give (a port
 * another process holds, an address no interface has) is refused with the
 * listener's place in the file and the system's answer, and the gateway goes
 * on serving the old config on every listener it had: nothing was closed
 * before the new addresses were known to bind. Real sockets throughout: the
 * port is held by a real server of this test.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/redis.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

function config(upstream: string, version: string, listeners: string): string {
  return `
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

/** A server of this test that holds host:port (port 0: any), as another process would. */
async function hold(host: string, port = 0): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as { port: number }).port };
}

describe('a reload onto an address that cannot be bound', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let busy: { server: Server; port: number };
  let main: number;
  let side: number;
  const running = () => `  - { name: main, address: "127.0.0.1:${main}" }\n  - { name: side, address: "127.0.0.1:${side}" }`;

  /** Each listener answers on a connection of its own, with the config version it runs. */
  async function answers(): Promise<string[]> {
    const out: string[] = [];
    for (const port of [main, side]) {
      const res = await send(`http://127.0.0.1:${port}`, '/');
      out.push(`${port} ${res.status} ${String(res.headers['x-config'])}`);
    }
    return out;
  }
  const serving = (version: string) => [`${main} 200 ${version}`, `${side} 200 ${version}`];

  before(async () => {
    upstream = await startUpstream((_req, res) => res.end('ok'));
    busy = await hold('127.0.0.1');
    [main, side] = [await freePort(), await freePort()];
    gw = await startGateway(config(upstream.url, 'one', running()));
    assert.deepEqual(await answers(), serving('one'));
  });
  after(async () => {
    await gw.close();
    await upstream.close();
    await new Promise((resolve) => busy.server.close(resolve));
  });

  it('refuses a listener added on a port another process holds, and keeps serving on every listener', async () => {
    const result = await gw.reload(config(upstream.url, 'two', `${running()}\n  - { name: extra, address: "127.0.0.1:${busy.port}" }`));
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.issues.length, 1, JSON.stringify(result.issues));
    const issue = result.issues[0]!;
    assert.equal(issue.file, gw.configFile);
    assert.equal(issue.path, 'listeners[2].address');
    assert.equal(issue.line, 5);
    assert.match(issue.message, new RegExp(`listener "extra" cannot listen on 127\\.0\\.0\\.1:${busy.port}: the address is already in use .*EADDRINUSE`));
    assert.deepEqual(await answers(), serving('one'));
    assert.deepEqual([...gw.gateway.listeners.keys()], ['main', 'side']);
    assert.equal(gw.gateway.snapshot.version, 1);
  });

  it('refuses a listener moved onto a port another process holds: its old address keeps serving', async () => {
    const result = await gw.reload(config(upstream.url, 'two', `  - { name: main, address: "127.0.0.1:${main}" }\n  - { name: side, address: "127.0.0.1:${busy.port}" }`));
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.issues[0]!.path, 'listeners[1].address');
    assert.match(result.issues[0]!.message, /EADDRINUSE/);
    assert.deepEqual(await answers(), serving('one'));
  });

  it('refuses an address no interface of this host has (EADDRNOTAVAIL)', async () => {
    // 192.0.2.0/24 is TEST-NET-1: documentation only, never on a host.
    const result = await gw.reload(config(upstream.url, 'two', `  - { name: main, address: "192.0.2.1:${main}" }\n  - { name: side, address: "127.0.0.1:${side}" }`));
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.issues[0]!.path, 'listeners[0].address');
    assert.match(result.issues[0]!.message, /listener "main" cannot listen on 192\.0\.2\.1:\d+: no network interface of this machine has that address/);
    assert.deepEqual(await answers(), serving('one'));
    const refused = await gw.waitForLog((l) => l.msg === 'reload refused: the running config keeps serving' && JSON.stringify(l.issues).includes('192.0.2.1'));
    assert.ok(refused);
  });

  it('puts the old listener back when its replacement on the same port fails to open after it closed', async () => {
    // 127.0.0.1:P is the gateway's; another process holds 127.0.0.2:P (all of 127/8 is this host's). Moving the
    // listener to 0.0.0.0:P needs the gateway's own socket closed first, and then fails on the other's: the
    // check before the swap cannot see that (the port is the gateway's own), so the old listener is reopened.
    const other = await hold('127.0.0.2', side);
    try {
      const result = await gw.reload(config(upstream.url, 'two', `  - { name: main, address: "127.0.0.1:${main}" }\n  - { name: side, address: "0.0.0.0:${side}" }`));
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.issues[0]!.path, 'listeners[1].address');
      assert.match(result.issues[0]!.message, /listener "side" cannot listen on 0\.0\.0\.0:\d+: the address is already in use/);
      assert.deepEqual(await answers(), serving('one'));
      assert.equal(gw.gateway.listeners.get('side')!.config.address, `127.0.0.1:${side}`);
    } finally {
      await new Promise((resolve) => other.server.close(resolve));
    }
  });

  it('still swaps two listeners\' ports, and moves one to a free port', async () => {
    [main, side] = [side, main];
    const swapped = await gw.reload(config(upstream.url, 'two', running()));
    assert.equal(swapped.ok, true, JSON.stringify(swapped));
    assert.deepEqual(await answers(), serving('two'));
    assert.equal(gw.gateway.listeners.get('main')!.address.port, main);
    const before = side;
    side = await freePort();
    const moved = await gw.reload(config(upstream.url, 'three', running()));
    assert.equal(moved.ok, true, JSON.stringify(moved));
    assert.deepEqual(await answers(), serving('three'));
    // The old address is let go.
    const reused = await hold('127.0.0.1', before);
    await new Promise((resolve) => reused.server.close(resolve));
  });
});

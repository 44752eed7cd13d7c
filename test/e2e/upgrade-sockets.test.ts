/**
 * The sockets Node hands over on Upgrade and CONNECT: Node removes its own
 * error and timeout handling from them, so the gateway must take over. A
 * client resetting such a connection must not stop the process (checked on
 * a real `portcullis start` process: an uncaught error would end it), and
 * the gateway must close each one fully rather than leave it half-open.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { send, startGateway, writeConfig, type TestGateway } from '../helpers/gateway.js';
import { startCli, type RunningCli } from '../helpers/cli.js';
import { echo, startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { countResponses, rawExchange } from '../helpers/raw.js';

const WS_HANDSHAKE = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** A connection that keeps its own side open after the server's FIN, like a client that never closes. */
async function halfOpenClient(port: number): Promise<{ socket: Socket; received: () => string }> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => {});
  await once(socket, 'connect');
  return { socket, received: () => text };
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Answers plain requests after a moment, and never answers a WebSocket handshake. */
async function slowUpstream(held: Socket[]): Promise<TestUpstream> {
  const upstream = await startUpstream((req, res, seen) => setTimeout(() => echo(req, res, seen), 200));
  upstream.server.on('upgrade', (_req, socket: Socket) => held.push(socket));
  return upstream;
}

describe('a gateway process whose client resets a connection Node handed over', () => {
  const held: Socket[] = [];
  let upstream: TestUpstream;
  let cli: RunningCli;
  let base: string;
  let port: number;

  before(async () => {
    upstream = await slowUpstream(held);
    port = await freePort();
    const file = writeConfig(`
listeners: [{ name: main, address: "127.0.0.1:${port}" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: open, service: echo, public: true, match: { paths: [/] } }
`);
    cli = startCli(['start', '-c', file]);
    await cli.waitFor(`portcullis listening on http://127.0.0.1:${port} (main)`);
    base = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    cli.child.kill('SIGKILL');
    await cli.exited;
    for (const socket of held) socket.destroy();
    await upstream.close();
  });

  const resets: Record<string, string> = {
    'a WebSocket handshake waiting on the upstream': `GET /ws HTTP/1.1\r\nHost: x\r\n${WS_HANDSHAKE}\r\n`,
    'an Upgrade: h2c request waiting on the upstream': 'GET /h2c HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n',
    'a CONNECT request after its 405': 'CONNECT internal:443 HTTP/1.1\r\nHost: internal:443\r\n\r\n',
  };
  for (const [name, payload] of Object.entries(resets)) {
    it(`keeps running after a client resets ${name}`, async () => {
      const { socket, received } = await halfOpenClient(port);
      socket.write(payload);
      // Reset while the gateway holds the socket: the CONNECT answer is immediate, the others wait on the upstream.
      if (name.includes('CONNECT')) await waitFor(() => received().startsWith('HTTP/1.1 405'), 'the 405');
      else await new Promise((r) => setTimeout(r, 50));
      socket.resetAndDestroy();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(cli.child.exitCode, null, `the gateway process ended:\n${cli.output().slice(-2000)}`);
      assert.equal((await send(base, '/still-there')).status, 200);
    });
  }
});

describe('a gateway process whose client pipelines an upgrade behind a request in progress', () => {
  const held: Socket[] = [];
  let upstream: TestUpstream;
  let cli: RunningCli;
  let port: number;

  before(async () => {
    upstream = await slowUpstream(held);
    port = await freePort();
    const file = writeConfig(`
listeners: [{ name: main, address: "127.0.0.1:${port}" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: open, service: echo, public: true, match: { paths: [/] } }
`);
    cli = startCli(['start', '-c', file]);
    await cli.waitFor(`portcullis listening on http://127.0.0.1:${port} (main)`);
  });
  after(async () => {
    cli.child.kill('SIGKILL');
    await cli.exited;
    for (const socket of held) socket.destroy();
    await upstream.close();
  });

  const pipelined: Record<string, string> = {
    'a WebSocket handshake': `GET /ws HTTP/1.1\r\nHost: x\r\n${WS_HANDSHAKE}\r\n`,
    'an Upgrade: h2c request': 'GET /h2c HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n',
    'a CONNECT request': 'CONNECT internal:443 HTTP/1.1\r\nHost: internal:443\r\n\r\n',
  };
  for (const [name, second] of Object.entries(pipelined)) {
    it(`answers the first request, drops ${name} pipelined behind it, closes, and keeps running`, async () => {
      // The gateway closes the connection after its one answer, which ends the exchange; the bound only
      // matters when it does not, and is generous for a busy machine (the upstream alone takes 200 ms).
      const reply = await rawExchange(port, 'GET /first HTTP/1.1\r\nHost: x\r\n\r\n' + second, 10_000);
      assert.equal(cli.child.exitCode, null, `the gateway process ended:\n${cli.output().slice(-2000)}`);
      assert.equal(reply.status, 200, reply.text);
      assert.equal(countResponses(reply.text), 1, 'only the first request is answered');
      assert.ok(reply.closed, 'the connection is closed after it');
      assert.equal((await send(`http://127.0.0.1:${port}`, '/still-there')).status, 200);
    });
  }
});

describe('connections Node handed over', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  const held: Socket[] = [];

  before(async () => {
    upstream = await slowUpstream(held);
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
gateway: { limits: { max_connections_per_ip: 2 } }
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: open, service: echo, public: true, match: { paths: [/] } }
`);
  });
  after(async () => {
    for (const socket of held) socket.destroy();
    await gw.close();
    await upstream.close();
  });

  const refusals: Record<string, string> = {
    CONNECT: 'CONNECT internal:443 HTTP/1.1\r\nHost: internal:443\r\n\r\n',
    'an upgrade carrying a body': 'POST /u HTTP/1.1\r\nHost: x\r\nUpgrade: foo\r\nConnection: Upgrade\r\nContent-Length: 3\r\n\r\nabc',
  };
  for (const [name, payload] of Object.entries(refusals)) {
    it(`are closed whole after refusing ${name}, so a client cannot hold them open`, async () => {
      // max_connections_per_ip is 2: two half-open refused connections must not use up the address's allowance.
      const clients = [await halfOpenClient(gw.port), await halfOpenClient(gw.port)];
      try {
        for (const client of clients) client.socket.write(payload);
        for (const client of clients) await waitFor(() => /^HTTP\/1\.1 4\d\d/.test(client.received()), 'the refusal');
        const server = gw.gateway.listeners.get('main')!.server;
        const openConnections = () => new Promise<number>((resolve) => server.getConnections((_err, count) => resolve(count)));
        const deadline = Date.now() + 5000;
        while ((await openConnections()) > 0) {
          assert.ok(Date.now() < deadline, 'the gateway closed both connections');
          await new Promise((r) => setTimeout(r, 20));
        }
        assert.equal((await send(gw.url, '/after')).status, 200, 'a new connection is accepted');
      } finally {
        for (const client of clients) client.socket.destroy();
      }
    });
  }
});

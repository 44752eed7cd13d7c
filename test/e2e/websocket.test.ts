/**
 * WebSocket upgrades are proxied both ways, behind the same authentication
 * as plain requests.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocket, WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';

describe('websockets', () => {
  let wss: WebSocketServer;
  let gw: TestGateway;
  const handshakes: Array<Record<string, string | string[] | undefined>> = [];

  before(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    wss.on('connection', (socket, req) => {
      handshakes.push(req.headers);
      socket.on('message', (data, isBinary) => socket.send(isBinary ? data : `echo:${(data as Buffer).toString()}`, { binary: isBinary }));
      socket.send('hello from upstream');
    });
    const port = (wss.address() as AddressInfo).port;
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: ws, targets: [{ url: "http://127.0.0.1:${port}" }] }]
routes:
  - name: chat
    service: ws
    match: { paths: [/chat] }
    policies: [{ key-auth: {} }]
  - name: limited
    service: ws
    match: { paths: [/limited] }
    policies: [{ key-auth: {} }, { rate-limit: { limit: 1, window: 1h, by: consumer } }]
consumers:
  - { name: alice, credentials: { key-auth: [{ key: ws-key }] } }
`);
  });
  after(async () => {
    await gw.close();
    await new Promise((r) => wss.close(r));
  });

  function connect(headers: Record<string, string>): WebSocket {
    return new WebSocket(`ws://127.0.0.1:${gw.port}/chat/room1`, { headers });
  }

  it('refuses the handshake without a key, with the gateway error', async () => {
    const ws = connect({});
    ws.on('error', () => {}); // terminate() below closes a socket that never opened
    const [, res] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage];
    assert.equal(res.statusCode, 401);
    let body = '';
    for await (const part of res) body += String(part);
    assert.equal(JSON.parse(body).error.code, 'unauthorized');
    ws.terminate();
  });

  it('holds the handshake to the route\'s rate limit, as any request: the second is refused with 429', async () => {
    const first = new WebSocket(`ws://127.0.0.1:${gw.port}/limited`, { headers: { 'x-api-key': 'ws-key' } });
    await once(first, 'open');
    const second = new WebSocket(`ws://127.0.0.1:${gw.port}/limited`, { headers: { 'x-api-key': 'ws-key' } });
    second.on('error', () => {});
    const [, res] = (await once(second, 'unexpected-response')) as [unknown, IncomingMessage];
    assert.equal(res.statusCode, 429);
    assert.ok(Number(res.headers['retry-after']) > 0);
    let body = '';
    for await (const part of res) body += String(part);
    assert.equal(JSON.parse(body).error.code, 'rate_limited');
    second.terminate();
    first.close();
    await once(first, 'close');
  });

  it('relays messages both ways once authenticated, with identity headers upstream', async () => {
    const ws = connect({ 'x-api-key': 'ws-key' });
    const messages: string[] = [];
    ws.on('message', (data) => messages.push((data as Buffer).toString()));
    await once(ws, 'open');
    ws.send('ping');
    const big = Buffer.alloc(200_000, 5);
    ws.send(big);
    const binary = await new Promise<Buffer>((resolve) => ws.on('message', (data, isBinary) => isBinary && resolve(data as Buffer)));
    assert.ok(binary.equals(big), 'a 200 KB binary frame round-trips intact');
    assert.ok(messages.includes('hello from upstream'));
    assert.ok(messages.includes('echo:ping'));
    const seen = handshakes.at(-1)!;
    assert.equal(seen['x-consumer-name'], 'alice');
    assert.equal(seen['x-api-key'], undefined);
    ws.close();
    await once(ws, 'close');
    const line = await gw.waitForLog((l) => l.type === 'access' && l.route === 'chat' && l.status === 101);
    assert.equal(line.consumer, 'alice');
  });

  it('does not count open tunnels as requests in flight: idle WebSockets do not make the gateway shed', async () => {
    const port = (wss.address() as AddressInfo).port;
    const upstream = await startUpstream();
    const small = await startGateway(`
gateway: { limits: { max_in_flight: 2 } }
listeners: [{ name: main, address: "127.0.0.1:0" }]
services:
  - { name: ws, targets: [{ url: "http://127.0.0.1:${port}" }] }
  - { name: web, targets: [{ url: "${upstream.url}" }] }
routes:
  - { name: chat, service: ws, public: true, match: { paths: [/chat] } }
  - { name: web, service: web, public: true, match: { paths: [/web] } }
`);
    const open: WebSocket[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const ws = new WebSocket(`ws://127.0.0.1:${small.port}/chat`);
        ws.on('error', () => {});
        await once(ws, 'open');
        open.push(ws);
      }
      assert.equal((await send(small.url, '/web')).status, 200, 'three open tunnels, max_in_flight 2, and still served');
    } finally {
      for (const ws of open) ws.terminate();
      await small.close();
      await upstream.close();
    }
  });

  it('cuts open tunnels when a graceful shutdown reaches its deadline', async () => {
    const port = (wss.address() as AddressInfo).port;
    const short = await startGateway(`
gateway: { shutdown_timeout: 200ms }
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: ws, targets: [{ url: "http://127.0.0.1:${port}" }] }]
routes: [{ name: chat, service: ws, public: true, match: { paths: [/chat] } }]
`);
    const ws = new WebSocket(`ws://127.0.0.1:${short.port}/chat`);
    await once(ws, 'open');
    const closed = once(ws, 'close');
    await short.close();
    await closed;
  });
});

/**
 * State a node of workers shares, seen from outside: a circuit breaker
 * opened by failures one worker saw holds on the other worker (the upstream
 * sees no more requests), and a TLS session resumes whichever worker the
 * next connection lands on (the ticket keys are the node's). Two workers,
 * `portcullis start` in a child process, real sockets.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { startCli, type RunningCli } from '../helpers/cli.js';
import { writeConfig } from '../helpers/gateway.js';
import { freePort } from '../helpers/redis.js';
import { makePki } from '../helpers/tls.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const SPAWN_MS = 120_000;

function get(port: number, path: string, agent?: Agent): Promise<number> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: agent ?? false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** Waits until `count` lines match `pattern` (a worker's log lines carry no pid: with open_for 10m, each worker's breaker opens once). */
async function waitForLines(cli: RunningCli, pattern: RegExp, count: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = cli.output().split('\n').filter((line) => pattern.test(line)).length;
    if (seen >= count) return;
    if (Date.now() > deadline) assert.fail(`${seen} lines matching ${String(pattern)}, not ${count}:\n${cli.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A TLS connection (TLS 1.3) offering `session`; resolves with whether it resumed and the session to offer next. */
function handshake(port: number, ca: string, session?: Buffer): Promise<{ reused: boolean; session: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    let next: Buffer | undefined;
    const socket: TLSSocket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca, session, minVersion: 'TLSv1.3' });
    socket.on('session', (s: Buffer) => (next = s));
    socket.on('secureConnect', () => {
      // TLS 1.3 sends the ticket after the handshake: a request and its answer make sure it came.
      socket.write('GET / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
    });
    socket.on('data', () => {});
    socket.on('end', () => resolve({ reused: socket.isSessionReused(), session: next ?? session }));
    socket.on('error', reject);
  });
}

describe('state shared by the workers of a node', () => {
  let upstream: TestUpstream;
  let node: RunningCli;
  let port: number;
  let tlsPort: number;
  let hits = 0;
  let caPem = '';

  before(async () => {
    upstream = await startUpstream((req, res) => {
      hits++;
      res.statusCode = req.url === '/flaky' ? 502 : 200;
      res.end('x');
    });
    const pki = await makePki();
    await pki.issue('server', { dns: ['localhost'] });
    caPem = pki.caPem;
    [port, tlsPort] = [await freePort(), await freePort()];
    const file = writeConfig(
      `
gateway: { drain_delay: 0s }
listeners:
  - { name: main, address: "127.0.0.1:${port}" }
  - { name: secure, address: "127.0.0.1:${tlsPort}", protocol: https, tls: { certificates: [{ cert: server.crt, key: server.key }] } }
services: [{ name: s, targets: [{ url: "${upstream.url}" }], breaker: { failures: 3, open_for: 10m } }]
routes: [{ name: r, service: s, public: true, match: { paths: [/] } }]
`,
      pki.dir,
    );
    node = startCli(['start', '-c', file], { env: { ...process.env, PORTCULLIS_WORKERS: '2' } });
    await node.waitFor('portcullis: 2 workers', SPAWN_MS);
  });
  after(async () => {
    node.child.kill('SIGKILL');
    await upstream.close();
  });

  it('keeps a breaker opened on one worker open on the other: the upstream sees no more requests', async () => {
    // One kept-alive connection: one worker sees all three failures and opens its breaker.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const seen: number[] = [];
    while (seen.at(-1) !== 503 && seen.length < 10) seen.push(await get(port, '/flaky', agent));
    agent.destroy();
    // The upstream's failures pass through until the breaker opens; then the gateway refuses by itself.
    assert.equal(seen.at(-1), 503, `statuses on one worker: ${seen.join(',')}`);
    assert.ok(seen.slice(0, -1).every((s) => s === 502));
    const before = hits;
    assert.ok(before >= 1 && before <= 3);
    // The other worker hears of it (within tens of milliseconds on a quiet machine; a loaded CI box
    // may take longer): each worker logs its own breaker opening, so wait for the second line.
    await waitForLines(node, /"msg":"circuit breaker open"/, 2);
    // Twenty new connections, spread over both workers: none reaches the upstream, on either worker.
    const statuses = await Promise.all(Array.from({ length: 20 }, () => get(port, '/flaky')));
    assert.equal(hits, before, 'the upstream was not called again');
    assert.ok(statuses.every((s) => s === 503), `all refused at the gateway: ${statuses.join(',')}`);
  });

  it('resumes a TLS session on whichever worker the next connection lands', async () => {
    const first = await handshake(tlsPort, caPem);
    assert.equal(first.reused, false);
    assert.ok(first.session, 'a session ticket came');
    let session: Buffer | undefined = first.session;
    const reused: boolean[] = [];
    // Connections are spread over both workers: each must resume.
    for (let i = 0; i < 12; i++) {
      const next = await handshake(tlsPort, caPem, session);
      reused.push(next.reused);
      session = next.session;
    }
    assert.deepEqual(reused, Array(12).fill(true));
  });
});

/**
 * Bodies stream through the gateway in both directions: bytes reach the far
 * side before the near side has finished sending, so nothing is held whole.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const MiB = 1024 * 1024;

function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (check()) resolve();
      else if (Date.now() > deadline) reject(new Error('condition not met in time'));
      else setTimeout(tick, 5);
    };
    tick();
  });
}

describe('streaming', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let received = 0;
  let uploadDigest = '';
  let releaseDownload: () => void = () => {};

  before(async () => {
    upstream = await startUpstream(
      (req, res) => {
        if (req.url === '/upload') {
          const hash = createHash('sha256');
          req.on('data', (chunk: Buffer) => {
            received += chunk.length;
            hash.update(chunk);
          });
          req.on('end', () => {
            uploadDigest = hash.digest('hex');
            res.end(JSON.stringify({ received }));
          });
          return;
        }
        // /download: 1 MiB now, the other 49 MiB only once the test says the client has seen the first part.
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 50 * MiB });
        res.write(Buffer.alloc(MiB, 1));
        releaseDownload = () => {
          const chunk = Buffer.alloc(MiB, 2);
          let sent = 1;
          const pump = () => {
            while (sent < 50) {
              sent++;
              if (!res.write(chunk)) {
                res.once('drain', pump);
                return;
              }
            }
            res.end();
          };
          pump();
        };
      },
      { readBody: false },
    );
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: files, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: files, service: files, public: true, match: { paths: [/] } }
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('streams a 50 MB upload: the upstream reads while the client still sends', async () => {
    const req = request(`${gw.url}/upload`, { method: 'PUT', headers: { 'content-length': 50 * MiB } });
    const response = once(req, 'response');
    const hash = createHash('sha256');
    const first = Buffer.alloc(MiB, 7);
    hash.update(first);
    req.write(first);
    // Only one MiB has been sent: if the gateway buffered whole bodies, the upstream would see nothing yet.
    await waitFor(() => received >= 512 * 1024);
    assert.ok(received <= MiB);
    const chunk = Buffer.alloc(MiB, 9);
    for (let i = 1; i < 50; i++) {
      hash.update(chunk);
      if (!req.write(chunk)) await once(req, 'drain');
    }
    req.end();
    const [res] = (await response) as [IncomingMessage];
    let text = '';
    for await (const part of res) text += String(part);
    assert.equal(res.statusCode, 200);
    assert.equal(JSON.parse(text).received, 50 * MiB);
    assert.equal(uploadDigest, hash.digest('hex'), 'bytes arrive intact and in order');
  });

  it('streams a 50 MB download: the client reads while the upstream still sends', async () => {
    const req = request(`${gw.url}/download`);
    req.end();
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    assert.equal(res.statusCode, 200);
    let got = 0;
    let released = false;
    for await (const part of res) {
      got += (part as Buffer).length;
      // The upstream has sent only 1 MiB: the client seeing it proves the gateway did not wait for the rest.
      if (!released && got >= 512 * 1024) {
        released = true;
        releaseDownload();
      }
    }
    assert.ok(released);
    assert.equal(got, 50 * MiB);
  });
});

describe('a client that stops reading its response', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  const upstreamClosed: string[] = [];

  before(async () => {
    // Sends 8 MiB (/steady) or 200 MiB (/endless), as fast as the gateway takes it.
    upstream = await startUpstream(
      (req, res) => {
        const total = req.url === '/steady' ? 8 * MiB : 200 * MiB;
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
        const chunk = Buffer.alloc(64 * 1024, 3);
        let sent = 0;
        const pump = () => {
          while (sent < total) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        res.once('close', () => {
          if (sent < total || !res.writableFinished) upstreamClosed.push(req.url ?? '');
        });
        pump();
      },
      { readBody: false },
    );
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: files, targets: [{ url: "${upstream.url}" }], timeouts: { idle: 2s } }]
routes:
  - { name: files, service: files, public: true, match: { paths: [/] } }
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('is cut off after timeouts.idle without reading, and the upstream request is released', async () => {
    const { connect } = await import('node:net');
    const socket = connect(gw.port, '127.0.0.1');
    socket.on('error', () => {});
    await once(socket, 'connect');
    socket.write('GET /endless HTTP/1.1\r\nHost: x\r\n\r\n');
    socket.pause(); // never reads: the gateway's writes back up
    try {
      await waitFor(() => upstreamClosed.includes('/endless'), 15_000);
    } finally {
      socket.destroy();
    }
  });

  it('lets a slow but steady reader have the whole body', async () => {
    const req = request(`${gw.url}/steady`);
    req.end();
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    let got = 0;
    let sinceBreak = 0;
    for await (const part of res) {
      got += (part as Buffer).length;
      sinceBreak += (part as Buffer).length;
      if (sinceBreak >= MiB) {
        sinceBreak = 0;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.equal(got, 8 * MiB);
    assert.ok(!upstreamClosed.includes('/steady'));
  });
});

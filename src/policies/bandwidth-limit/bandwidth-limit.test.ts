/**
 * bandwidth-limit over real sockets: downloads and uploads several seconds
 * long arrive at the configured rate within ±15%, concurrent transfers of one
 * key share it, and the bytes are intact. The rate is measured as (bytes −
 * burst) ÷ elapsed time over the whole transfer, which only a wrong rate can
 * push out of the band (a busy machine makes timers late, and the bucket
 * makes up for late timers).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Client } from 'undici';
import { startGateway, type TestGateway } from '../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../test/helpers/upstream.js';

const KiB = 1024;
const RATE = 256 * KiB;
const BURST = 32 * KiB;
const SIZE = 1024 * KiB + BURST; // four seconds at the rate, after the burst

const payload = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i++) payload[i] = (i * 31 + 7) & 0xff;
const digest = createHash('sha256').update(payload).digest('hex');

function within15(measured: number, what: string): void {
  const ratio = measured / RATE;
  assert.ok(ratio > 0.85 && ratio < 1.15, `${what}: ${Math.round(measured / KiB)} KiB/s against ${RATE / KiB} KiB/s (×${ratio.toFixed(3)})`);
}

describe('bandwidth-limit', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  const uploads = new Map<string, { bytes: number; first: number; last: number; digest: string }>();

  before(async () => {
    upstream = await startUpstream(
      (req, res) => {
        if (req.method === 'POST') {
          const hash = createHash('sha256');
          const seen = { bytes: 0, first: 0, last: 0, digest: '' };
          req.on('data', (chunk: Buffer) => {
            if (seen.bytes === 0) seen.first = performance.now();
            seen.bytes += chunk.length;
            seen.last = performance.now();
            hash.update(chunk);
          });
          req.on('end', () => {
            seen.digest = hash.digest('hex');
            uploads.set(String(req.headers['x-upload']), seen);
            res.end('stored');
          });
          return;
        }
        res.writeHead(200, { 'content-length': SIZE });
        res.end(payload);
      },
      { readBody: false },
    );
    // A throttled download keeps the upstream connection busy for the whole transfer. Node's default
    // keepAliveTimeout (5 s) counts from when the upstream handed its whole response to the kernel,
    // and closed the connection under a slow 8 s read: see docs/policies/bandwidth-limit.md.
    upstream.server.keepAliveTimeout = 60_000;
    gw = await startGateway(`
gateway: { access_log: false }
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: files, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: files
    service: files
    public: true
    policies:
      - bandwidth-limit: { rate: ${RATE}, burst: ${BURST}, by: header:x-user }
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  async function download(user: string): Promise<{ bytes: number; ms: number; digest: string }> {
    const client = new Client(gw.url);
    try {
      const start = performance.now();
      const res = await client.request({ path: '/file', method: 'GET', headers: { 'x-user': user } });
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of res.body) {
        bytes += (chunk as Buffer).length;
        hash.update(chunk as Buffer);
      }
      return { bytes, ms: performance.now() - start, digest: hash.digest('hex') };
    } finally {
      await client.close();
    }
  }

  it('downloads at the configured rate (±15%), bytes intact', async (t) => {
    const { bytes, ms, digest: got } = await download('alice');
    assert.equal(bytes, SIZE);
    assert.equal(got, digest);
    const rate = (bytes - BURST) / (ms / 1000);
    t.diagnostic(`download: ${Math.round(rate / KiB)} KiB/s over ${Math.round(ms)} ms (configured ${RATE / KiB})`);
    within15(rate, 'download');
  });

  it('uploads at the configured rate (±15%), bytes intact', async (t) => {
    const client = new Client(gw.url);
    try {
      const res = await client.request({ path: '/upload', method: 'POST', headers: { 'x-user': 'bob', 'x-upload': 'one' }, body: payload });
      assert.equal(await res.body.text(), 'stored');
    } finally {
      await client.close();
    }
    const seen = uploads.get('one')!;
    assert.equal(seen.bytes, SIZE);
    assert.equal(seen.digest, digest);
    const rate = (seen.bytes - BURST) / ((seen.last - seen.first) / 1000);
    t.diagnostic(`upload: ${Math.round(rate / KiB)} KiB/s over ${Math.round(seen.last - seen.first)} ms`);
    within15(rate, 'upload');
  });

  it('two transfers of one key share its rate; another key has its own', async (t) => {
    const start = performance.now();
    const [a, b, other] = await Promise.all([download('carol'), download('carol'), download('dave')]);
    const together = (a.bytes + b.bytes - BURST) / (Math.max(a.ms, b.ms) / 1000);
    t.diagnostic(`carol ×2: ${Math.round(together / KiB)} KiB/s combined; dave alone in ${Math.round(other.ms)} ms; all in ${Math.round(performance.now() - start)} ms`);
    within15(together, 'two transfers together');
    within15((other.bytes - BURST) / (other.ms / 1000), 'another key alongside');
  });
});

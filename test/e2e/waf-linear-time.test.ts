/**
 * Issue 10 item 2 through a running gateway: bodies that made the waf's work
 * grow with the square of their size (a JSON string of "{%" repeated, a
 * multipart field of newlines) are answered, and the CPU time they cost grows
 * linearly: one 64 KB request may cost at most twice what eight 8 KB ones do
 * (before the fix, 64 KB of "{%" took seconds and eight 8 KB ones a fraction
 * of that). An unrelated GET sent after them is answered normally. The
 * unit-level tests of every detector are in src/policies/waf/linear-time.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

interface Shape {
  name: string;
  request(size: number): { body: string; headers: Record<string, string> };
}

const SHAPES: readonly Shape[] = [
  {
    name: 'a JSON string of "{%" repeated',
    request: (size) => ({ body: JSON.stringify({ q: '{%'.repeat(Math.floor((size - 16) / 2)) }), headers: { 'content-type': 'application/json' } }),
  },
  {
    name: 'a JSON string of "<a " repeated',
    request: (size) => ({ body: JSON.stringify({ q: '<a '.repeat(Math.floor((size - 16) / 3)) }), headers: { 'content-type': 'application/json' } }),
  },
  {
    name: 'a multipart field of newlines',
    request: (size) => ({
      body: `--b\r\nContent-Disposition: form-data; name="q"\r\n\r\n${'\n'.repeat(size - 64)}\r\n--b--\r\n`,
      headers: { 'content-type': 'multipart/form-data; boundary=b' },
    }),
  },
];

describe('waf through the gateway: adversarial bodies cost time linear in their size', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
global_policies:
  - waf: {}
routes:
  - { name: api, service: echo, public: true, match: { paths: [/api] } }
`);
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  for (const shape of SHAPES) {
    it(`${shape.name}: answered, and 64 KB costs at most 2× eight 8 KB requests`, async () => {
      const post = async (size: number): Promise<number> => {
        const { body, headers } = shape.request(size);
        const res = await send(gw.url, '/api/items', { method: 'POST', body, headers });
        assert.ok(res.status === 200 || res.status === 403, `${size} B: answered ${res.status}`);
        return res.status;
      };
      await post(8 * 1024); // warm up
      const cost = async (size: number, times: number): Promise<number> => {
        const start = cpuMs();
        for (let i = 0; i < times; i++) await post(size);
        return cpuMs() - start;
      };
      let small = Infinity;
      let large = Infinity;
      for (let sample = 0; sample < 3; sample++) {
        small = Math.min(small, await cost(8 * 1024, 8));
        large = Math.min(large, await cost(64 * 1024, 1));
      }
      assert.ok(large < 2 * small, `64 KB took ${large.toFixed(1)} ms of CPU, eight 8 KB requests ${small.toFixed(1)} ms`);
      const get = await send(gw.url, '/api/health');
      assert.equal(get.status, 200);
    });
  }
});

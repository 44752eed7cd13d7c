/**
 * Red team (session 7): the response timer became a place in each service's
 * DeadlineList (src/upstream/deadlines.ts, one Node timer per service) rather
 * than a setTimeout per request. Over real sockets: several services with
 * different timeouts.response, requests that get their head in time mixed
 * with ones whose head never comes in time, on every service at once; a
 * reload that changes the timeouts while requests wait (each keeps the
 * deadline it started with, and every one still fires); a head that comes
 * in time followed by a slow body (the response timer is done, the body
 * arrives whole). No timing is asserted: a late head is 10x past its timeout
 * or never comes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';

/** /head/<ms>: the head after <ms> (never, for "never"); /slow-body: head at once, the body in 3 pieces 100 ms apart. */
function startUpstream(): Promise<Server> {
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/slow-body')) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      let n = 0;
      const tick = setInterval(() => {
        res.write(`piece${n}\n`);
        if (++n === 3) {
          clearInterval(tick);
          res.end();
        }
      }, 100);
      res.on('close', () => clearInterval(tick));
      return;
    }
    const wait = url.split('/')[2] ?? '0';
    if (wait === 'never') return; // holds the request until the gateway gives up
    const timer = setTimeout(() => res.end(`ok ${url}`), Number(wait));
    res.on('close', () => clearTimeout(timer));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function config(origin: string, timeouts: readonly string[]): string {
  return `
gateway: { limits: { max_event_loop_delay: 0s } }
listeners: [{ name: main, address: "127.0.0.1:0" }]
services:
${timeouts.map((t, i) => `  - { name: s${i}, targets: [{ url: "${origin}" }], retries: { attempts: 0 }, timeouts: { response: ${t} } }`).join('\n')}
routes:
${timeouts.map((_, i) => `  - { name: r${i}, service: s${i}, public: true, strip_prefix: true, match: { paths: [/s${i}] } }`).join('\n')}
`;
}

describe('response deadlines of many services (DeadlineList)', () => {
  let upstream: Server;
  let origin: string;
  let gw: TestGateway | undefined;

  before(async () => {
    upstream = await startUpstream();
    origin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    upstream.unref();
    gw = await startGateway(config(origin, ['200ms', '500ms', '1s']));
  });
  after(async () => {
    upstream.closeAllConnections();
    await gw?.close();
    await new Promise((resolve) => upstream.close(resolve));
  });

  it('times out every late head on every service, and passes every head in time', async () => {
    const asks: Array<Promise<[string, number]>> = [];
    for (let round = 0; round < 10; round++) {
      for (const [i, ms] of [200, 500, 1000].entries()) {
        for (const path of [`/s${i}/head/0`, `/s${i}/head/never`, `/s${i}/head/${ms * 10}`]) {
          asks.push(send(gw!.url, path).then((r) => [path, r.status]));
        }
      }
    }
    const statuses = await Promise.all(asks);
    for (const [path, status] of statuses) {
      if (path.endsWith('/head/0')) assert.equal(status, 200, path);
      else assert.equal(status, 504, path);
    }
  });

  it('a reload that changes the timeouts mid-request: each request keeps its deadline, and every one fires', async () => {
    const waiting = [0, 1, 2].map((i) => send(gw!.url, `/s${i}/head/never`));
    // the new config: one service much longer, one shorter, one the same
    const result = await gw!.reload(config(origin, ['5s', '100ms', '1s']));
    assert.equal(result.ok, true, JSON.stringify(result));
    const late = [0, 1, 2].map((i) => send(gw!.url, `/s${i}/head/never`));
    for (const r of await Promise.all([...waiting, ...late])) assert.equal(r.status, 504);
    const fine = await Promise.all([0, 1, 2].map((i) => send(gw!.url, `/s${i}/head/0`)));
    for (const r of fine) assert.equal(r.status, 200);
  });

  it('a head in time with a slow body: the body arrives whole', async () => {
    await gw!.reload(config(origin, ['200ms', '200ms', '200ms']));
    const r = await send(gw!.url, '/s0/slow-body');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'piece0\npiece1\npiece2\n');
  });
});

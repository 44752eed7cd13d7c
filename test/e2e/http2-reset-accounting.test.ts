/**
 * Rapid-reset accounting (red-team review of issue 10, F1 and F-low-2). The
 * cutoff counted resets less completed streams, and a 401 the gateway answers
 * itself counted as completed: interleaving HEADERS + RST_STREAM on a public
 * upstream route with cheap 401s started ~1,000 upstream requests on one
 * connection without a cut. HEADERS and RST_STREAM in the same write were
 * never counted at all. Only streams the upstream served pay for a reset now,
 * every client reset of an open stream counts, and a connection has a
 * ceiling on resets however many streams it completes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as h2c, type ClientHttp2Session } from 'node:http2';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { h2Request, h2Session, makePki, type Pki } from '../helpers/tls.js';
import { headersAndReset, rawH2 } from '../helpers/h2-frames.js';

/** gateway.limits.http2_max_resets in this config. */
const LIMIT = 50;

/** Resolves when the connection got a GOAWAY or closed; with the GOAWAY code, if any. */
function cutWatch(session: ClientHttp2Session): { ended: () => boolean; code: () => number | undefined; done: Promise<void> } {
  let code: number | undefined;
  let ended = false;
  const done = new Promise<void>((resolve) => {
    session.once('goaway', (c: number) => {
      code = c;
      ended = true;
      resolve();
    });
    session.once('close', () => {
      ended = true;
      resolve();
    });
  });
  return { ended: () => ended || session.closed || session.destroyed, code: () => code, done };
}

/** The GOAWAY or close, if it comes within 5 s (a guard against a hang when the gateway never cuts, not a measure). */
function settled(watch: { done: Promise<void> }): Promise<void> {
  return Promise.race([watch.done, new Promise<void>((r) => setTimeout(r, 5000).unref())]);
}

describe('HTTP/2 reset accounting', () => {
  let pki: Pki;
  let upstream: TestUpstream;
  let gw: TestGateway;
  const slowStarted = () => upstream.seen.filter((r) => (r.url ?? '').startsWith('/slow/')).length;
  /** Calls waiting for the upstream to see a number of /slow requests. */
  const arrivalWaiters = new Set<() => void>();

  before(async () => {
    pki = await makePki();
    await pki.issue('server', { dns: ['localhost'], ips: ['127.0.0.1'] });
    upstream = await startUpstream(
      (req, res) => {
        for (const wake of arrivalWaiters) wake();
        req.resume();
        if ((req.url ?? '').startsWith('/slow/')) return; // expensive work that never answers in time
        req.once('end', () => res.end('ok'));
      },
      { readBody: false },
    );
    gw = await startGateway(
      `
gateway: { limits: { http2_max_resets: ${LIMIT} } }
listeners:
  - name: main
    address: "127.0.0.1:0"
    protocol: https
    tls: { certificates: [{ cert: server.crt, key: server.key }] }
services: [{ name: up, targets: [{ url: "${upstream.url}" }], timeouts: { response: 60s } }]
routes:
  - { name: private, service: up, match: { paths: [/private] }, policies: [{ key-auth: {} }] }
  - { name: open, service: up, public: true, match: { paths: [/] } }
`,
      { dir: pki.dir },
    );
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  /** Until the upstream has seen `count` /slow requests, or the connection ended. */
  function slowArrivals(count: number, ended: () => boolean, done: Promise<void>): Promise<void> {
    return new Promise<void>((resolve) => {
      const check = () => {
        if (slowStarted() >= count || ended()) {
          arrivalWaiters.delete(check);
          resolve();
        }
      };
      arrivalWaiters.add(check);
      void done.then(check);
      check();
    });
  }

  it('cuts a connection that pays for its resets with 401s the gateway answers itself, before much upstream work starts', async () => {
    const session = await h2Session(gw.url, { ca: pki.caPem });
    session.on('error', () => {});
    const watch = cutWatch(session);
    const before = slowStarted();
    const BATCH = 10;
    let resets = 0;
    for (let batch = 0; batch < 100 && !watch.ended(); batch++) {
      const streams = [];
      for (let i = 0; i < BATCH && !watch.ended(); i++) {
        const s = session.request({ ':path': `/slow/${batch}/${i}` });
        s.on('error', () => {});
        streams.push(s);
      }
      // The upstream work has started: then the client cancels it.
      await slowArrivals(before + resets + streams.length, watch.ended, watch.done);
      for (const s of streams) {
        s.close(h2c.NGHTTP2_CANCEL);
        resets++;
      }
      // As many cheap local answers.
      const answers = await Promise.all(
        Array.from({ length: BATCH }, () => (watch.ended() ? Promise.resolve(0) : h2Request(session, { ':path': '/private/x' }).then((r) => r.status, () => 0))),
      );
      assert.ok(answers.every((s) => s === 401 || s === 0), String(answers));
    }
    await settled(watch);
    assert.equal(watch.code(), h2c.NGHTTP2_ENHANCE_YOUR_CALM, `cut with ENHANCE_YOUR_CALM after ${resets} resets`);
    const started = slowStarted() - before;
    assert.ok(started <= LIMIT + 2 * BATCH, `few upstream requests started before the cut: ${started}`);
    const cut = await gw.waitForLog((l) => l.event === 'http2.rapid_reset');
    assert.equal(cut.limit, LIMIT);
    session.destroy();
  });

  it('counts HEADERS and RST_STREAM sent in the same write', async () => {
    const raw = await rawH2(gw.url, pki.caPem);
    const before = slowStarted();
    let id = 1;
    let resets = 0;
    while (raw.usable() && resets < 5000) {
      const batch: Buffer[] = [];
      for (let i = 0; i < 20; i++, id += 2, resets++) batch.push(headersAndReset(id, `/slow/same-write/${id}`));
      raw.socket.write(Buffer.concat(batch));
      await new Promise((r) => setImmediate(r));
    }
    await Promise.race([raw.ended, new Promise((r) => setTimeout(r, 5000).unref())]);
    raw.socket.destroy();
    assert.equal(raw.goaway(), h2c.NGHTTP2_ENHANCE_YOUR_CALM, `cut with ENHANCE_YOUR_CALM after ${resets} resets`);
    assert.ok(resets < 1000, `cut after ${resets} resets, before nghttp2's own limit`);
    assert.ok(slowStarted() - before <= LIMIT, `few reached the upstream (${slowStarted() - before})`);
  });

  it('still cuts a connection that pays for resets with upstream completions, at a ceiling', async () => {
    const session = await h2Session(gw.url, { ca: pki.caPem });
    session.on('error', () => {});
    const watch = cutWatch(session);
    const started = performance.now();
    let resets = 0;
    while (!watch.ended() && resets < 5000) {
      const s = session.request({ ':path': `/slow/paid/${resets}` });
      s.on('error', () => {});
      s.close(h2c.NGHTTP2_CANCEL);
      resets++;
      const status = await h2Request(session, { ':path': `/ok/${resets}` }).then((r) => r.status, () => 0);
      assert.ok(status === 200 || status === 0, String(status));
    }
    await settled(watch);
    assert.equal(watch.code(), h2c.NGHTTP2_ENHANCE_YOUR_CALM, `cut with ENHANCE_YOUR_CALM after ${resets} resets`);
    // A burst of ten times the limit, refilled at a tenth of the limit per second.
    const ceiling = 10 * LIMIT + Math.ceil(((performance.now() - started) / 1000) * (LIMIT / 10)) + 1;
    assert.ok(resets <= ceiling, `at most ten times the limit plus its refill: ${resets} of ${ceiling}`);
    assert.ok(resets >= 10 * LIMIT, `no cut before the burst was spent (${resets})`);
    session.destroy();
  });
});


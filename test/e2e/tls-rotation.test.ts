/**
 * Certificate rotation without downtime: files replaced on disk (watched) or
 * a reload swap the certificates in place. A client loop running the whole
 * time (fresh handshakes and kept-alive connections) sees no failure; a
 * broken replacement is refused with a log line and the old one serves on.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { writeFileAtomic } from '../../src/ca/store.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { makePki, tlsHandshake, type IssuedFiles, type Pki } from '../helpers/tls.js';

const fingerprint = (files: IssuedFiles) => new X509Certificate(files.certPem).fingerprint256.replace(/:/g, '').toLowerCase();

interface LoopResult {
  ok: number;
  failures: string[];
  /** Fingerprints seen on fresh handshakes, in order. */
  seen: string[];
}

/** Requests in a loop until stopped: `fresh` workers handshake every time, the others reuse one kept-alive connection each. */
function clientLoop(url: string, ca: string, workers: { fresh: number; kept: number }): { result: LoopResult; stop: () => Promise<LoopResult> } {
  const result: LoopResult = { ok: 0, failures: [], seen: [] };
  let running = true;
  const u = new URL(url);
  const once = (agent: Agent | false) =>
    new Promise<void>((resolve) => {
      const req = request({ host: u.hostname, port: u.port, path: '/echo', ca, servername: 'localhost', agent, timeout: 5000 }, (res) => {
        const socket = res.socket as TLSSocket;
        if (agent === false) result.seen.push(socket.getPeerX509Certificate()!.fingerprint256.replace(/:/g, '').toLowerCase());
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) result.ok++;
          else result.failures.push(`status ${res.statusCode}`);
          resolve();
        });
      });
      req.on('error', (err) => {
        result.failures.push(err.message);
        resolve();
      });
      req.end();
    });
  const loops: Promise<void>[] = [];
  const agents: Agent[] = [];
  for (let i = 0; i < workers.fresh; i++) loops.push((async () => { while (running) await once(false); })());
  for (let i = 0; i < workers.kept; i++) {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    loops.push((async () => { while (running) await once(agent); })());
  }
  return {
    result,
    async stop() {
      running = false;
      await Promise.all(loops);
      for (const agent of agents) agent.destroy();
      return result;
    },
  };
}

/** Polls `done` until it holds; fails the test with `what` after a generous deadline. */
async function until(done: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    assert.ok(Date.now() < deadline, what);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('certificate rotation', () => {
  let pki: Pki;
  let upstream: TestUpstream;
  let gw: TestGateway;
  let v1: IssuedFiles;
  let current: IssuedFiles;

  const config = (certFile: string, keyFile: string) => `
listeners:
  - name: main
    address: "127.0.0.1:0"
    protocol: https
    tls:
      certificates: [{ cert: ${certFile}, key: ${keyFile} }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: all, service: echo, public: true }]
`;

  /** Issues a new certificate and puts it in place the way `portcullis ca issue` does: key first, each file renamed into place. */
  const replace = async (name: string, target: string): Promise<IssuedFiles> => {
    const issued = await pki.issue(name, { dns: ['localhost'], ips: ['127.0.0.1'] });
    writeFileAtomic(join(pki.dir, `${target}.key`), issued.keyPem, 0o600);
    writeFileAtomic(join(pki.dir, `${target}.crt`), issued.certPem, 0o644);
    return issued;
  };

  before(async () => {
    pki = await makePki();
    v1 = await pki.issue('live', { dns: ['localhost'], ips: ['127.0.0.1'] });
    current = v1;
    upstream = await startUpstream();
    gw = await startGateway(config('live.crt', 'live.key'), { dir: pki.dir });
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('swaps certificates replaced on disk under a running client loop: no request fails, new handshakes get the new certificate', async () => {
    const loop = clientLoop(gw.url, pki.caPem, { fresh: 3, kept: 3 });
    // Counted, not timed (a loaded machine runs fewer requests a second): some traffic before the swap...
    await until(() => loop.result.ok >= 30 && loop.result.seen.length >= 3, 'the loop ran before the swap');
    const reloads = gw.logs.filter((l) => l.msg === 'TLS certificates reloaded').length;
    const v2 = await replace('v2', 'live');
    current = v2;
    await gw.waitForLog((l) => l.msg === 'TLS certificates reloaded' && gw.logs.filter((x) => x.msg === 'TLS certificates reloaded').length > reloads, 10_000);
    // ...and some after it, so handshakes on the new certificate are part of it.
    const okAtSwap = loop.result.ok;
    const seenAtSwap = loop.result.seen.length;
    await until(() => loop.result.ok >= okAtSwap + 30 && loop.result.seen.length >= seenAtSwap + 3, 'the loop ran after the swap');
    const result = await loop.stop();
    assert.deepEqual(result.failures, [], 'no request failed');
    assert.ok(result.seen.includes(fingerprint(v1)), 'handshakes before the swap got the old certificate');
    assert.equal(result.seen.at(-1), fingerprint(v2), 'handshakes after the swap get the new one');
    const firstNew = result.seen.indexOf(fingerprint(v2));
    assert.ok(result.seen.slice(firstNew).every((f) => f === fingerprint(v2)), 'never the old one again once the new one served');
  });

  it('refuses a key that does not match, or a broken certificate, with a clear log line, and keeps serving the old certificate', async () => {
    const stray = await pki.issue('stray', { dns: ['localhost'] });
    writeFileAtomic(join(pki.dir, 'live.key'), stray.keyPem, 0o600);
    const mismatch = await gw.waitForLog((l) => l.msg === 'TLS certificate reload refused: the previous certificates keep serving' && String(l.problems).includes('does not match'), 10_000);
    assert.equal(mismatch.level, 'error');
    assert.match(String(mismatch.problems), /tls\.certificates\.0\.key: live\.key with live\.crt: the private key does not match the certificate/);
    assert.equal((await tlsHandshake(gw.port, { ca: pki.caPem, servername: 'localhost' })).fingerprint256, fingerprint(current));

    writeFileSync(join(pki.dir, 'live.crt'), 'not a certificate\n');
    await gw.waitForLog((l) => l.msg === 'TLS certificate reload refused: the previous certificates keep serving' && String(l.problems).includes('holds no PEM certificate'), 10_000);
    assert.equal((await tlsHandshake(gw.port, { ca: pki.caPem, servername: 'localhost' })).fingerprint256, fingerprint(current));

    const good = await replace('v3', 'live');
    const deadline = Date.now() + 10_000;
    while ((await tlsHandshake(gw.port, { ca: pki.caPem, servername: 'localhost' })).fingerprint256 !== fingerprint(good)) {
      assert.ok(Date.now() < deadline, 'the repaired pair was picked up');
      await new Promise((r) => setTimeout(r, 100));
    }
    current = good;
  });

  it('swaps the certificates of a reload in place: same listener, open connections keep working', async () => {
    const listenerBefore = gw.gateway.listeners.get('main')!;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ status: number; socket: TLSSocket }>((resolve, reject) => {
        const u = new URL(gw.url);
        request({ host: u.hostname, port: u.port, path: '/echo', ca: pki.caPem, servername: 'localhost', agent }, (res) => {
          const socket = res.socket as TLSSocket;
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, socket }));
        })
          .on('error', reject)
          .end();
      });
    try {
      const first = await get();
      assert.equal(first.socket.getPeerX509Certificate()!.fingerprint256.replace(/:/g, '').toLowerCase(), fingerprint(current));
      const other = await pki.issue('other', { dns: ['localhost'], ips: ['127.0.0.1'] });
      const result = await gw.reload(config('other.crt', 'other.key'));
      assert.equal(result.ok, true);
      const after = gw.gateway.listeners.get('main')!;
      assert.equal(after.front, listenerBefore.front, 'the listener was not reopened');
      assert.equal(after.url, listenerBefore.url);
      const kept = await get();
      assert.equal(kept.status, 200, 'the kept-alive connection still works');
      assert.equal(kept.socket, first.socket, 'on the connection made with the old certificate');
      assert.equal((await tlsHandshake(gw.port, { ca: pki.caPem, servername: 'localhost' })).fingerprint256, fingerprint(other), 'new handshakes get the new one');
    } finally {
      agent.destroy();
    }
  });
});

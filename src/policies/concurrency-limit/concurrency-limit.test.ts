/**
 * concurrency-limit over real sockets: slots, the waiting queue, refusals,
 * and no leaked slot after thousands of requests ended every possible way
 * (answered, upstream error, upstream timeout, client abort, refused).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Pool } from 'undici';
import { send, startGateway, type TestGateway } from '../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../test/helpers/upstream.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('concurrency-limit', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  /** Requests the upstream holds until the test lets them go. */
  const held: Array<() => void> = [];
  /** Responses whose head the upstream sent (no response timeout applies) and whose body it holds until the test lets them go. */
  const parked: Array<() => void> = [];

  before(async () => {
    upstream = await startUpstream((req, res) => {
      const url = req.url ?? '';
      const answer = () => {
        if (!res.destroyed) res.end('ok');
      };
      if (url.includes('hold')) held.push(answer);
      else if (url.includes('park')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.flushHeaders();
        parked.push(answer);
      }
      else if (url.includes('error')) req.socket.destroy();
      else if (url.includes('timeout')) setTimeout(answer, 3000);
      else if (url.includes('slow')) setTimeout(answer, 30);
      else answer();
    });
    gw = await startGateway(`
gateway: { access_log: false }
listeners: [{ name: main, address: "127.0.0.1:0" }]
services:
  - name: api
    targets: [{ url: "${upstream.url}" }]
    timeouts: { response: 200ms }
    retries: { attempts: 0 }
  # Held requests must outlive the queue timeouts below: a long response timeout.
  - name: held
    targets: [{ url: "${upstream.url}" }]
    timeouts: { response: 10s }
    retries: { attempts: 0 }
routes:
  - name: route
    service: held
    public: true
    match: { paths: [/route] }
    policies:
      - concurrency-limit: { max: 2, queue: { size: 1, timeout: 300ms }, retry_after: 2s }
  - name: caller
    service: held
    public: true
    match: { paths: [/caller] }
    policies:
      - concurrency-limit: { max: 1, by: ip, queue: { size: 0 } }
  - name: mixed
    service: api
    public: true
    match: { paths: [/mixed] }
    policies:
      - concurrency-limit: { max: 20, queue: { size: 20, timeout: 200ms } }
`);
  });
  after(async () => {
    for (const release of [...held.splice(0), ...parked.splice(0)]) release();
    await gw.close();
    await upstream.close();
  });

  async function waitForHeld(n: number): Promise<void> {
    const deadline = Date.now() + 5000;
    while (held.length < n) {
      if (Date.now() > deadline) throw new Error(`${held.length} of ${n} requests reached the upstream`);
      await sleep(5);
    }
  }

  it('holds the limit, queues the next, refuses beyond the queue with 503 and Retry-After', async () => {
    const first = [send(gw.url, '/route/hold'), send(gw.url, '/route/hold')];
    await waitForHeld(2);
    const queued = send(gw.url, '/route/hold');
    await sleep(50);
    const refused = await send(gw.url, '/route/hold');
    assert.equal(refused.status, 503);
    assert.equal(refused.headers['retry-after'], '2');
    assert.equal(refused.json<{ error: { code: string } }>().error.code, 'concurrency_limited');
    assert.equal(held.length, 2, 'the queued request has not reached the upstream');
    held.shift()!();
    await waitForHeld(2); // the queued one took the freed slot
    for (const release of held.splice(0)) release();
    assert.deepEqual((await Promise.all([...first, queued])).map((r) => r.status), [200, 200, 200]);
  });

  it('refuses a request that waited too long', async () => {
    const busy = [send(gw.url, '/route/hold'), send(gw.url, '/route/hold')];
    await waitForHeld(2);
    const waited = await send(gw.url, '/route/hold');
    assert.equal(waited.status, 503);
    for (const release of held.splice(0)) release();
    await Promise.all(busy);
  });

  it('answers 429 when the limit is per caller', async () => {
    const busy = send(gw.url, '/caller/hold');
    await waitForHeld(1);
    const refused = await send(gw.url, '/caller/hold');
    assert.equal(refused.status, 429);
    assert.equal(refused.json<{ error: { code: string } }>().error.code, 'concurrency_limited');
    for (const release of held.splice(0)) release();
    assert.equal((await busy).status, 200);
  });

  it('leaks no slot after 3,000 requests ended by answers, errors, timeouts, aborts and refusals', async (t) => {
    const pool = new Pool(gw.url, { connections: 44 });
    // Upstream timeouts are one request in a hundred.
    const kinds = ['ok', 'ok', 'ok', 'slow', 'ok', 'error', 'abort', 'ok', 'ok', 'ok', 'abort', 'ok'];
    const tally = new Map<string, number>();
    let next = 0;
    const total = 3_000; // 30 upstream timeouts, 250 upstream errors, 500 aborts among them: a slot lost by any kind shows below
    /** While set, the workers wait before their next request (see squeeze below). */
    let paused: Promise<void> | undefined;
    const worker = async () => {
      while (next < total) {
        if (paused) await paused;
        const i = next++;
        const kind = i % 100 === 50 ? 'timeout' : kinds[i % kinds.length]!;
        const controller = new AbortController();
        if (kind === 'abort') setTimeout(() => controller.abort(), 5 + (i % 20));
        let outcome: string;
        try {
          const res = await pool.request({ path: `/mixed/${kind === 'abort' ? 'slow' : kind}`, method: 'GET', signal: controller.signal });
          await res.body.dump();
          outcome = String(res.statusCode);
        } catch {
          outcome = 'aborted';
        }
        tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
      }
    };
    // More workers than slots + queue, so some are refused when they all wait at once. That alone depends on
    // timing (on a loaded machine, too few were inside the gateway at once to be refused), so in the thick of the
    // load every slot is also taken for a while by responses the upstream holds open after their head (no
    // response timeout applies): the workers pause while these take the slots, then all 44 come back at once,
    // queue and time out or find the queue full, and are refused (503) between everything else still in flight.
    const squeeze = async () => {
      while (next < total / 4) await sleep(5);
      let resume!: () => void;
      paused = new Promise<void>((r) => (resume = r));
      // Well within the upstream body idle timeout (60s), which would end the held responses.
      const deadline = Date.now() + 30_000;
      const calls: Array<Promise<void>> = [];
      let live = 0; // parking requests sent and not refused: parked, or on their way
      try {
        while (parked.length < 20) {
          if (Date.now() > deadline) throw new Error(`only ${parked.length} of 20 slots held`);
          // A parking request may wait in the queue behind the workers' last requests and be refused: send another then.
          if (live < 20) {
            live++;
            calls.push(
              send(gw.url, '/mixed/park').then((res) => {
                if (res.status !== 200) live--;
                tally.set(String(res.status), (tally.get(String(res.status)) ?? 0) + 1);
              }),
            );
          }
          await sleep(5);
        }
      } finally {
        paused = undefined;
        resume();
      }
      const refusedBefore = tally.get('503') ?? 0;
      while ((tally.get('503') ?? 0) === refusedBefore) {
        if (Date.now() > deadline) throw new Error('no refusal while every slot was held');
        await sleep(5);
      }
      for (const release of parked.splice(0)) release();
      await Promise.all(calls);
    };
    await Promise.all([...Array.from({ length: 44 }, worker), squeeze()]);
    await pool.close();
    t.diagnostic(`outcomes: ${JSON.stringify(Object.fromEntries(tally))}`);
    for (const status of ['200', '502', '503', '504', 'aborted']) assert.ok((tally.get(status) ?? 0) > 0, `some requests ended ${status}`);

    // Every slot came back: twenty held requests all reach the upstream, the next one waits.
    await sleep(300);
    const twenty = Array.from({ length: 20 }, () => send(gw.url, '/mixed/hold'));
    await waitForHeld(20);
    const next21 = send(gw.url, '/mixed/hold');
    await sleep(50);
    assert.equal(held.length, 20, 'the 21st waits for a slot');
    for (const release of held.splice(0)) release();
    await waitForHeld(1);
    for (const release of held.splice(0)) release();
    const statuses = (await Promise.all([...twenty, next21])).map((r) => r.status);
    assert.deepEqual(statuses, Array.from({ length: 21 }, () => 200));
  });
});

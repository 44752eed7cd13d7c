/**
 * Upstreams that are down, slow, failing or flapping: timeouts, retries,
 * passive and active health checks, circuit breakers.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { echo, startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startUnansweredPort } from '../helpers/unanswered.js';

/** A port with nothing listening on it. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function gatewayFor(service: string, route = '') {
  return `
listeners: [{ name: main, address: "127.0.0.1:0" }]
services:
${service}
routes:
  - { name: r, service: s, public: true, match: { paths: [/] } ${route} }
`;
}

describe('upstream failures', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });
  async function gateway(yaml: string): Promise<TestGateway> {
    const gw = await startGateway(yaml);
    cleanup.push(() => gw.close());
    return gw;
  }
  async function upstream(handler = echo): Promise<TestUpstream> {
    const u = await startUpstream(handler);
    cleanup.push(() => u.close());
    return u;
  }

  it('answers 502 bad_gateway when the only target refuses connections', async () => {
    const port = await deadPort();
    const gw = await gateway(gatewayFor(`  - { name: s, targets: [{ url: "http://127.0.0.1:${port}" }], retries: { attempts: 0 } }`));
    const res = await send(gw.url, '/x');
    assert.equal(res.status, 502);
    assert.equal(res.json().error.code, 'bad_gateway');
    assert.ok(!res.text.includes(String(port)), 'no upstream internals in the error');
  });

  it('retries an idempotent request on another target after a connect failure', async () => {
    const port = await deadPort();
    const live = await upstream();
    const gw = await gateway(
      gatewayFor(`  - { name: s, targets: [{ url: "http://127.0.0.1:${port}" }, { url: "${live.url}" }], retries: { attempts: 1, on: [connect-failure] } }`),
    );
    for (let i = 0; i < 4; i++) assert.equal((await send(gw.url, `/x${i}`)).status, 200);
    const line = await gw.waitForLog((l) => l.msg === 'retrying upstream request');
    assert.equal(line.service, 's');
  });

  it('answers 504 gateway_timeout when connecting takes longer than timeouts.connect, and logs which target', async () => {
    const hole = await startUnansweredPort();
    cleanup.push(() => hole.close());
    const gw = await gateway(gatewayFor(`  - { name: s, targets: [{ url: "http://127.0.0.1:${hole.port}" }], timeouts: { connect: 300ms }, retries: { attempts: 0 } }`));
    const res = await send(gw.url, '/x');
    assert.equal(res.status, 504);
    assert.equal(res.json().error.code, 'gateway_timeout');
    const line = await gw.waitForLog((l) => l.msg === 'upstream request failed' && l.request_id === res.headers['x-request-id']);
    assert.equal(line.target, `http://127.0.0.1:${hole.port}`);
    assert.equal(line.code, 'UND_ERR_CONNECT_TIMEOUT');
  });

  it('answers 504 gateway_timeout when the upstream is slower than timeouts.response', async () => {
    // 800 ms: later than the 200 ms timeout, earlier than the ~1 s undici's own coarse timer would fire at.
    const slow = await upstream((_req, res) => {
      setTimeout(() => res.end('late'), 800);
    });
    const gw = await gateway(gatewayFor(`  - { name: s, targets: [{ url: "${slow.url}" }], timeouts: { response: 200ms }, retries: { attempts: 0 } }`));
    const res = await send(gw.url, '/slow');
    assert.equal(res.status, 504);
    assert.equal(res.json().error.code, 'gateway_timeout');
  });

  it('does not count a client\'s slow upload against the upstream: no 504, the target stays in', async () => {
    const live = await upstream();
    const gw = await gateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
gateway: { limits: { min_body_rate: 100, body_rate_window: 1s } }
services:
  - name: s
    targets: [{ url: "${live.url}" }]
    timeouts: { response: 300ms }
    health: { passive: { failures: 2, window: 30s, cooldown: 30s } }
routes:
  - { name: r, service: s, public: true, match: { paths: [/] } }
`);
    // Two uploads at 200 bytes a second (above min_body_rate) that take longer than timeouts.response.
    const upload = async (): Promise<string> => {
      const socket = connect(gw.port, '127.0.0.1');
      socket.on('error', () => {});
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      await new Promise((r) => socket.once('connect', r));
      socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\nConnection: close\r\n\r\n');
      for (let i = 0; i < 10 && !socket.destroyed; i++) {
        await sleep(100);
        socket.write('x'.repeat(20));
      }
      await Promise.race([new Promise((r) => socket.once('close', r)), sleep(5000)]);
      socket.destroy();
      return text;
    };
    const replies = await Promise.all([upload(), upload()]);
    for (const reply of replies) assert.match(reply, /^HTTP\/1\.1 200 /, reply.slice(0, 200));
    assert.equal((await send(gw.url, '/after')).status, 200, 'the target was not taken out');
  });

  it('still answers 504 when the upstream is slow once the whole body is sent', async () => {
    const slow = await upstream((_req, res) => {
      setTimeout(() => res.end('late'), 800);
    });
    const gw = await gateway(gatewayFor(`  - { name: s, targets: [{ url: "${slow.url}" }], timeouts: { response: 200ms }, retries: { attempts: 0 } }`));
    const res = await send(gw.url, '/slow', { method: 'POST', body: 'a body' });
    assert.equal(res.status, 504);
  });

  it('cuts the client connection when the upstream stalls mid-body past timeouts.idle', async () => {
    const stall = await upstream((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only part of it');
    });
    const gw = await gateway(gatewayFor(`  - { name: s, targets: [{ url: "${stall.url}" }], timeouts: { idle: 200ms } }`));
    await assert.rejects(send(gw.url, '/stall'));
  });

  it('retries GET on a configured status but never POST', async () => {
    let calls = 0;
    const flaky = await upstream((req, res, seen) => {
      calls++;
      if (calls % 2 === 1) {
        res.writeHead(503).end('busy');
        return;
      }
      echo(req, res, seen);
    });
    const gw = await gateway(gatewayFor(`  - { name: s, targets: [{ url: "${flaky.url}" }], retries: { attempts: 2, on: [503] } }`));
    const get = await send(gw.url, '/retry-me');
    assert.equal(get.status, 200);
    assert.equal(calls, 2);
    const post = await send(gw.url, '/no-retry', { method: 'POST', body: 'x' });
    assert.equal(post.status, 503);
    assert.equal(calls, 3);
  });

  it('answers 503 upstream_unavailable when every target is out', async () => {
    const port = await deadPort();
    const gw = await gateway(
      gatewayFor(`  - name: s
    targets: [{ url: "http://127.0.0.1:${port}" }]
    retries: { attempts: 0 }
    health: { passive: { failures: 2, window: 10s, cooldown: 10s } }`),
    );
    assert.equal((await send(gw.url, '/a')).status, 502);
    assert.equal((await send(gw.url, '/b')).status, 502);
    await gw.waitForLog((l) => l.msg === 'target unhealthy');
    const res = await send(gw.url, '/c');
    assert.equal(res.status, 503);
    assert.equal(res.json().error.code, 'upstream_unavailable');
  });

  it('takes a failing target out passively and sends traffic to the healthy one', async () => {
    const bad = await upstream((_req, res) => res.writeHead(500).end('broken'));
    const good = await upstream();
    const gw = await gateway(
      gatewayFor(`  - name: s
    targets: [{ url: "${bad.url}" }, { url: "${good.url}" }]
    retries: { attempts: 0 }
    health: { passive: { failures: 2, window: 10s, cooldown: 30s } }`),
    );
    for (let i = 0; i < 6; i++) await send(gw.url, `/warm${i}`);
    const line = await gw.waitForLog((l) => l.msg === 'target unhealthy');
    assert.equal(line.target, bad.url);
    const before = bad.seen.length;
    for (let i = 0; i < 10; i++) assert.equal((await send(gw.url, `/after${i}`)).status, 200);
    assert.equal(bad.seen.length, before, 'the unhealthy target got no more traffic');
  });

  it('follows a flapping target with active health checks: out when /healthz fails, back when it recovers', async () => {
    let healthy = true;
    const flapping = await upstream((req, res, seen) => {
      if (req.url === '/healthz') {
        res.writeHead(healthy ? 200 : 503).end();
        return;
      }
      echo(req, res, seen);
    });
    const steady = await upstream();
    const gw = await gateway(
      gatewayFor(`  - name: s
    targets: [{ url: "${flapping.url}" }, { url: "${steady.url}" }]
    health: { active: { path: /healthz, interval: 50ms, timeout: 500ms, healthy_threshold: 2, unhealthy_threshold: 2 } }`),
    );
    healthy = false;
    await gw.waitForLog((l) => l.msg === 'target unhealthy' && l.target === flapping.url);
    const during = flapping.seen.filter((s) => s.url !== '/healthz').length;
    for (let i = 0; i < 6; i++) assert.equal((await send(gw.url, `/down${i}`)).status, 200);
    assert.equal(flapping.seen.filter((s) => s.url !== '/healthz').length, during);
    healthy = true;
    await gw.waitForLog((l) => l.msg === 'target healthy' && l.target === flapping.url);
    for (let i = 0; i < 6; i++) await send(gw.url, `/up${i}`);
    assert.ok(flapping.seen.filter((s) => s.url.startsWith('/up')).length > 0, 'traffic returned to the recovered target');
  });

  it('opens the circuit after consecutive failures, probes once after open_for, and closes on success', async () => {
    let failing = true;
    const target = await upstream((req, res, seen) => {
      if (failing) res.writeHead(502).end('bad');
      else echo(req, res, seen);
    });
    const gw = await gateway(
      gatewayFor(`  - name: s
    targets: [{ url: "${target.url}" }]
    retries: { attempts: 0 }
    breaker: { failures: 3, open_for: 300ms }`),
    );
    for (let i = 0; i < 3; i++) assert.equal((await send(gw.url, `/f${i}`)).status, 502);
    await gw.waitForLog((l) => l.msg === 'circuit breaker open');
    const seenWhileOpen = target.seen.length;
    const open = await send(gw.url, '/while-open');
    assert.equal(open.status, 503, 'an open circuit refuses without calling the target');
    assert.equal(target.seen.length, seenWhileOpen);
    failing = false;
    await sleep(350);
    assert.equal((await send(gw.url, '/probe')).status, 200);
    await gw.waitForLog((l) => l.msg === 'circuit breaker closed');
    assert.equal((await send(gw.url, '/after')).status, 200);
  });
});

describe('load balancing', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  async function three() {
    const list = [await startUpstream(), await startUpstream(), await startUpstream()];
    for (const u of list) cleanup.push(() => u.close());
    return list;
  }

  it('spreads weighted round-robin in proportion to weight', async () => {
    const [a, b, c] = await three();
    const gw = await startGateway(gatewayFor(`  - name: s
    targets: [{ url: "${a!.url}", weight: 3 }, { url: "${b!.url}", weight: 1 }, { url: "${c!.url}", weight: 0 }]`));
    cleanup.push(() => gw.close());
    for (let i = 0; i < 40; i++) await send(gw.url, '/rr');
    assert.equal(a!.seen.length, 30);
    assert.equal(b!.seen.length, 10);
    assert.equal(c!.seen.length, 0, 'weight 0 takes no traffic');
  });

  it('keeps a consistent-hash key on one target', async () => {
    const targets = await three();
    const gw = await startGateway(gatewayFor(`  - name: s
    balance: consistent-hash
    hash_on: header
    hash_header: x-user
    targets: [${targets.map((t) => `{ url: "${t.url}" }`).join(', ')}]`));
    cleanup.push(() => gw.close());
    const ports = new Map<string, Set<string>>();
    // 24 keys: the chance that all of them hash to one of three targets is negligible.
    for (let i = 0; i < 72; i++) {
      const user = `user-${i % 24}`;
      const res = await send(gw.url, '/h', { headers: { 'x-user': user } });
      if (!ports.has(user)) ports.set(user, new Set());
      ports.get(user)!.add(String(res.headers['x-upstream-port']));
    }
    for (const [user, set] of ports) assert.equal(set.size, 1, `${user} stayed on one target`);
    assert.ok(new Set([...ports.values()].map((s) => [...s][0])).size > 1, 'keys spread over more than one target');
  });

  it('keeps a client IP (behind a trusted proxy) and a consumer on one target with consistent-hash', async () => {
    const targets = await three();
    const list = targets.map((t) => `{ url: "${t.url}" }`).join(', ');
    const keys = Array.from({ length: 24 }, (_, i) => `key-${i}-0123456789`);
    const gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
gateway: { trusted_proxies: [127.0.0.1/32] }
services:
  - { name: by-ip, balance: consistent-hash, hash_on: client_ip, targets: [${list}] }
  - { name: by-consumer, balance: consistent-hash, hash_on: consumer, targets: [${list}] }
routes:
  - { name: ip, service: by-ip, public: true, match: { paths: [/ip] } }
  - { name: consumer, service: by-consumer, match: { paths: [/consumer] }, policies: [{ key-auth: {} }] }
consumers:
${keys.map((k, i) => `  - { name: c${i}, credentials: { key-auth: [{ key: ${k} }] } }`).join('\n')}
`);
    cleanup.push(() => gw.close());
    const stays = async (path: string, headersFor: (i: number) => Record<string, string>) => {
      const seen = new Map<number, Set<string>>();
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 24; i++) {
          const res = await send(gw.url, path, { headers: headersFor(i) });
          assert.equal(res.status, 200);
          if (!seen.has(i)) seen.set(i, new Set());
          seen.get(i)!.add(String(res.headers['x-upstream-port']));
        }
      }
      for (const [i, set] of seen) assert.equal(set.size, 1, `${path}: caller ${i} stayed on one target`);
      assert.ok(new Set([...seen.values()].map((set) => [...set][0])).size > 1, `${path}: callers spread over more than one target`);
    };
    await stays('/ip', (i) => ({ 'x-forwarded-for': `203.0.113.${i + 1}` }));
    await stays('/consumer', (i) => ({ 'x-api-key': keys[i]! }));
  });

  it('sends least-connections traffic away from a target holding slow requests', async () => {
    const slowOnes: Array<() => void> = [];
    const slow = await startUpstream((req, res, seen) => {
      if (req.url === '/hold') slowOnes.push(() => echo(req, res, seen));
      else echo(req, res, seen);
    });
    const fast = await startUpstream();
    cleanup.push(() => slow.close(), () => fast.close());
    const gw = await startGateway(gatewayFor(`  - name: s
    balance: least-connections
    targets: [{ url: "${slow.url}" }, { url: "${fast.url}" }]`));
    cleanup.push(() => gw.close());
    // Two held requests pin down whichever targets they land on; the next requests go to the less loaded one.
    const held = [send(gw.url, '/hold'), send(gw.url, '/hold'), send(gw.url, '/hold'), send(gw.url, '/hold')];
    await new Promise<void>((resolve) => {
      const tick = () => (slowOnes.length >= 2 ? resolve() : setTimeout(tick, 5));
      tick();
    });
    // Count only /quick: a /hold that the fast target answers may still be arriving.
    const quickAt = (u: typeof fast) => u.seen.filter((r) => r.url === '/quick').length;
    for (let i = 0; i < 5; i++) await send(gw.url, '/quick');
    assert.equal(quickAt(fast), 5, 'all quick requests went to the idle target');
    assert.equal(quickAt(slow), 0);
    for (const release of slowOnes) release();
    await Promise.all(held);
  });

  it('spreads random balancing over every target', async () => {
    const targets = await three();
    const gw = await startGateway(gatewayFor(`  - name: s
    balance: random
    targets: [${targets.map((t) => `{ url: "${t.url}" }`).join(', ')}]`));
    cleanup.push(() => gw.close());
    for (let i = 0; i < 90; i++) await send(gw.url, '/rand');
    for (const t of targets) assert.ok(t.seen.length > 5, `each target got some traffic (${t.seen.length})`);
  });
});

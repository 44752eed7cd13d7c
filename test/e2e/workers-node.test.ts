/**
 * A node of four workers (gateway.workers), as a user runs it: `portcullis
 * start` in a child process, real sockets, real load. A rate limit on the
 * memory store admits exactly its limit across the workers under concurrent
 * load; a reload under load fails no request and reaches every worker; an
 * invalid reload leaves every worker on the running version; a worker killed
 * with SIGKILL mid-traffic is forked again, and only requests it had in
 * flight can fail; SIGTERM drains the node. In EXCLUSIVE (test/all.test.ts):
 * five processes and the load take both cores.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest, Agent } from 'node:http';
import { startCli, runCli, type RunningCli } from '../helpers/cli.js';
import { writeConfig } from '../helpers/gateway.js';
import { freePort } from '../helpers/redis.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const SPAWN_MS = 120_000;
const WORKERS = 4;

interface Answer {
  status: number;
  version: string | undefined;
  error?: string;
}

/** One request on a connection of its own (node:cluster spreads connections across workers), or on `agent`'s. */
function get(port: number, path: string, headers: Record<string, string> = {}, agent?: Agent): Promise<Answer> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers, agent: agent ?? false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, version: res.headers['x-config'] as string | undefined }));
      res.on('error', (err) => resolve({ status: 0, version: undefined, error: err.message }));
    });
    req.on('error', (err) => resolve({ status: 0, version: undefined, error: (err as NodeJS.ErrnoException).code ?? err.message }));
    // node:cluster hands a new connection to a worker and keeps it until that worker accepts it: one handed
    // to the worker as it was killed gets no answer, and the client's own timeout ends it (docs/workers.md).
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/** Keeps `concurrency` requests going until stop() (half on new connections, half on kept-alive ones); every answer recorded. */
function load(port: number, path: string, concurrency: number) {
  const answers: Answer[] = [];
  let running = true;
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const loops = Array.from({ length: concurrency }, async (_, i) => {
    while (running) answers.push(await get(port, path, {}, i % 2 === 0 ? agent : undefined));
  });
  return {
    answers,
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return answers;
    },
  };
}

function config(port: number, adminPort: number, upstream: TestUpstream, version: string): string {
  return `
gateway: { drain_delay: 0s, shutdown_timeout: 10s }
admin: { address: "127.0.0.1:${adminPort}" }
listeners: [{ name: main, address: "127.0.0.1:${port}" }]
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: limited
    service: s
    public: true
    match: { paths: [/limited] }
    policies:
      - rate-limit: { limit: 100, window: 1h, by: "header:x-client" }
  - name: open
    service: s
    public: true
    match: { paths: [/] }
    policies:
      - headers: { response: { set: { x-config: "${version}" } } }
`;
}

async function metric(adminPort: number, name: string): Promise<string[]> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/metrics`);
  const text = await res.text();
  return text.split('\n').filter((l) => l.startsWith(name));
}

describe(`a node of ${WORKERS} workers`, () => {
  let upstream: TestUpstream;
  let node: RunningCli;
  let file: string;
  let port: number;
  let adminPort: number;
  const held: Array<() => void> = [];

  before(async () => {
    upstream = await startUpstream((req, res) => {
      // /held waits until the test lets it go: a request surely in flight.
      if (req.url === '/held') held.push(() => res.end('ok'));
      else res.end('ok');
    });
    [port, adminPort] = [await freePort(), await freePort()];
    file = writeConfig(config(port, adminPort, upstream, 'one'));
    node = startCli(['start', '-c', file], { env: { ...process.env, PORTCULLIS_WORKERS: String(WORKERS) } });
    await node.waitFor(`portcullis: ${WORKERS} workers`, SPAWN_MS);
  });
  after(async () => {
    node.child.kill('SIGKILL');
    await upstream.close();
  });

  it('admits exactly the limit across the workers under concurrent load (memory store)', async () => {
    // 300 requests of one client, 30 at a time, each on a connection of its own: every worker takes some.
    const answers: Answer[] = [];
    for (let wave = 0; wave < 10; wave++) {
      answers.push(...(await Promise.all(Array.from({ length: 30 }, () => get(port, '/limited', { 'x-client': 'alice' })))));
    }
    assert.deepEqual(answers.filter((a) => a.status === 0), [], 'every request was answered');
    const statuses = new Map<number, number>();
    for (const a of answers) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
    assert.deepEqual([...statuses].sort(), [[200, 100], [429, 200]]);
    // Another client has its own 100.
    const bob = await Promise.all(Array.from({ length: 30 }, () => get(port, '/limited', { 'x-client': 'bob' })));
    assert.equal(bob.filter((a) => a.status === 200).length, 30);
    // The node's metrics count every worker's requests.
    const counted = await metric(adminPort, 'portcullis_requests_total{route="limited"');
    const sum = counted.reduce((n, line) => n + Number(line.split(' ').at(-1)), 0);
    assert.equal(sum, 330);
    assert.deepEqual(await metric(adminPort, 'portcullis_workers{state="serving"}'), [`portcullis_workers{state="serving"} ${WORKERS}`]);
  });

  it('starts every worker with the larger young generation (worker-flags.ts)', async () => {
    const ready = () => [...node.output().matchAll(/"worker":\d+,"pid":(\d+),"version":\d+,"msg":"worker ready"/g)].map((m) => Number(m[1]));
    // The node says it listens once the first worker does: the others may still be starting.
    for (let waited = 0; ready().length < WORKERS && waited < SPAWN_MS; waited += 50) await new Promise((r) => setTimeout(r, 50));
    const pids = ready();
    assert.equal(pids.length, WORKERS);
    for (const pid of pids) assert.ok(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('--max-semi-space-size=32'), `worker ${pid}`);
  });

  it('reloads every worker under load and fails no request', async () => {
    const traffic = load(port, '/', 8);
    await new Promise((r) => setTimeout(r, 500));
    writeFileSync(file, config(port, adminPort, upstream, 'two'));
    const reloaded = await runCli(['reload', '-c', file], { timeoutMs: 60_000 });
    assert.equal(reloaded.stdout, 'reloaded: config version 2\n', reloaded.stderr);
    // Some load after the swap too: counted, not timed (a loaded machine runs fewer requests a second).
    const atSwap = traffic.answers.length;
    for (const deadline = Date.now() + 30_000; traffic.answers.length < atSwap + 20 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
    const answers = await traffic.stop();
    assert.ok(answers.length > 50, `load ran (${answers.length} requests)`);
    assert.deepEqual(answers.filter((a) => a.status !== 200), [], 'no request failed during the reload');
    // Every worker now answers with the new config: 40 new connections, spread across the workers.
    const after = await Promise.all(Array.from({ length: 40 }, () => get(port, '/')));
    assert.deepEqual(new Set(after.map((a) => a.version)), new Set(['two']));
    assert.deepEqual(await metric(adminPort, 'portcullis_config_version'), ['portcullis_config_version 2']);
  });

  it('refuses an invalid reload and leaves every worker on the running version', async () => {
    writeFileSync(file, config(port, adminPort, upstream, 'three').replace('limit: 100', 'limit: lots'));
    const refused = await runCli(['reload', '-c', file], { timeoutMs: 60_000 });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /reload refused; the running config keeps serving/);
    assert.match(refused.stderr, /gateway.yaml:12: routes\[0\].policies\[0\].rate-limit.limit: expected integer/);
    const answers = await Promise.all(Array.from({ length: 40 }, () => get(port, '/')));
    assert.deepEqual(new Set(answers.map((a) => a.version)), new Set(['two']));
    assert.deepEqual(await metric(adminPort, 'portcullis_config_version'), ['portcullis_config_version 2']);
    writeFileSync(file, config(port, adminPort, upstream, 'two'));
  });

  it('forks a worker killed mid-traffic again; only requests it had in flight can fail', async () => {
    const pids = [...node.output().matchAll(/"worker":(\d+),"pid":(\d+),"version":\d+,"msg":"worker ready"/g)];
    const victim = Number(pids.find((m) => m[1] === '2')!.at(-1));
    const concurrency = 8;
    const traffic = load(port, '/', concurrency);
    const answered = async (n: number) => {
      while (traffic.answers.length < n) await new Promise((r) => setTimeout(r, 20));
    };
    await answered(20);
    const before = traffic.answers.length;
    process.kill(victim, 'SIGKILL');
    await node.waitFor(/"worker":2,"pid":\d+,"reason":"SIGKILL","restart_in_ms":100/, 20_000);
    // Traffic goes on after the kill, on the workers left.
    await answered(before + 40);
    const answers = await traffic.stop();
    const failed = answers.filter((a) => a.status !== 200);
    // A request fails only if the killed worker held it: at most one per connection in flight.
    assert.ok(failed.length <= concurrency, `${failed.length} failed: ${JSON.stringify(failed.slice(0, 3))}`);
    await node.waitFor(new RegExp(`"worker":2,"pid":(?!${victim})\\d+,"version":2,"msg":"worker ready"`), SPAWN_MS);
    assert.deepEqual(await metric(adminPort, 'portcullis_worker_restarts_total'), ['portcullis_worker_restarts_total{reason="SIGKILL"} 1']);
    assert.deepEqual(await metric(adminPort, 'portcullis_workers{state="serving"}'), [`portcullis_workers{state="serving"} ${WORKERS}`]);
    // The replacement joined the node's store: the limit spent before the kill stays spent.
    const more = await Promise.all(Array.from({ length: 20 }, () => get(port, '/limited', { 'x-client': 'alice' })));
    assert.deepEqual(new Set(more.map((a) => a.status)), new Set([429]));
  });

  it('drains every worker on SIGTERM: a request in flight finishes, then the node exits 0', async () => {
    const inflight = get(port, '/held');
    while (held.length === 0) await new Promise((r) => setTimeout(r, 20));
    node.child.kill('SIGTERM');
    await node.waitFor('SIGTERM: finishing in-flight requests');
    // The drain has begun; the request in flight still gets its answer.
    await new Promise((r) => setTimeout(r, 500));
    held.shift()!();
    assert.equal((await inflight).status, 200);
    assert.equal(await node.exited, 0);
    assert.match(node.output(), /SIGTERM: finishing in-flight requests/);
  });
});

/**
 * What a node of four workers (gateway.workers) keeps node-wide beyond its
 * rate limits (workers-node.test.ts): identity-provider keys and metadata are
 * fetched once per node, not once per worker, and an outage still answers 503
 * dependency_unavailable on every worker while the last good keys keep
 * verifying; concurrency-limit on the memory store admits exactly `max`
 * requests in progress across all workers, and the slots a SIGKILLed worker
 * held are freed for the others. Real parts: `portcullis start` in a child
 * process, the real oidc-provider (counting every request it gets), a real
 * upstream holding requests. In EXCLUSIVE (test/all.test.ts): five processes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { request as httpRequest } from 'node:http';
import { generateKeyPair, SignJWT } from 'jose';
import { childCliPids, startCli, type RunningCli } from '../helpers/cli.js';
import { writeConfig } from '../helpers/gateway.js';
import { freePort } from '../helpers/redis.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startIdp, type TestIdp } from '../helpers/idp.js';

const SPAWN_MS = 120_000;
const WORKERS = 4;
const MAX = 5;

interface Answer {
  status: number;
  code?: string;
  error?: string;
}

/** One request on a connection of its own: node:cluster hands each new connection to the next worker. */
function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        let code: string | undefined;
        try {
          code = (JSON.parse(body) as { error?: { code?: string } }).error?.code;
        } catch {
          code = undefined;
        }
        resolve({ status: res.statusCode ?? 0, code });
      });
      res.on('error', (err) => resolve({ status: 0, error: err.message }));
    });
    req.on('error', (err) => resolve({ status: 0, error: (err as NodeJS.ErrnoException).code ?? err.message }));
    req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

const many = (n: number, path: string, headers?: Record<string, string>, port = 0) => Promise.all(Array.from({ length: n }, () => get(port, path, headers)));
const tally = (answers: Answer[]) => {
  const out: Record<string, number> = {};
  for (const a of answers) out[a.status] = (out[a.status] ?? 0) + 1;
  return out;
};
const until = async (what: () => boolean, label: string, ms = 60_000) => {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe(`a node of ${WORKERS} workers: keys fetched once, concurrency slots node-wide`, () => {
  let upstream: TestUpstream;
  let idp: TestIdp;
  let node: RunningCli;
  let port: number;
  /** Requests the upstream holds open now (a request whose connection closed leaves the set). */
  const held = new Set<ServerResponse>();
  const jwksHits = () => idp.hits.filter((h) => h.startsWith('/jwks')).length;
  const discoveryHits = () => idp.hits.filter((h) => h.startsWith('/.well-known/openid-configuration')).length;
  let stranger: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  const strangerToken = (kid: string) =>
    new SignJWT({ sub: 'mallory' }).setProtectedHeader({ alg: 'RS256', kid }).setIssuer(idp.issuer).setIssuedAt().setExpirationTime('5m').sign(stranger);

  before(async () => {
    stranger = (await generateKeyPair('RS256')).privateKey;
    upstream = await startUpstream((req, res) => {
      if (req.url?.startsWith('/slot')) {
        held.add(res);
        res.on('close', () => held.delete(res));
      } else res.end('ok');
    });
    idp = await startIdp();
    port = await freePort();
    const issuer = `{ issuer: "${idp.issuer}", algorithms: [RS256], discovery: true }`;
    const file = writeConfig(`
gateway: { drain_delay: 0s, shutdown_timeout: 5s }
listeners: [{ name: main, address: "127.0.0.1:${port}" }]
services: [{ name: s, targets: [{ url: "${upstream.url}" }], timeouts: { response: 120s } }]
routes:
  - name: slot
    service: s
    public: true
    match: { paths: [/slot] }
    policies:
      - concurrency-limit: { max: ${MAX}, by: route, queue: { size: 0 } }
  - name: api
    service: s
    match: { paths: [/api] }
    policies: [{ jwt: { issuers: [${issuer}], jwks: { cooldown: 1h } } }]
  - name: eager
    service: s
    match: { paths: [/eager] }
    policies: [{ jwt: { issuers: [${issuer}], jwks: { cooldown: 0s, timeout: 2s } } }]
`);
    node = startCli(['start', '-c', file], { env: { ...process.env, PORTCULLIS_WORKERS: String(WORKERS) } });
    await node.waitFor(`portcullis: ${WORKERS} workers`, SPAWN_MS);
  });
  after(async () => {
    node.child.kill('SIGKILL');
    for (const res of held) res.destroy();
    await upstream.close();
    await idp.close();
  });

  it('fetches the provider metadata and keys once for the node, and every worker verifies with them', async () => {
    // Each of the 4 workers prepared two jwt policies on this issuer: 8 would-be fetches of each.
    assert.equal(discoveryHits(), 1, idp.hits.join(' '));
    assert.equal(jwksHits(), 1, idp.hits.join(' '));
    const good = { authorization: `Bearer ${await idp.token()}` };
    // 40 new connections: every worker answers some.
    assert.deepEqual(tally(await many(40, '/api', good, port)), { 200: 40 });
    assert.equal(jwksHits(), 1);
  });

  it('refetches once per node for unknown key ids within the cooldown, however many workers see them', async () => {
    const unknown = { authorization: `Bearer ${await strangerToken('not-a-key-of-the-idp')}` };
    assert.deepEqual(tally(await many(40, '/api', unknown, port)), { 401: 40 });
    assert.equal(jwksHits(), 2, 'one refetch for the whole node');
    assert.deepEqual(tally(await many(40, '/api', unknown, port)), { 401: 40 });
    assert.equal(jwksHits(), 2, 'the node-wide cooldown holds on every worker');
  });

  it('when the provider is down: 503 dependency_unavailable on every worker for a kid it could not look up, the kept keys still verify', async () => {
    const good = { authorization: `Bearer ${await idp.token()}` };
    await idp.stop();
    assert.deepEqual(tally(await many(20, '/api', good, port)), { 200: 20 }, 'known kid: the kept keys verify it');
    const rotated = await many(20, '/eager', { authorization: `Bearer ${await strangerToken('rotated-key')}` }, port);
    assert.deepEqual(tally(rotated), { 503: 20 });
    assert.deepEqual(new Set(rotated.map((a) => a.code)), new Set(['dependency_unavailable']));
  });

  it(`admits exactly ${MAX} requests in progress across the workers`, async () => {
    const answers = many(24, '/slot', {}, port);
    const done: Answer[] = [];
    void answers.then((a) => done.push(...a));
    // The refused ones answer at once; the admitted ones wait at the upstream.
    await until(() => held.size === MAX, `${MAX} held at the upstream`);
    const refused = await Promise.all(Array.from({ length: 20 }, () => get(port, '/slot')));
    assert.deepEqual(tally(refused), { 503: 20 }, 'no slot while all are held, on any worker');
    assert.equal(held.size, MAX);
    for (const res of held) res.end('ok');
    const all = await answers;
    assert.deepEqual(tally(all), { 200: MAX, 503: 24 - MAX });
  });

  it('frees the slots of a worker killed with SIGKILL for the other workers', async () => {
    const first = many(MAX, '/slot', {}, port);
    await until(() => held.size === MAX, `${MAX} held`);
    // A worker: a child process of the supervisor running the CLI (tsx's esbuild service is a child too).
    // Read from /proc rather than the log, where CI twice found no "worker ready" line to read.
    // The kernel spread the 5 connections over 4 workers, so one may hold none: kill workers until one that held a slot goes.
    const workers = childCliPids(node.child.pid!);
    assert.ok(workers.length > 0, 'worker processes of the supervisor');
    for (const victim of workers) {
      process.kill(victim, 'SIGKILL');
      await node.waitFor(new RegExp(`"pid":${victim},"reason":"SIGKILL"`), 20_000);
      const freedSome = await until(() => held.size < MAX, 'a held request to end', 3_000).then(
        () => true,
        () => false,
      );
      if (freedSome) break;
    }
    // The requests the killed worker held ended with it (their upstream requests closed).
    await until(() => held.size < MAX, 'the killed worker\'s requests to end');
    const survivors = held.size;
    const freed = MAX - survivors;
    // Exactly the freed slots are taken again, on the workers left (and the replacement).
    const second = many(10, '/slot', {}, port);
    await until(() => held.size === MAX, `${MAX} held again`);
    const refused = await many(10, '/slot', {}, port);
    assert.deepEqual(tally(refused), { 503: 10 });
    for (const res of held) res.end('ok');
    const answered = tally(await second);
    assert.deepEqual(answered, { 200: freed, 503: 10 - freed });
    const before = tally(await first);
    assert.equal(before[200], survivors, JSON.stringify(before));
  });
});


/**
 * The store contract: every backend gives the same answers to the same
 * calls. Run against the memory store, a real redis-server, a three-node
 * Redis Cluster and a Redis behind Sentinel (all started here on free ports).
 * Keys are fresh per test, so tests never see each other's counts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { MemoryStore } from '../../src/stores/memory.js';
import { RedisStore, type RedisStoreOptions } from '../../src/stores/redis.js';
import type { Store } from '../../src/stores/store.js';
import { startRedis, startRedisCluster, startRedisSentinel } from '../helpers/redis.js';

const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * Windows start on multiples of the window since the epoch (minutes and hours
 * alike end on a minute): in the last two seconds of a minute, wait for the
 * next, so a test's calls fall in one window however slowly a busy machine runs them.
 */
async function awayFromWindowEnd(): Promise<void> {
  const into = Date.now() % 60_000;
  if (into > 58_000) await sleep(60_000 - into + 50);
}
const key = () => `contract:${randomUUID()}`;

interface Backend {
  /** A store as one gateway node sees it; calling it again gives another node on the same data. */
  node(): Promise<Store>;
  close(): Promise<void>;
}

function redisBackend(start: () => Promise<{ options: Partial<RedisStoreOptions>; close(): Promise<void> }>): () => Promise<Backend> {
  return async () => {
    const server = await start();
    const stores: Store[] = [];
    return {
      async node() {
        const store = new RedisStore({ prefix: 'test:', timeoutMs: 2000, connectTimeoutMs: 5000, ...server.options }, silent);
        assert.equal(await store.open(10_000), true, 'connects');
        stores.push(store);
        return store;
      },
      async close() {
        for (const s of stores) await s.close();
        await server.close();
      },
    };
  };
}

const backends: Array<[string, () => Promise<Backend>]> = [
  [
    'memory',
    () => {
      // Nodes of the memory backend share one store: it is one process.
      const store = new MemoryStore({ maxKeys: 100_000 }, silent);
      return Promise.resolve({ node: () => Promise.resolve(store), close: () => store.close() });
    },
  ],
  ['redis', redisBackend(async () => {
    const r = await startRedis();
    return { options: { url: r.url }, close: () => r.close() };
  })],
  ['redis cluster', redisBackend(async () => {
    const c = await startRedisCluster();
    return { options: { cluster: { nodes: c.nodes } }, close: () => c.close() };
  })],
  ['redis sentinel', redisBackend(async () => {
    const s = await startRedisSentinel();
    return { options: { sentinel: { name: s.name, nodes: s.sentinels } }, close: () => s.close() };
  })],
];

for (const [name, makeBackend] of backends) {
  describe(`store contract: ${name}`, () => {
    let backend: Backend;
    let store: Store;
    before(async () => {
      backend = await makeBackend();
      store = await backend.node();
    });
    after(() => backend.close());

    it('admits exactly the limit in a fixed window and refuses the rest without counting them', async () => {
      const k = key();
      const limits = [{ limit: 5, windowMs: 60_000 }];
      const remaining: number[] = [];
      await awayFromWindowEnd();
      for (let i = 0; i < 5; i++) {
        const d = await store.hitWindows(k, limits, false, 1, false);
        assert.equal(d.allowed, true);
        assert.equal(d.granted, 1);
        remaining.push(d.remaining[0]!);
        assert.ok(d.resetMs[0]! > 0 && d.resetMs[0]! <= 60_000);
      }
      assert.deepEqual(remaining, [4, 3, 2, 1, 0]);
      for (let i = 0; i < 3; i++) {
        const d = await store.hitWindows(k, limits, false, 1, false);
        assert.equal(d.allowed, false);
        assert.equal(d.granted, 0);
        assert.equal(d.remaining[0], 0);
        assert.ok(d.retryAfterMs >= 1 && d.retryAfterMs <= 60_000, `retry after ${d.retryAfterMs}`);
      }
    });

    it('checks several limits together: a refusal by one consumes none of the others', async () => {
      await awayFromWindowEnd();
      const k = key();
      const limits = [{ limit: 2, windowMs: 60_000 }, { limit: 3, windowMs: 3_600_000 }];
      assert.equal((await store.hitWindows(k, limits, true, 1, false)).allowed, true);
      const second = await store.hitWindows(k, limits, true, 1, false);
      assert.deepEqual(second.remaining, [0, 1]);
      const third = await store.hitWindows(k, limits, true, 1, false);
      assert.equal(third.allowed, false);
      assert.deepEqual(third.remaining, [0, 1], 'the hour still has 1 left: the refused hit did not count');
      const bigger = await store.hitWindows(k, [{ limit: 10, windowMs: 60_000 }, { limit: 3, windowMs: 3_600_000 }], true, 1, false);
      assert.equal(bigger.allowed, true, 'with room in both, it is admitted');
      assert.deepEqual(bigger.remaining, [7, 0]);
    });

    it('refuses a cost that does not fit, and grants what fits in partial mode', async () => {
      await awayFromWindowEnd();
      const k = key();
      const limits = [{ limit: 5, windowMs: 60_000 }];
      assert.equal((await store.hitWindows(k, limits, false, 3, false)).allowed, true);
      const tooMuch = await store.hitWindows(k, limits, false, 3, false);
      assert.equal(tooMuch.allowed, false);
      assert.equal(tooMuch.remaining[0], 2);
      const partial = await store.hitWindows(k, limits, false, 3, true);
      assert.equal(partial.allowed, true);
      assert.equal(partial.granted, 2);
      assert.equal((await store.hitWindows(k, limits, false, 3, true)).allowed, false);
    });

    it('is atomic under concurrent calls from several nodes', async () => {
      await awayFromWindowEnd();
      const k = key();
      const nodes = [store, await backend.node(), await backend.node()];
      const limits = [{ limit: 20, windowMs: 60_000 }];
      const results = await Promise.all(Array.from({ length: 90 }, (_, i) => Promise.resolve(nodes[i % 3]!.hitWindows(k, limits, true, 1, false))));
      assert.equal(results.filter((r) => r.allowed).length, 20);
    });

    it('admits again once the window has passed (fixed and sliding)', async () => {
      for (const sliding of [false, true]) {
        const k = key();
        const limits = [{ limit: 3, windowMs: 200 }];
        let admitted = 0;
        for (let i = 0; i < 6; i++) if ((await store.hitWindows(k, limits, sliding, 1, false)).allowed) admitted++;
        assert.ok(admitted >= 3, 'at least one full window of hits');
        // Two whole windows later nothing of the earlier hits counts, sliding or not.
        await sleep(450);
        const d = await store.hitWindows(k, limits, sliding, 1, false);
        assert.equal(d.allowed, true);
        assert.equal(d.remaining[0], 2, `sliding=${sliding}`);
      }
    });

    it('weighs the previous window when sliding: a full window keeps refusing just after it ends', async () => {
      const k = key();
      const windowMs = 60_000;
      // Fill the current minute, then ask again: still refused, and the wait is within two windows.
      for (let i = 0; i < 4; i++) await store.hitWindows(k, [{ limit: 4, windowMs }], true, 1, false);
      const d = await store.hitWindows(k, [{ limit: 4, windowMs }], true, 1, false);
      assert.equal(d.allowed, false);
      assert.ok(d.retryAfterMs > 0 && d.retryAfterMs <= 2 * windowMs, `retry after ${d.retryAfterMs}`);
    });

    it('token bucket (GCRA): burst at once, then one token per interval; a refusal takes nothing', async () => {
      const k = key();
      const remaining: number[] = [];
      for (let i = 0; i < 5; i++) {
        const d = await store.takeTokens(k, 60_000, 5, 1);
        assert.equal(d.allowed, true);
        remaining.push(d.remaining);
      }
      assert.deepEqual(remaining, [4, 3, 2, 1, 0]);
      const refused = await store.takeTokens(k, 60_000, 5, 1);
      assert.equal(refused.allowed, false);
      assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 60_000, `retry after ${refused.retryAfterMs}`);
      assert.ok(refused.resetMs > 4 * 60_000 && refused.resetMs <= 5 * 60_000, `reset ${refused.resetMs}`);
      assert.equal((await store.takeTokens(key(), 1000, 3, 4)).allowed, false, 'a cost above the burst never fits');
    });

    it('token bucket refills over time', async () => {
      const k = key();
      assert.equal((await store.takeTokens(k, 100, 2, 2)).allowed, true);
      assert.equal((await store.takeTokens(k, 100, 2, 1)).allowed, false);
      await sleep(350);
      const d = await store.takeTokens(k, 100, 2, 2);
      assert.equal(d.allowed, true, 'two intervals later the bucket holds two tokens again');
    });

    it('token bucket stays exact under concurrent calls from several nodes', async () => {
      const k = key();
      const nodes = [store, await backend.node(), await backend.node()];
      const results = await Promise.all(Array.from({ length: 60 }, (_, i) => Promise.resolve(nodes[i % 3]!.takeTokens(k, 60_000, 15, 1))));
      assert.equal(results.filter((r) => r.allowed).length, 15);
    });

    it('bounded counters add within the limit and expire with their ttl', async () => {
      const k = key();
      const counts: number[] = [];
      for (let i = 0; i < 3; i++) {
        const d = await store.addWithin(k, 3, 1, 300);
        assert.equal(d.allowed, true);
        assert.ok(d.ttlMs > 0 && d.ttlMs <= 300);
        counts.push(d.count);
      }
      assert.deepEqual(counts, [1, 2, 3]);
      const refused = await store.addWithin(k, 3, 1, 300);
      assert.equal(refused.allowed, false);
      assert.equal(refused.count, 3);
      await sleep(500);
      assert.equal((await store.addWithin(k, 3, 1, 300)).count, 1, 'a new period starts from zero');
    });

    it('keyed values: set, get, delete, expire', async () => {
      const k = key();
      assert.equal(await store.get(k), undefined);
      await store.set(k, 'blocked', 60_000);
      assert.equal(await store.get(k), 'blocked');
      const other = await backend.node();
      assert.equal(await other.get(k), 'blocked', 'another node sees it');
      await store.delete(k);
      assert.equal(await store.get(k), undefined);
      await store.set(k, 'brief', 100);
      await sleep(300);
      assert.equal(await store.get(k), undefined);
    });

    it('security state: bounded counters add within the limit, refuse past it, and expire', async () => {
      const k = key();
      const other = await backend.node();
      assert.deepEqual([(await store.secure.addWithin(k, 1, 1, 1000)).allowed, (await store.secure.addWithin(k, 1, 1, 1000)).allowed], [true, false]);
      assert.equal((await other.secure.addWithin(k, 1, 1, 1000)).allowed, false, 'another node sees the first claim');
      await sleep(1300);
      assert.equal((await store.secure.addWithin(k, 1, 1, 1000)).count, 1, 'a new period starts from zero');
    });

    it('security state: keyed values set, get, delete, expire, seen by every node', async () => {
      const k = key();
      assert.equal(await store.secure.get(k), undefined);
      await store.secure.set(k, 'revoked', 60_000);
      assert.equal(await store.secure.get(k), 'revoked');
      assert.equal(await (await backend.node()).secure.get(k), 'revoked', 'another node sees it');
      await store.secure.delete(k);
      assert.equal(await store.secure.get(k), undefined);
      await store.secure.set(k, 'brief', 100);
      await sleep(300);
      assert.equal(await store.secure.get(k), undefined);
    });

    it('security state and ordinary keys of the same name are apart', async () => {
      const k = key();
      await store.set(k, 'ordinary', 60_000);
      await store.secure.set(k, 'secure', 60_000);
      assert.equal(await store.get(k), 'ordinary');
      assert.equal(await store.secure.get(k), 'secure');
      await store.delete(k);
      assert.equal(await store.secure.get(k), 'secure', 'deleting the ordinary key leaves the secure one');
      const c = key();
      assert.equal((await store.addWithin(c, 1, 1, 60_000)).allowed, true);
      assert.equal((await store.secure.addWithin(c, 1, 1, 60_000)).allowed, true, 'an ordinary claim does not count as a secure one');
    });

    it('publish reaches every subscriber on every node, until it unsubscribes', async () => {
      const channel = `events-${randomUUID()}`;
      const other = await backend.node();
      const seenHere: string[] = [];
      const seenThere: string[] = [];
      const stopHere = store.subscribe(channel, (m) => seenHere.push(m));
      const stopThere = other.subscribe(channel, (m) => seenThere.push(m));
      await sleep(200); // subscriptions reach Redis asynchronously
      await store.publish(channel, 'block 203.0.113.9');
      const deadline = Date.now() + 5000;
      while ((seenHere.length < 1 || seenThere.length < 1) && Date.now() < deadline) await sleep(20);
      assert.deepEqual(seenHere, ['block 203.0.113.9']);
      assert.deepEqual(seenThere, ['block 203.0.113.9']);
      stopThere();
      await sleep(200);
      await store.publish(channel, 'second');
      while (seenHere.length < 2 && Date.now() < deadline) await sleep(20);
      await sleep(100);
      assert.deepEqual(seenHere, ['block 203.0.113.9', 'second']);
      assert.deepEqual(seenThere, ['block 203.0.113.9'], 'nothing after unsubscribing');
      stopHere();
    });
  });
}

/**
 * The store operations automatic defense counts with, on both backends
 * (a real redis-server for Redis): the exact sliding-window count, the
 * distinct count (exact on memory, a HyperLogLog within its stated error on
 * Redis), and the security-state field map.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { MemoryStore } from './memory.js';
import { RedisStore } from './redis.js';
import { Stores } from './stores.js';
import { startRedis, type TestRedis } from '../../test/helpers/redis.js';

const logger = pino({ level: 'silent' });

for (const kind of ['memory', 'redis'] as const) {
  describe(`defense counts on the ${kind} store`, () => {
    let redis: TestRedis | undefined;
    let stores: Stores;

    before(async () => {
      if (kind === 'redis') {
        redis = await startRedis();
        const store = new RedisStore({ url: redis.url, prefix: 'dc:', timeoutMs: 5000, connectTimeoutMs: 5000 }, logger);
        assert.ok(await store.open(5000));
        stores = new Stores(store);
      } else {
        stores = new Stores(new MemoryStore({ maxKeys: 10_000 }, logger));
      }
    });
    after(async () => {
      await stores.store.close();
      await redis?.close();
    });

    it('counts events exactly in a sliding window, capped, and starts afresh on reset', async () => {
      const counter = stores.events('t');
      const counts: number[] = [];
      for (let i = 0; i < 7; i++) counts.push(await counter.count('ip-1', 60_000, 5, `n:${i}`));
      assert.deepEqual(counts, [1, 2, 3, 4, 5, 5, 5]);
      assert.equal(await counter.count('ip-2', 60_000, 5, 'n:x'), 1, 'keys are apart');
      await counter.reset('ip-1');
      assert.equal(await counter.count('ip-1', 60_000, 5, 'n:y'), 1);
    });

    it('forgets events older than the window', async () => {
      const counter = stores.events('t');
      await counter.count('old', 300, 10, 'a');
      await counter.count('old', 300, 10, 'b');
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(await counter.count('old', 300, 10, 'c'), 1);
    });

    it('counts distinct members: 60 tried names read as 60 (HyperLogLog on Redis: within 3%)', async () => {
      const counter = stores.events('d');
      let n = 0;
      for (let i = 0; i < 60; i++) n = await counter.distinct('ip', `user${i}`, 600_000, 100);
      for (let i = 0; i < 30; i++) n = await counter.distinct('ip', `user${i}`, 600_000, 100);
      if (kind === 'memory') assert.equal(n, 60);
      else assert.ok(Math.abs(n - 60) <= 2, `estimate ${n}`);
      let same = 0;
      for (let i = 0; i < 40; i++) same = await counter.distinct('other', 'bob', 600_000, 100);
      assert.equal(same, 1);
    });

    it('keeps a field map in security state until fields are deleted', async () => {
      const map = stores.secure.map('defense-test');
      await map.set('a', '1');
      await map.set('b', '2');
      assert.deepEqual([...(await map.all())].sort(), [['a', '1'], ['b', '2']]);
      assert.equal(await map.delete('a'), true);
      assert.equal(await map.delete('a'), false);
      assert.deepEqual([...(await map.all())], [['b', '2']]);
    });
  });
}

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { MemoryStore } from './memory.js';
import { Stores } from './stores.js';

describe('store handles', () => {
  it('count each key apart, whether keys repeat or alternate', () => {
    const stores = new Stores(new MemoryStore({ maxKeys: 1000 }, pino({ enabled: false })));
    const counter = stores.windows('rate-limit:test', [{ limit: 10, windowMs: 60_000 }], false);
    const other = stores.windows('rate-limit:other', [{ limit: 10, windowMs: 60_000 }], false);
    const remaining = (key: string, c = counter) => {
      const d = c.hit(key);
      assert.ok(!(d instanceof Promise));
      return d.remaining[0];
    };
    assert.deepEqual([remaining('alice'), remaining('alice'), remaining('bob'), remaining('alice'), remaining('bob')], [9, 8, 9, 7, 8]);
    // a key built from parts, equal to one seen before, is the same key
    assert.equal(remaining(['al', 'ice'].join('')), 6);
    // the same key under another namespace is another count
    assert.equal(remaining('alice', other), 9);
    assert.equal(remaining('alice'), 5);
    const bucket = stores.bucket('rate-limit:bucket', { intervalMs: 1000, burst: 3 });
    const left = (key: string) => {
      const d = bucket.take(key);
      assert.ok(!(d instanceof Promise));
      return d.remaining;
    };
    assert.deepEqual([left('alice'), left('bob'), left('alice'), left('alice'), left('bob')], [2, 2, 1, 0, 1]);
  });
});

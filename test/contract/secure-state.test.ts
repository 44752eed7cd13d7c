/**
 * Security state is isolated from keys an unauthenticated caller can make the
 * gateway create (issue 10): in the memory store a flood of ordinary keys
 * never evicts it, and a full security pool refuses rather than forgets; on
 * Redis it lives under its own prefix, a write refused for lack of memory
 * fails closed, and a server whose eviction policy could drop it is reported.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { MemoryStore } from '../../src/stores/memory.js';
import { RedisStore } from '../../src/stores/redis.js';
import { Stores } from '../../src/stores/stores.js';
import type { CountDecision } from '../../src/stores/store.js';
import { StoreFullError, StoreUnavailableError } from '../../src/errors.js';
import { startRedis } from '../helpers/redis.js';

const silent = pino({ level: 'silent' });

function capturingLogger() {
  const lines: Array<{ msg: string; level: number; [k: string]: unknown }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as { msg: string; level: number });
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

describe('security state in the memory store', () => {
  it('survives a flood of ordinary keys many times max_keys', () => {
    const store = new MemoryStore({ maxKeys: 1000 }, silent);
    const stores = new Stores(store);
    const replay = stores.secure.counter('hmac-auth:replay');
    const revoked = stores.secure.values('oidc:logout');
    assert.equal((replay.add('sig-A', 1, 1, 60_000) as CountDecision).allowed, true);
    void revoked.set('session-1', '1', 60_000);
    const perClient = stores.windows('rate-limit:public', [{ limit: 10, windowMs: 60_000 }], false);
    for (let i = 0; i < 5000; i++) void perClient.hit(`client-${i}`);
    assert.equal(store.size, 1000, 'ordinary keys are bounded');
    assert.ok(store.evictions >= 4000, 'and the oldest were evicted');
    assert.equal((replay.add('sig-A', 1, 1, 60_000) as CountDecision).allowed, false, 'the claimed signature is still remembered');
    assert.equal(revoked.get('session-1'), '1', 'the revoked session is still revoked');
    void store.close();
  });

  it('when full, refuses new entries (StoreFullError) and keeps every live one; room comes back as they expire', () => {
    let now = 1_000_000;
    const { logger, lines } = capturingLogger();
    const store = new MemoryStore({ maxKeys: 1000, now: () => now }, logger);
    for (let i = 0; i < 1000; i++) assert.equal(store.secure.addWithin(`sig-${i}`, 1, 1, 10_000).allowed, true);
    assert.throws(() => store.secure.addWithin('sig-new', 1, 1, 10_000), StoreFullError);
    assert.throws(() => store.secure.set('value-new', 'x', 10_000), (err) => err instanceof StoreUnavailableError);
    for (let i = 0; i < 1000; i += 97) assert.equal(store.secure.addWithin(`sig-${i}`, 1, 1, 10_000).allowed, false, `sig-${i} still remembered`);
    assert.equal(lines.filter((l) => l.msg.startsWith('security state full')).length, 1, 'logged once');
    now += 10_001;
    assert.equal(store.secure.addWithin('sig-new', 1, 1, 10_000).allowed, true, 'expired entries make room');
    assert.equal(store.secureSize, 1);
    void store.close();
  });

  it('refuses the reserved "secure" namespace for ordinary keys', () => {
    const stores = new Stores(new MemoryStore({ maxKeys: 1000 }, silent));
    assert.throws(() => stores.values('secure:hmac-auth:replay'), /reserved/);
    assert.throws(() => stores.counter('secure'), /reserved/);
    void stores.store.close();
  });
});

describe('security state on Redis', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('is kept under <prefix>secure:, apart from ordinary keys', async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.close());
    const store = new RedisStore({ url: redis.url, prefix: 'pc:', timeoutMs: 2000, connectTimeoutMs: 5000 }, silent);
    cleanup.push(() => store.close());
    assert.equal(await store.open(10_000), true);
    const stores = new Stores(store);
    await stores.secure.counter('hmac-auth:replay').add('sig', 1, 1, 60_000);
    await stores.secure.values('oidc:logout').set('sid', '1', 60_000);
    await stores.values('bans').set('ip', '1', 60_000);
    const keys = (await redis.command('KEYS *')).split('\r\n').filter((l) => l.startsWith('pc:')).sort();
    assert.deepEqual(keys, ['pc:bans:ip', 'pc:secure:hmac-auth:replay:sig', 'pc:secure:oidc:logout:sid']);
    assert.match(await redis.command('PTTL pc:secure:hmac-auth:replay:sig'), /^:\d+/, 'with a TTL');
  });

  it('fails closed (StoreFullError) when Redis refuses writes for lack of memory', async () => {
    const redis = await startRedis(['--maxmemory-policy', 'noeviction']);
    cleanup.push(() => redis.close());
    const { logger, lines } = capturingLogger();
    const store = new RedisStore({ url: redis.url, prefix: 'pc:', timeoutMs: 2000, connectTimeoutMs: 5000 }, logger);
    cleanup.push(() => store.close());
    assert.equal(await store.open(10_000), true);
    await store.set('before', 'x', 600_000);
    // Past maxmemory at once: every write is refused, deterministically.
    assert.match(await redis.command('CONFIG SET maxmemory 1'), /^\+OK/);
    await assert.rejects(Promise.resolve(store.set('ordinary', 'x', 600_000)), StoreFullError);
    await assert.rejects(Promise.resolve(store.secure.addWithin('sig', 1, 1, 60_000)), StoreFullError);
    await assert.rejects(Promise.resolve(store.secure.set('sid', '1', 60_000)), StoreFullError);
    assert.equal(await store.get('before'), 'x', 'reads still answer');
    assert.equal(store.health.state, 'up', 'Redis answered: not an outage');
    assert.equal(lines.filter((l) => l.msg.startsWith('Redis is out of memory')).length, 1, 'logged once');
  });

  it('warns at start when the eviction policy could drop security state, and not under noeviction', async () => {
    const evicting = await startRedis(['--maxmemory', '64mb', '--maxmemory-policy', 'volatile-ttl']);
    cleanup.push(() => evicting.close());
    const safe = await startRedis(['--maxmemory', '64mb', '--maxmemory-policy', 'noeviction']);
    cleanup.push(() => safe.close());
    const seen: Record<string, Array<{ msg: string; [k: string]: unknown }>> = {};
    for (const [name, server] of [['evicting', evicting], ['safe', safe]] as const) {
      const { logger, lines } = capturingLogger();
      seen[name] = lines;
      const store = new RedisStore({ url: server.url, prefix: 'pc:', timeoutMs: 2000, connectTimeoutMs: 5000 }, logger);
      cleanup.push(() => store.close());
      assert.equal(await store.open(10_000), true);
      assert.deepEqual(await store.checkEvictionPolicy(), { policy: name === 'safe' ? 'noeviction' : 'volatile-ttl', maxmemory: String(64 * 1024 * 1024) });
    }
    const warned = (name: string) => seen[name]!.filter((l) => l.msg.startsWith('Redis evicts keys when it reaches maxmemory'));
    assert.ok(warned('evicting').length >= 1);
    assert.equal(warned('evicting')[0]!.maxmemory_policy, 'volatile-ttl');
    assert.equal(warned('safe').length, 0);
  });
});

/**
 * The Redis store when Redis misbehaves: down at start, killed, frozen
 * (answers nothing), restarted empty (scripts forgotten). Operations fail
 * with StoreUnavailableError (never hang), the outage is logged once, and
 * the store recovers by itself.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { RedisStore } from './redis.js';
import { freePort, startRedis, type TestRedis } from '../../test/helpers/redis.js';
import { StoreUnavailableError } from '../errors.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function capturingLogger() {
  const lines: Array<{ msg: string; level: number }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as { msg: string; level: number });
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/** Calls until one succeeds or the deadline passes; returns how many failed. */
async function untilAnswers(store: RedisStore, key: string, deadlineMs = 15_000): Promise<number> {
  const deadline = Date.now() + deadlineMs;
  let failures = 0;
  for (;;) {
    try {
      await store.hitWindows(key, [{ limit: 100, windowMs: 60_000 }], true, 1, false);
      return failures;
    } catch (err) {
      assert.ok(err instanceof StoreUnavailableError, `unexpected ${String(err)}`);
      failures++;
      if (Date.now() > deadline) throw new Error('the store did not recover');
      await sleep(50);
    }
  }
}

describe('redis store outages', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('starts while Redis is down, fails fast, and connects when Redis appears', async () => {
    const port = await freePort();
    const { logger, lines } = capturingLogger();
    const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, prefix: 't:', timeoutMs: 500, connectTimeoutMs: 500 }, logger);
    cleanup.push(() => store.close());
    assert.equal(await store.open(300), false, 'not connected within the wait');
    await assert.rejects(store.get('k'), StoreUnavailableError);
    assert.equal(store.health.state, 'down');
    const redis = await startRedisOn(port);
    cleanup.push(() => redis.close());
    await untilAnswers(store, 'late');
    assert.equal(store.health.state, 'up');
    assert.equal(lines.filter((l) => l.msg.startsWith('store unavailable')).length, 1, 'one line for the incident');
    assert.equal(lines.filter((l) => l.msg === 'store recovered').length, 1);
  });

  it('a reply that arrived while the event loop was busy past the timeout is still taken', async () => {
    // A loaded node: the reply is on the socket before the timeout, but the loop is blocked until after it.
    const redis = await startRedis();
    cleanup.push(() => redis.close());
    const store = new RedisStore({ url: redis.url, prefix: 't:', timeoutMs: 50, connectTimeoutMs: 1000 }, pino({ level: 'silent' }));
    cleanup.push(() => store.close());
    assert.equal(await store.open(5000), true);
    for (let round = 0; round < 5; round++) {
      const pending = Promise.resolve(store.hitWindows(`busy${round}`, [{ limit: 10, windowMs: 60_000 }], true, 1, false));
      await new Promise((resolve) => setImmediate(resolve)); // the command is on the wire
      const until = Date.now() + 200; // four times the timeout: Redis on loopback answers long before
      while (Date.now() < until) {
        /* a blocked event loop */
      }
      const decision = await pending;
      assert.equal(decision.allowed, true, `round ${round}`);
    }
    assert.equal(store.health.state, 'up');
  });

  it('killed mid-use: fails at once, logs once, recovers after a restart with its scripts reloaded', async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.close());
    const { logger, lines } = capturingLogger();
    const store = new RedisStore({ url: redis.url, prefix: 't:', timeoutMs: 500, connectTimeoutMs: 1000 }, logger);
    cleanup.push(() => store.close());
    assert.equal(await store.open(5000), true);
    assert.equal((await store.takeTokens('b', 1000, 10, 1)).allowed, true);
    await redis.kill();
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => store.takeTokens('b', 1000, 10, 1)));
    assert.ok(results.every((r) => r.status === 'rejected' && r.reason instanceof StoreUnavailableError));
    assert.equal(store.health.state, 'down');
    assert.ok(store.health.failedOperations >= 50);
    await redis.restart(); // empty: the scripts are gone, EVALSHA answers NOSCRIPT
    await untilAnswers(store, 'after-restart');
    assert.equal((await store.takeTokens('b2', 1000, 10, 1)).allowed, true);
    assert.equal(lines.filter((l) => l.msg.startsWith('store unavailable')).length, 1, 'one line for the incident, not one per call');
    assert.equal(lines.filter((l) => l.msg === 'store recovered').length, 1);
    assert.equal(store.health.incidents, 1);
  });

  it('frozen (no answers, connection open): calls time out instead of hanging, and it recovers when thawed', async () => {
    const redis: TestRedis = await startRedis();
    cleanup.push(() => redis.close());
    const { logger, lines } = capturingLogger();
    const store = new RedisStore({ url: redis.url, prefix: 't:', timeoutMs: 200, connectTimeoutMs: 1000 }, logger);
    cleanup.push(() => store.close());
    assert.equal(await store.open(5000), true);
    redis.freeze();
    try {
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => store.addWithin('q', 100, 1, 60_000)));
      assert.ok(results.every((r) => r.status === 'rejected' && r.reason instanceof StoreUnavailableError));
      // While down, calls fail at once (one probe at a time), rather than each waiting for the timeout.
      const more = await Promise.allSettled(Array.from({ length: 100 }, () => store.get('x')));
      assert.ok(more.every((r) => r.status === 'rejected'));
    } finally {
      redis.thaw();
    }
    await untilAnswers(store, 'thawed');
    assert.equal(lines.filter((l) => l.msg.startsWith('store unavailable')).length, 1);
    assert.equal(store.health.state, 'up');
  });
});

async function startRedisOn(port: number): Promise<{ close(): Promise<void> }> {
  // startRedis picks its own port; for "Redis appears on the configured port" start one on this port.
  const { spawn } = await import('node:child_process');
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const { redisCommand } = await import('../../test/helpers/redis.js');
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if ((await redisCommand(port, 'PING', 300)).startsWith('+PONG')) break;
    } catch {
      if (Date.now() > deadline) throw new Error('redis did not start');
      await sleep(50);
    }
  }
  return {
    close: async () => {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

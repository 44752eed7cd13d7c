/**
 * The Redis store: what a fleet of gateway nodes shares. Every decision is
 * one Lua script run by EVALSHA (EVAL once when Redis does not know it yet,
 * after a restart for instance), so it is atomic across nodes and costs one
 * round trip. When Redis is down or slower than `timeoutMs`, operations
 * reject with StoreUnavailableError at once or after the timeout, the
 * failure is logged once per incident, and the client reconnects by itself.
 *
 * Security state (`secure`) is kept under `<prefix>secure:`, apart from the
 * keys unauthenticated callers can make (rate limits, quotas). Redis itself
 * can still evict it: under any maxmemory-policy but `noeviction` (the
 * volatile-* policies evict keys that have a TTL, and every security-state
 * key has one). So at start the store reads the server's policy (CONFIG GET,
 * when the ACL allows it) and warns when it could evict them. A write Redis
 * refuses for lack of memory (OOM under noeviction) fails with
 * StoreFullError: the policy fails closed instead of forgetting.
 */
import type { Logger } from 'pino';
import { ErrorReply } from 'redis';
import { StoreHealth } from './health.js';
import { connectRedis, type RedisConnection, type RedisDeployment } from './redis-connection.js';
import { ADD_WITHIN, COUNT_DISTINCT, COUNT_IN_WINDOW, HIT_WINDOWS, TAKE_TOKENS, type Script } from './scripts.js';
import {
  type BucketDecision,
  type CountDecision,
  type SecureState,
  type Store,
  type Unsubscribe,
  type WindowDecision,
  type WindowLimit,
} from './store.js';
import { StoreFullError, StoreTimeoutError, StoreUnavailableError } from '../errors.js';

/** Appended to the store prefix for security state. Ordinary namespaces cannot start with it (stores.ts). */
export const SECURE_PREFIX = 'secure:';
const OOM_LOG_EVERY_MS = 60_000;

export interface RedisStoreOptions extends RedisDeployment {
  /** Prepended to every key and channel, so several gateways (or other apps) can share one Redis. */
  readonly prefix: string;
}

export class RedisStore implements Store {
  readonly kind = 'redis';
  readonly health: StoreHealth;
  readonly secure: SecureState;
  private readonly connection: RedisConnection;
  private readonly prefix: string;
  private lastOomLog = 0;
  private readonly timeoutMs: number;
  private opened: Promise<void> | undefined;
  private closed = false;
  /** Per channel: the local listeners, and the one Redis subscription that feeds them. */
  private readonly channels = new Map<string, { listeners: Set<(message: string) => void>; relay: (message: string) => void }>();

  constructor(
    options: RedisStoreOptions,
    private readonly logger: Logger,
  ) {
    this.prefix = options.prefix;
    this.timeoutMs = options.timeoutMs;
    this.health = new StoreHealth('redis', logger);
    this.connection = connectRedis(options, (err) => this.health.connectionLost(err));
    const secure = this.prefix + SECURE_PREFIX;
    this.secure = {
      addWithin: (key, limit, cost, ttlMs) => this.addWithinAt(secure + key, limit, cost, ttlMs),
      get: (key) => this.getAt(secure + key),
      set: (key, value, ttlMs) => this.setAt(secure + key, value, ttlMs),
      delete: (key) => this.deleteAt(secure + key),
      mapSet: async (key, field, value) => void (await this.command(secure + key, ['HSET', secure + key, field, value])),
      mapDelete: async (key, field) => Number(await this.command(secure + key, ['HDEL', secure + key, field])) > 0,
      mapAll: async (key) => hashReply(await this.command(secure + key, ['HGETALL', secure + key])),
    };
  }

  async hitWindows(key: string, limits: readonly WindowLimit[], sliding: boolean, cost: number, partial: boolean): Promise<WindowDecision> {
    const args = [sliding ? '1' : '0', String(cost), partial ? '1' : '0'];
    for (const l of limits) args.push(String(l.limit), String(l.windowMs));
    const reply = (await this.run(HIT_WINDOWS, key, args)) as number[];
    const remaining: number[] = [];
    const resetMs: number[] = [];
    for (let i = 0; i < limits.length; i++) {
      remaining.push(Number(reply[3 + 2 * i]));
      resetMs.push(Number(reply[4 + 2 * i]));
    }
    return { allowed: reply[0] === 1, granted: Number(reply[1]), retryAfterMs: Number(reply[2]), remaining, resetMs };
  }

  async takeTokens(key: string, intervalMs: number, burst: number, cost: number): Promise<BucketDecision> {
    const reply = (await this.run(TAKE_TOKENS, key, [String(intervalMs), String(burst), String(cost)])) as number[];
    return { allowed: reply[0] === 1, remaining: Number(reply[1]), resetMs: Number(reply[2]), retryAfterMs: Number(reply[3]) };
  }

  addWithin(key: string, limit: number, cost: number, ttlMs: number): Promise<CountDecision> {
    return this.addWithinAt(this.prefix + key, limit, cost, ttlMs);
  }

  async countInWindow(key: string, windowMs: number, cap: number, id: string): Promise<number> {
    return Number(await this.run(COUNT_IN_WINDOW, key, [String(windowMs), String(cap), id]));
  }

  async countDistinct(key: string, member: string, windowMs: number): Promise<number> {
    // The slices' names derive from the key: the hash tag keeps them in one cluster slot.
    return Number(await this.runAt(COUNT_DISTINCT, `${this.prefix}{${key.replace(/[{}]/g, '_')}}`, [String(windowMs), member]));
  }

  get(key: string): Promise<string | undefined> {
    return this.getAt(this.prefix + key);
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    return this.setAt(this.prefix + key, value, ttlMs);
  }

  delete(key: string): Promise<void> {
    return this.deleteAt(this.prefix + key);
  }

  /** The operations on a full key (prefix included), for the ordinary keys and for security state. */
  private async addWithinAt(k: string, limit: number, cost: number, ttlMs: number): Promise<CountDecision> {
    const reply = (await this.runAt(ADD_WITHIN, k, [String(limit), String(cost), String(Math.max(1, Math.ceil(ttlMs)))])) as number[];
    return { allowed: reply[0] === 1, count: Number(reply[1]), ttlMs: Number(reply[2]) };
  }

  private async getAt(k: string): Promise<string | undefined> {
    const value = await this.command(k, ['GET', k]);
    if (typeof value === 'string') return value;
    return Buffer.isBuffer(value) ? value.toString() : undefined;
  }

  private async setAt(k: string, value: string, ttlMs: number): Promise<void> {
    await this.command(k, ['SET', k, value, 'PX', String(Math.max(1, Math.ceil(ttlMs)))]);
  }

  private async deleteAt(k: string): Promise<void> {
    await this.command(k, ['DEL', k]);
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.command(undefined, ['PUBLISH', this.prefix + channel, message]);
  }

  subscribe(channel: string, listener: (message: string) => void): Unsubscribe {
    const name = this.prefix + channel;
    let entry = this.channels.get(name);
    if (!entry) {
      const listeners = new Set<(message: string) => void>();
      const relay = (message: string) => {
        for (const l of listeners) l(message);
      };
      entry = { listeners, relay };
      this.channels.set(name, entry);
      this.connection.subscribe(name, relay).catch((err: unknown) => this.logger.error({ err, channel }, 'store subscription failed'));
    }
    const own = (message: string) => listener(message);
    entry.listeners.add(own);
    const held = entry;
    return () => {
      held.listeners.delete(own);
      if (held.listeners.size > 0 || this.channels.get(name) !== held) return;
      this.channels.delete(name);
      if (!this.closed) this.connection.unsubscribe(name, held.relay).catch(() => {});
    };
  }

  /** Connects; resolves true when connected within timeoutMs, false otherwise (it keeps trying). */
  open(timeoutMs: number): Promise<boolean> {
    this.opened ??= this.connection.connect().then(
      () => void this.checkEvictionPolicy(),
      (err: unknown) => {
        this.health.failed(err);
        throw err;
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
    });
    const connected = this.opened.then(
      () => true,
      () => false,
    );
    return Promise.race([connected, expired]).finally(() => clearTimeout(timer));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.connection.close();
  }

  /**
   * Warns when the server would evict keys once it reaches maxmemory: that
   * includes security state (every such key has a TTL, so volatile-* evicts
   * it too). Only `noeviction` keeps it; see docs/fleet.md. A server that
   * refuses CONFIG (an ACL without +config) is not checked.
   */
  async checkEvictionPolicy(): Promise<{ policy: string; maxmemory: string } | undefined> {
    let policy: string | undefined;
    let maxmemory: string | undefined;
    try {
      policy = configValue(await withTimeout(this.connection.send(undefined, ['CONFIG', 'GET', 'maxmemory-policy']), this.timeoutMs));
      maxmemory = configValue(await withTimeout(this.connection.send(undefined, ['CONFIG', 'GET', 'maxmemory']), this.timeoutMs));
    } catch (err) {
      this.logger.info({ store: 'redis', err: err instanceof Error ? err.message : String(err) }, 'could not read the Redis eviction policy (CONFIG GET refused?): make sure maxmemory-policy is noeviction');
      return undefined;
    }
    if (policy === undefined || maxmemory === undefined) return undefined;
    if (policy !== 'noeviction' && maxmemory !== '0') {
      this.logger.warn(
        { store: 'redis', maxmemory_policy: policy, maxmemory },
        'Redis evicts keys when it reaches maxmemory: security state (hmac-auth replay memory, sessions, bans) could be forgotten; set maxmemory-policy noeviction',
      );
    }
    return { policy, maxmemory };
  }

  private run(script: Script, key: string, args: string[]): Promise<unknown> {
    return this.runAt(script, this.prefix + key, args);
  }

  private async runAt(script: Script, k: string, args: string[]): Promise<unknown> {
    try {
      return await this.command(k, ['EVALSHA', script.sha1, '1', k, ...args]);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return this.command(k, ['EVAL', script.source, '1', k, ...args]);
    }
  }

  /** One command, with failures turned into StoreUnavailableError and counted once per incident. */
  private async command(key: string | undefined, args: string[]): Promise<unknown> {
    if (!this.health.mayTry()) {
      this.health.failed(new Error('store is down; not tried'));
      throw new StoreUnavailableError();
    }
    const timing = this.health.timing;
    const start = timing ? performance.now() : 0;
    try {
      const reply = await withTimeout(this.connection.send(key, args), this.timeoutMs);
      this.health.succeeded();
      if (timing) timing('redis', (performance.now() - start) / 1000);
      return reply;
    } catch (err) {
      // A script error or a NOSCRIPT is Redis answering: not an outage.
      if (err instanceof ErrorReply) {
        this.health.succeeded();
        // Out of memory under noeviction: the write is refused, and so is the request that needed it.
        if (err.message.startsWith('OOM')) {
          const now = Date.now();
          if (now - this.lastOomLog >= OOM_LOG_EVERY_MS) {
            this.lastOomLog = now;
            this.logger.warn({ store: 'redis', err: err.message }, 'Redis is out of memory and refuses writes: limits follow their fail mode, security state fails closed');
          }
          throw new StoreFullError({ cause: err });
        }
        throw err;
      }
      this.health.failed(err);
      throw new StoreUnavailableError({ cause: err });
    }
  }
}

/** HGETALL answers [field, value, ...] (RESP2) or a map/object (RESP3). */
function hashReply(reply: unknown): Map<string, string> {
  const text = (v: unknown) => (typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString() : String(v));
  const out = new Map<string, string>();
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) out.set(text(reply[i]), text(reply[i + 1]));
  } else if (reply instanceof Map) {
    for (const [k, v] of reply as Map<unknown, unknown>) out.set(text(k), text(v));
  } else if (reply && typeof reply === 'object') {
    for (const [k, v] of Object.entries(reply)) out.set(k, text(v));
  }
  return out;
}

/** CONFIG GET answers [name, value] (RESP2) or {name: value} (RESP3). */
function configValue(reply: unknown): string | undefined {
  const text = (v: unknown) => (typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString() : undefined);
  if (Array.isArray(reply)) return text(reply[1]);
  if (reply instanceof Map) return text([...(reply as Map<unknown, unknown>).values()][0]);
  if (reply && typeof reply === 'object') return text(Object.values(reply)[0]);
  return undefined;
}

/**
 * node-redis's own command timeout stops once a command is written to the
 * socket, so a Redis that stops answering would leave the call hanging: this
 * bounds the whole round trip. A late reply is read and dropped by the client.
 */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    // A loaded event loop runs expired timers before it reads sockets: a reply that arrived while the loop
    // was busy would lose to its own timeout. Give the poll phase one turn (setImmediate runs after it);
    // a reply read then settles the promise first and the late rejection is ignored.
    const timer = setTimeout(() => setImmediate(() => reject(new StoreTimeoutError(ms))), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

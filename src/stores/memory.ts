/**
 * The memory store: state in this process, answered synchronously. The
 * default, and right for a single gateway node; a fleet shares a Redis store
 * instead. Bounded: entries expire, an incremental sweep drops expired ones,
 * and past `maxKeys` the oldest entries are evicted (counted in health,
 * logged once) so a flood of distinct keys cannot exhaust memory.
 *
 * Security state (`secure`: replay memory, sessions, bans, lockouts) lives in
 * a second pool of its own `maxKeys` entries that ordinary keys never touch,
 * and that never evicts: when it is full of live entries a new one is
 * refused with StoreFullError (the policy fails closed) instead of forgetting
 * an entry before it expires.
 */
import { LocalChannels } from './local-channels.js';
import type { Logger } from 'pino';
import * as algorithms from './algorithms.js';
import { StoreHealth } from './health.js';
import { type BucketDecision, type CountDecision, type SecureState, type Store, type Unsubscribe, type WindowDecision, type WindowLimit } from './store.js';
import { StoreFullError } from '../errors.js';
import { Stores } from './stores.js';

type Entry =
  | { kind: 'windows'; expiresAt: number; states: algorithms.WindowState[] }
  | { kind: 'bucket'; expiresAt: number; tat: number }
  | { kind: 'count'; expiresAt: number; count: number }
  | { kind: 'value'; expiresAt: number; value: string }
  | { kind: 'times'; expiresAt: number; times: number[] }
  | { kind: 'distinct'; expiresAt: number; members: Map<string, number> }
  | { kind: 'map'; expiresAt: number; fields: Map<string, string> };

export interface MemoryStoreOptions {
  /** Most entries of each pool: ordinary keys (oldest evicted past it) and security state (refused past it). */
  maxKeys: number;
  /** The clock, in ms; tests may replace it. */
  now?: () => number;
}

const SWEEP_EVERY_MS = 1000;
const SWEEP_BATCH = 10_000;

/**
 * One bounded map of entries. `evict` pools drop their oldest entry to make
 * room; the others refuse the new one (after dropping what has expired).
 */
class Pool {
  readonly entries = new Map<string, Entry>();
  private sweeper: Iterator<[string, Entry]> | undefined;
  /** Entries dropped (evict) or refused (no evict) to stay under maxKeys. */
  overflows = 0;

  constructor(
    private readonly name: 'memory' | 'memory (security state)',
    private readonly maxKeys: number,
    private readonly evict: boolean,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  live(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  put<E extends Entry>(key: string, entry: E): E {
    if (this.entries.size >= this.maxKeys && !this.entries.has(key)) this.makeRoom();
    this.entries.set(key, entry);
    return entry;
  }

  private makeRoom(): void {
    if (this.evict) {
      const oldest = this.entries.keys().next();
      if (oldest.done) return;
      this.entries.delete(oldest.value);
      if (this.overflows++ === 0) {
        this.logger.warn({ store: this.name, max_keys: this.maxKeys }, 'memory store full: evicting the oldest entries (raise store.max_keys, or use redis)');
      }
      return;
    }
    // Never evict security state: drop what has expired (oldest first, a bounded batch), else refuse.
    const now = this.now();
    let checked = 0;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now) this.entries.delete(key);
      if (++checked >= SWEEP_BATCH) break;
    }
    if (this.entries.size < this.maxKeys) return;
    if (this.overflows++ === 0) {
      this.logger.warn(
        { store: this.name, max_keys: this.maxKeys },
        'security state full: refusing new entries until old ones expire (requests that need one fail closed; raise store.max_keys, or use redis)',
      );
    }
    throw new StoreFullError();
  }

  /** Drops expired entries, a bounded batch per tick so a big map never stalls the event loop. */
  sweep(now: number): void {
    this.sweeper ??= this.entries.entries();
    for (let i = 0; i < SWEEP_BATCH; i++) {
      const next = this.sweeper.next();
      if (next.done) {
        this.sweeper = undefined;
        return;
      }
      if (next.value[1].expiresAt <= now) this.entries.delete(next.value[0]);
    }
  }
}

function addWithin(pool: Pool, now: number, key: string, limit: number, cost: number, ttlMs: number): CountDecision {
  let entry = pool.live(key, now);
  if (entry?.kind !== 'count') entry = pool.put(key, { kind: 'count', expiresAt: now + ttlMs, count: 0 });
  const ttl = Math.max(0, Math.ceil(entry.expiresAt - now));
  if (entry.count + cost > limit) return { allowed: false, count: entry.count, ttlMs: ttl };
  entry.count += cost;
  return { allowed: true, count: entry.count, ttlMs: ttl };
}

function getValue(pool: Pool, now: number, key: string): string | undefined {
  const entry = pool.live(key, now);
  return entry?.kind === 'value' ? entry.value : undefined;
}

function setValue(pool: Pool, now: number, key: string, value: string, ttlMs: number): void {
  const previous = pool.entries.get(key);
  pool.entries.delete(key);
  try {
    pool.put(key, { kind: 'value', expiresAt: now + ttlMs, value });
  } catch (err) {
    if (previous) pool.entries.set(key, previous);
    throw err;
  }
}

function mapOf(pool: Pool, now: number, key: string, create: boolean): Map<string, string> | undefined {
  const entry = pool.live(key, now);
  if (entry?.kind === 'map') return entry.fields;
  if (!create) return undefined;
  return pool.put(key, { kind: 'map', expiresAt: Infinity, fields: new Map() }).fields;
}

/** SecureState answered synchronously, as the rest of the memory store is. */
export interface MemorySecureState extends SecureState {
  addWithin(key: string, limit: number, cost: number, ttlMs: number): CountDecision;
  get(key: string): string | undefined;
  set(key: string, value: string, ttlMs: number): void;
  delete(key: string): void;
  mapSet(key: string, field: string, value: string): void;
  mapDelete(key: string, field: string): boolean;
  mapAll(key: string): ReadonlyMap<string, string>;
}

export class MemoryStore implements Store {
  readonly kind = 'memory';
  readonly health: StoreHealth;
  readonly secure: MemorySecureState;
  private readonly pool: Pool;
  private readonly securePool: Pool;
  private readonly channels = new LocalChannels();
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout;

  constructor(options: MemoryStoreOptions, logger: Logger) {
    this.now = options.now ?? Date.now;
    this.health = new StoreHealth('memory', logger);
    this.pool = new Pool('memory', options.maxKeys, true, this.now, logger);
    this.securePool = new Pool('memory (security state)', options.maxKeys, false, this.now, logger);
    const pool = this.securePool;
    const now = this.now;
    this.secure = {
      addWithin: (key, limit, cost, ttlMs) => addWithin(pool, now(), key, limit, cost, ttlMs),
      get: (key) => getValue(pool, now(), key),
      set: (key, value, ttlMs) => setValue(pool, now(), key, value, ttlMs),
      delete: (key) => void pool.entries.delete(key),
      mapSet: (key, field, value) => void mapOf(pool, now(), key, true)!.set(field, value),
      mapDelete: (key, field) => mapOf(pool, now(), key, false)?.delete(field) ?? false,
      mapAll: (key) => new Map(mapOf(pool, now(), key, false) ?? []),
    };
    this.timer = setInterval(() => this.sweep(), SWEEP_EVERY_MS);
    this.timer.unref();
  }

  /** Ordinary entries held. */
  get size(): number {
    return this.pool.entries.size;
  }

  /** Security-state entries held. */
  get secureSize(): number {
    return this.securePool.entries.size;
  }

  /** Ordinary entries dropped to stay under maxKeys. */
  get evictions(): number {
    return this.pool.overflows;
  }

  /** Security-state entries refused because the pool was full of live ones. */
  get secureRefusals(): number {
    return this.securePool.overflows;
  }

  hitWindows(key: string, limits: readonly WindowLimit[], sliding: boolean, cost: number, partial: boolean): WindowDecision {
    return this.hitWindowsAt(this.now(), key, limits, sliding, cost, partial);
  }

  /**
   * Counts up to `units` now (as hitWindows with partial) and says when they
   * were counted: a node of workers lends them to one worker
   * (src/cluster/workers/lease-host.ts), and creditWindows gives back, to
   * the windows they were counted in, the ones it did not use. `counted` is
   * the entry they were counted in, for creditWindows.
   */
  lendWindows(key: string, limits: readonly WindowLimit[], sliding: boolean, units: number): { decision: WindowDecision; at: number; counted: object } {
    const at = this.now();
    const decision = this.hitWindowsAt(at, key, limits, sliding, units, true);
    return { decision, at, counted: this.pool.entries.get(key)! };
  }

  /**
   * Takes back `units` counted at `at` by lendWindows: from the window they
   * were counted in, while it is the current or the previous one, and only
   * from the entry they were counted in (`counted`). An entry evicted since
   * (a full pool) and made again by later requests never counted them:
   * taking them from it would admit that many more than the limit.
   */
  creditWindows(key: string, limits: readonly WindowLimit[], at: number, units: number, counted: object): void {
    const entry = this.pool.live(key, this.now());
    if (entry?.kind !== 'windows' || entry !== counted) return;
    limits.forEach((l, i) => {
      const state = entry.states[i];
      if (!state || state.windowMs !== l.windowMs) return;
      const index = Math.floor(at / l.windowMs);
      if (state.index === index) state.current = Math.max(0, state.current - units);
      else if (state.index === index + 1) state.previous = Math.max(0, state.previous - units);
    });
  }

  private hitWindowsAt(now: number, key: string, limits: readonly WindowLimit[], sliding: boolean, cost: number, partial: boolean): WindowDecision {
    let entry = this.pool.live(key, now);
    if (entry?.kind !== 'windows') entry = this.pool.put(key, { kind: 'windows', expiresAt: 0, states: [] });
    const decision = algorithms.hitWindows(entry.states, limits, now, sliding, cost, partial);
    let longest = 0;
    for (const l of limits) if (l.windowMs > longest) longest = l.windowMs;
    // Counts matter for the current window and, when sliding, the next one.
    entry.expiresAt = now + (sliding ? 2 : 1) * longest;
    return decision;
  }

  takeTokens(key: string, intervalMs: number, burst: number, cost: number): BucketDecision {
    const now = this.now();
    const entry = this.pool.live(key, now);
    const stored = entry?.kind === 'bucket' ? entry.tat : undefined;
    const { decision, tat } = algorithms.takeTokens(stored, now, intervalMs, burst, cost);
    if (tat !== undefined) {
      // Once tat has passed, the bucket is full again: the entry is no longer needed.
      if (entry?.kind === 'bucket') {
        entry.tat = tat;
        entry.expiresAt = tat;
      } else this.pool.put(key, { kind: 'bucket', expiresAt: tat, tat });
    }
    return decision;
  }

  addWithin(key: string, limit: number, cost: number, ttlMs: number): CountDecision {
    return addWithin(this.pool, this.now(), key, limit, cost, ttlMs);
  }

  get(key: string): string | undefined {
    return getValue(this.pool, this.now(), key);
  }

  set(key: string, value: string, ttlMs: number): void {
    setValue(this.pool, this.now(), key, value, ttlMs);
  }

  delete(key: string): void {
    this.pool.entries.delete(key);
  }

  countInWindow(key: string, windowMs: number, cap: number): number {
    const now = this.now();
    let entry = this.pool.live(key, now);
    if (entry?.kind !== 'times') entry = this.pool.put(key, { kind: 'times', expiresAt: 0, times: [] });
    const times = entry.times;
    let drop = 0;
    while (drop < times.length && times[drop]! <= now - windowMs) drop++;
    times.push(now);
    drop = Math.max(drop, times.length - cap);
    if (drop > 0) times.splice(0, drop);
    entry.expiresAt = now + windowMs;
    return times.length;
  }

  /** Exact: each member with the slice it was last seen in, oldest first. */
  countDistinct(key: string, member: string, windowMs: number, cap: number): number {
    const now = this.now();
    const slice = Math.ceil(windowMs / 5);
    const index = Math.floor(now / slice);
    let entry = this.pool.live(key, now);
    if (entry?.kind !== 'distinct') entry = this.pool.put(key, { kind: 'distinct', expiresAt: 0, members: new Map() });
    const members = entry.members;
    members.delete(member);
    members.set(member, index);
    for (const [m, seen] of members) {
      if (seen > index - 5 && members.size <= cap) break;
      members.delete(m);
    }
    entry.expiresAt = now + windowMs + slice;
    return members.size;
  }

  publish(channel: string, message: string): void {
    // Delivered asynchronously, as the Redis store does.
    for (const listener of this.channels.listeners(channel)) queueMicrotask(() => listener(message));
  }

  subscribe(channel: string, listener: (message: string) => void): Unsubscribe {
    return this.channels.subscribe(channel, listener);
  }

  open(): Promise<boolean> {
    return Promise.resolve(true);
  }

  close(): Promise<void> {
    clearInterval(this.timer);
    this.pool.entries.clear();
    this.securePool.entries.clear();
    this.channels.clear();
    return Promise.resolve();
  }

  private sweep(): void {
    const now = this.now();
    this.pool.sweep(now);
    this.securePool.sweep(now);
  }
}

/** A memory store behind the policy facade, for unit tests and benchmarks that compile a policy by hand. */
export function memoryStores(logger: Logger, maxKeys = 100_000): Stores {
  return new Stores(new MemoryStore({ maxKeys }, logger));
}

/**
 * The memory store: state in this process, answered synchronously. The
 * default, and right for a single gateway node; a fleet shares a Redis store
 * instead. Bounded: entries expire, an incremental sweep drops expired ones,
 * and past `maxKeys` the oldest entries are evicted (counted in health,
 * logged once) so a flood of distinct keys cannot exhaust memory.
 */
import type { Logger } from 'pino';
import * as algorithms from './algorithms.js';
import { StoreHealth } from './health.js';
import type { BucketDecision, CountDecision, Store, Unsubscribe, WindowDecision, WindowLimit } from './store.js';
import { Stores } from './stores.js';

type Entry =
  | { kind: 'windows'; expiresAt: number; states: algorithms.WindowState[] }
  | { kind: 'bucket'; expiresAt: number; tat: number }
  | { kind: 'count'; expiresAt: number; count: number }
  | { kind: 'value'; expiresAt: number; value: string };

export interface MemoryStoreOptions {
  maxKeys: number;
  /** The clock, in ms; tests may replace it. */
  now?: () => number;
}

const SWEEP_EVERY_MS = 1000;
const SWEEP_BATCH = 10_000;

export class MemoryStore implements Store {
  readonly kind = 'memory';
  readonly health: StoreHealth;
  private readonly entries = new Map<string, Entry>();
  private readonly channels = new Map<string, Set<(message: string) => void>>();
  private readonly now: () => number;
  private readonly maxKeys: number;
  private sweeper: Iterator<[string, Entry]> | undefined;
  private readonly timer: NodeJS.Timeout;
  /** Entries dropped to stay under maxKeys. */
  evictions = 0;

  constructor(
    options: MemoryStoreOptions,
    private readonly logger: Logger,
  ) {
    this.maxKeys = options.maxKeys;
    this.now = options.now ?? Date.now;
    this.health = new StoreHealth('memory', logger);
    this.timer = setInterval(() => this.sweep(), SWEEP_EVERY_MS);
    this.timer.unref();
  }

  get size(): number {
    return this.entries.size;
  }

  hitWindows(key: string, limits: readonly WindowLimit[], sliding: boolean, cost: number, partial: boolean): WindowDecision {
    const now = this.now();
    let entry = this.live(key, now);
    if (entry?.kind !== 'windows') entry = this.put(key, { kind: 'windows', expiresAt: 0, states: [] });
    const decision = algorithms.hitWindows(entry.states, limits, now, sliding, cost, partial);
    let longest = 0;
    for (const l of limits) if (l.windowMs > longest) longest = l.windowMs;
    // Counts matter for the current window and, when sliding, the next one.
    entry.expiresAt = now + (sliding ? 2 : 1) * longest;
    return decision;
  }

  takeTokens(key: string, intervalMs: number, burst: number, cost: number): BucketDecision {
    const now = this.now();
    const entry = this.live(key, now);
    const stored = entry?.kind === 'bucket' ? entry.tat : undefined;
    const { decision, tat } = algorithms.takeTokens(stored, now, intervalMs, burst, cost);
    if (tat !== undefined) {
      // Once tat has passed, the bucket is full again: the entry is no longer needed.
      if (entry?.kind === 'bucket') {
        entry.tat = tat;
        entry.expiresAt = tat;
      } else this.put(key, { kind: 'bucket', expiresAt: tat, tat });
    }
    return decision;
  }

  addWithin(key: string, limit: number, cost: number, ttlMs: number): CountDecision {
    const now = this.now();
    let entry = this.live(key, now);
    if (entry?.kind !== 'count') entry = this.put(key, { kind: 'count', expiresAt: now + ttlMs, count: 0 });
    const ttl = Math.max(0, Math.ceil(entry.expiresAt - now));
    if (entry.count + cost > limit) return { allowed: false, count: entry.count, ttlMs: ttl };
    entry.count += cost;
    return { allowed: true, count: entry.count, ttlMs: ttl };
  }

  get(key: string): string | undefined {
    const entry = this.live(key, this.now());
    return entry?.kind === 'value' ? entry.value : undefined;
  }

  set(key: string, value: string, ttlMs: number): void {
    this.entries.delete(key);
    this.put(key, { kind: 'value', expiresAt: this.now() + ttlMs, value });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  publish(channel: string, message: string): void {
    const listeners = this.channels.get(channel);
    if (!listeners) return;
    // Delivered asynchronously, as the Redis store does.
    for (const listener of listeners) queueMicrotask(() => listener(message));
  }

  subscribe(channel: string, listener: (message: string) => void): Unsubscribe {
    let listeners = this.channels.get(channel);
    if (!listeners) this.channels.set(channel, (listeners = new Set()));
    const own = (message: string) => listener(message);
    listeners.add(own);
    return () => {
      listeners.delete(own);
      if (listeners.size === 0) this.channels.delete(channel);
    };
  }

  open(): Promise<boolean> {
    return Promise.resolve(true);
  }

  close(): Promise<void> {
    clearInterval(this.timer);
    this.entries.clear();
    this.channels.clear();
    return Promise.resolve();
  }

  private live(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private put<E extends Entry>(key: string, entry: E): E {
    if (this.entries.size >= this.maxKeys && !this.entries.has(key)) this.evictOldest();
    this.entries.set(key, entry);
    return entry;
  }

  private evictOldest(): void {
    const oldest = this.entries.keys().next();
    if (oldest.done) return;
    this.entries.delete(oldest.value);
    if (this.evictions++ === 0) {
      this.logger.warn({ store: 'memory', max_keys: this.maxKeys }, 'memory store full: evicting the oldest entries (raise store.max_keys, or use redis)');
    }
  }

  /** Drops expired entries, a bounded batch per tick so a big map never stalls the event loop. */
  private sweep(): void {
    const now = this.now();
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

/** A memory store behind the policy facade, for unit tests and benchmarks that compile a policy by hand. */
export function memoryStores(logger: Logger, maxKeys = 100_000): Stores {
  return new Stores(new MemoryStore({ maxKeys }, logger));
}

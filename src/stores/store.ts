/**
 * The state store interface (DESIGN.md "State"): the few operations that
 * limits, quotas and automatic defense need, each one atomic and, on Redis,
 * one round trip (one Lua script). Two backends implement it, `memory` and
 * `redis`, and both pass the contract suite in test/contract/store.test.ts.
 *
 * Keys are opaque strings; the `Stores` facade (stores.ts) namespaces them per
 * policy. Times are the store's own clock (Redis TIME on Redis), so gateway
 * nodes with skewed clocks still share one timeline.
 *
 * Methods return a value or a promise: the memory store answers synchronously
 * so a limit on the hot path costs no microtask. A backend that cannot answer
 * (unreachable, slower than its timeout) rejects with StoreUnavailableError (src/errors.ts);
 * the pipeline then applies the policy's `fail` mode.
 */
import type { StoreHealth } from './health.js';

export type Awaitable<T> = T | Promise<T>;

/** At most `limit` units per `windowMs`. */
export interface WindowLimit {
  readonly limit: number;
  readonly windowMs: number;
}

export interface WindowDecision {
  readonly allowed: boolean;
  /** Units consumed by this call: `cost` when allowed, fewer only with `partial`, 0 when refused. */
  readonly granted: number;
  /** Per limit, in order: whole units still available after this call. */
  readonly remaining: readonly number[];
  /** Per limit: milliseconds until the current fixed window of that limit ends. */
  readonly resetMs: readonly number[];
  /** When refused: milliseconds until a call of the same cost could succeed (0 when allowed). */
  readonly retryAfterMs: number;
}

export interface BucketDecision {
  readonly allowed: boolean;
  /** Whole tokens left after this call. */
  readonly remaining: number;
  /** Milliseconds until the bucket is full again. */
  readonly resetMs: number;
  /** When refused: milliseconds until `cost` tokens are available (0 when allowed). */
  readonly retryAfterMs: number;
}

export interface CountDecision {
  readonly allowed: boolean;
  /** The counter after this call (unchanged when refused). */
  readonly count: number;
  /** Milliseconds until the counter expires. */
  readonly ttlMs: number;
}

export type Unsubscribe = () => void;

/** One request's place at a concurrency gate (SlotGates.take). */
export interface SlotTicket {
  /** True once a slot is held; false when the queue was full or the wait ran out. Rejects with StoreUnavailableError. */
  readonly held: Promise<boolean>;
  /** Gives the slot back, or leaves the queue; safe to call whatever `held` became. */
  release(): void;
}

/** At most `max` holders per key; more wait first come first served, at most `queueSize` of them, each at most `waitMs`. */
export interface SlotGates {
  take(key: string, max: number, queueSize: number, waitMs: number): SlotTicket;
}

/**
 * Security state: replay memory, sessions, bans, lockouts. The same
 * operations as the ordinary keyed values and bounded counters, kept apart
 * from every key an unauthenticated caller can make the gateway create (rate
 * limit and quota keys): in the memory store a separate pool that ordinary
 * keys never evict, and that refuses a new entry (StoreFullError, so the
 * policy fails closed) rather than forgetting one before it expires; on Redis
 * keys under their own prefix (`<prefix>secure:`), whose writes refused for
 * lack of memory fail the same way. See docs/fleet.md for the
 * `maxmemory-policy` this needs.
 */
export interface SecureState {
  addWithin(key: string, limit: number, cost: number, ttlMs: number): Awaitable<CountDecision>;
  get(key: string): Awaitable<string | undefined>;
  set(key: string, value: string, ttlMs: number): Awaitable<void>;
  delete(key: string): Awaitable<void>;
  /**
   * A small map of fields (automatic defense's actions in force), kept until
   * its fields are deleted: the caller drops what it no longer needs.
   */
  mapSet(key: string, field: string, value: string): Awaitable<void>;
  /** True when the field was there. */
  mapDelete(key: string, field: string): Awaitable<boolean>;
  mapAll(key: string): Awaitable<ReadonlyMap<string, string>>;
}

export interface Store {
  readonly kind: 'memory' | 'redis';
  /** Up/down state and failure counts, for logs, metrics and health. */
  readonly health: StoreHealth;
  /**
   * Concurrency slots counted across processes: a node of workers' memory
   * store has them (src/cluster/workers/). Absent, concurrency-limit counts
   * in its own process.
   */
  readonly slots?: SlotGates;

  /**
   * Counts against every limit at once, all or nothing: the call is admitted
   * only if each limit has room for `cost`, and then `cost` is added to each.
   * A refused call consumes nothing. `sliding` weighs the previous fixed
   * window by how much of it still overlaps the sliding window (an estimate
   * that is exact when traffic is even); otherwise windows are fixed and
   * aligned to multiples of windowMs. With `partial`, as many units as fit
   * (at least 1) are granted instead of refusing (batched leases).
   */
  hitWindows(key: string, limits: readonly WindowLimit[], sliding: boolean, cost: number, partial: boolean): Awaitable<WindowDecision>;

  /**
   * A token bucket as GCRA: `burst` tokens at most, one token every
   * `intervalMs`. Takes `cost` tokens or none.
   */
  takeTokens(key: string, intervalMs: number, burst: number, cost: number): Awaitable<BucketDecision>;

  /**
   * Adds `cost` to a counter only if it stays within `limit`; the counter
   * expires `ttlMs` after it was created (quota periods, strike counts).
   */
  addWithin(key: string, limit: number, cost: number, ttlMs: number): Awaitable<CountDecision>;

  /** Keyed values with a time to live (block lists, caches). */
  get(key: string): Awaitable<string | undefined>;
  set(key: string, value: string, ttlMs: number): Awaitable<void>;
  delete(key: string): Awaitable<void>;

  /**
   * Adds one event to an exact sliding-window count and returns the count
   * (at most `cap`: only the newest `cap` events are kept). `id` makes the
   * event unique (a node id and a sequence number).
   */
  countInWindow(key: string, windowMs: number, cap: number, id: string): Awaitable<number>;

  /**
   * Adds `member` to a distinct count over `windowMs`, kept in five slices
   * (it reaches back between 4/5 of the window and all of it), and returns
   * the count: exact on memory (at most `cap` members kept), a HyperLogLog
   * estimate on Redis (standard error 0.81%).
   */
  countDistinct(key: string, member: string, windowMs: number, cap: number): Awaitable<number>;

  /** Security state, isolated from the keys above (see SecureState). */
  readonly secure: SecureState;

  /** Fire-and-forget messages to every node subscribed to `channel` (this one included). */
  publish(channel: string, message: string): Awaitable<void>;
  subscribe(channel: string, listener: (message: string) => void): Unsubscribe;

  /** Connects (Redis); resolves true once usable, false if that took longer than `timeoutMs`. */
  open(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}


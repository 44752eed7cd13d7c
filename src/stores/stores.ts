/**
 * What policies get as `deps.stores`: the gateway's one store, seen through
 * small typed handles that fix a namespace and the limit parameters once at
 * compile time, so a request only supplies its key.
 *
 *   const perMinute = deps.stores.windows('rate-limit:orders', [{ limit: 100, windowMs: 60_000 }], true);
 *   const decision = perMinute.hit(clientKey);          // value or promise
 *
 * Namespaces are stable names (not config positions), so every node of a
 * fleet, and every snapshot after a reload, counts in the same place.
 *
 * Security state (replay memory, sessions, bans, lockouts) goes through
 * `secure` instead, with the same handle types:
 *
 *   const seen = deps.stores.secure.counter('hmac-auth:replay');
 *   const revoked = deps.stores.secure.values('oidc:logout');
 *
 * Its entries are kept apart from every ordinary key (a separate pool in the
 * memory store that ordinary keys never evict, a separate key prefix on
 * Redis), so no flood of keys an unauthenticated caller can create (rate
 * limits keyed by address or header) can make the gateway forget them. When
 * there is no room, a write is refused with StoreFullError (a
 * StoreUnavailableError: the policy's fail mode applies, closed by default)
 * rather than an older entry being dropped.
 */
import type { StoreHealth } from './health.js';
import type { Awaitable, BucketDecision, CountDecision, SecureState, SlotGates, Store, Unsubscribe, WindowDecision, WindowLimit } from './store.js';

export interface WindowCounter {
  /** Counts `cost` units against every limit, all or nothing (see Store.hitWindows). */
  hit(key: string, cost?: number, partial?: boolean): Awaitable<WindowDecision>;
}

export interface TokenBucket {
  take(key: string, cost?: number): Awaitable<BucketDecision>;
}

export interface BoundedCounter {
  /** Adds `cost` if the count stays within `limit`; a new counter lives `ttlMs`. */
  add(key: string, limit: number, cost: number, ttlMs: number): Awaitable<CountDecision>;
}

export interface KeyedValues {
  get(key: string): Awaitable<string | undefined>;
  set(key: string, value: string, ttlMs: number): Awaitable<void>;
  delete(key: string): Awaitable<void>;
}

export interface Channel {
  publish(message: string): Awaitable<void>;
  subscribe(listener: (message: string) => void): Unsubscribe;
}

/** A small map kept until its fields are deleted (automatic defense's actions in force). */
export interface FieldMap {
  set(field: string, value: string): Awaitable<void>;
  delete(field: string): Awaitable<boolean>;
  all(): Awaitable<ReadonlyMap<string, string>>;
}

/** Event counts per key (automatic defense): exact in a sliding window, or distinct members. */
export interface EventCounter {
  count(key: string, windowMs: number, cap: number, id: string): Awaitable<number>;
  distinct(key: string, member: string, windowMs: number, cap: number): Awaitable<number>;
  /** Starts a key's sliding-window count afresh. */
  reset(key: string): Awaitable<void>;
}

/** The security-state view: counters and keyed values that ordinary keys can never evict. */
export interface SecureStores {
  counter(namespace: string): BoundedCounter;
  values(namespace: string): KeyedValues;
  map(name: string): FieldMap;
}

/**
 * A counter's full key (namespace prefix + key), kept while the key repeats: a
 * limit keyed by consumer or by client sees the same few keys request after
 * request, and a key joined anew each time is a new string the store must
 * flatten and hash before it can look it up.
 */
class LastKey {
  private key: string | undefined = undefined;
  private full = '';

  constructor(private readonly prefix: string) {}

  of(key: string): string {
    if (key !== this.key) {
      this.full = this.prefix + key;
      this.key = key;
    }
    return this.full;
  }
}

export class Stores {
  readonly secure: SecureStores;

  constructor(readonly store: Store) {
    const secure = store.secure;
    this.secure = {
      counter: (namespace) => counterOf(secure, namespace),
      values: (namespace) => valuesOf(secure, namespace),
      map: (name) => {
        const key = checkNamespace(name).slice(0, -1);
        return { set: (field, value) => secure.mapSet(key, field, value), delete: (field) => secure.mapDelete(key, field), all: () => secure.mapAll(key) };
      },
    };
  }

  get kind(): Store['kind'] {
    return this.store.kind;
  }

  get health(): StoreHealth {
    return this.store.health;
  }

  windows(namespace: string, limits: readonly WindowLimit[], sliding: boolean): WindowCounter {
    const prefix = checkNamespace(namespace);
    if (limits.length === 0) throw new Error('a window counter needs at least one limit');
    const windows = new Set(limits.map((l) => l.windowMs));
    if (windows.size !== limits.length) throw new Error('two limits of one counter have the same window');
    for (const l of limits) {
      if (!(l.limit >= 1 && Number.isSafeInteger(l.limit))) throw new Error(`a limit must be a positive integer, got ${l.limit}`);
      if (!(l.windowMs >= 1 && Number.isSafeInteger(l.windowMs))) throw new Error(`a window must be at least 1 ms, got ${l.windowMs}`);
    }
    const store = this.store;
    const keyed = new LastKey(prefix);
    return { hit: (key, cost = 1, partial = false) => store.hitWindows(keyed.of(key), limits, sliding, cost, partial) };
  }

  bucket(namespace: string, options: { intervalMs: number; burst: number }): TokenBucket {
    const prefix = checkNamespace(namespace);
    const { intervalMs, burst } = options;
    if (!(intervalMs > 0) || !(burst >= 1)) throw new Error('a token bucket needs a positive interval and a burst of at least 1');
    const store = this.store;
    const keyed = new LastKey(prefix);
    return { take: (key, cost = 1) => store.takeTokens(keyed.of(key), intervalMs, burst, cost) };
  }

  counter(namespace: string): BoundedCounter {
    return counterOf(this.store, namespace);
  }

  values(namespace: string): KeyedValues {
    return valuesOf(this.store, namespace);
  }

  events(namespace: string): EventCounter {
    const prefix = checkNamespace(namespace);
    const store = this.store;
    return {
      count: (key, windowMs, cap, id) => store.countInWindow(prefix + key, windowMs, cap, id),
      distinct: (key, member, windowMs, cap) => store.countDistinct(prefix + key, member, windowMs, cap),
      reset: (key) => store.delete(prefix + key),
    };
  }

  /** Concurrency slots shared across processes, where the store has them (a node of workers' memory store); else undefined. */
  slots(namespace: string): SlotGates | undefined {
    const prefix = checkNamespace(namespace);
    const slots = this.store.slots;
    if (!slots) return undefined;
    return { take: (key, max, queueSize, waitMs) => slots.take(prefix + key, max, queueSize, waitMs) };
  }

  channel(name: string): Channel {
    const channel = checkNamespace(name).slice(0, -1);
    const store = this.store;
    return {
      publish: (message) => store.publish(channel, message),
      subscribe: (listener) => store.subscribe(channel, listener),
    };
  }
}

function counterOf(store: Pick<SecureState, 'addWithin'>, namespace: string): BoundedCounter {
  const prefix = checkNamespace(namespace);
  return { add: (key, limit, cost, ttlMs) => store.addWithin(prefix + key, limit, cost, ttlMs) };
}

function valuesOf(store: Pick<SecureState, 'get' | 'set' | 'delete'>, namespace: string): KeyedValues {
  const prefix = checkNamespace(namespace);
  return {
    get: (key) => store.get(prefix + key),
    set: (key, value, ttlMs) => store.set(prefix + key, value, ttlMs),
    delete: (key) => store.delete(prefix + key),
  };
}

function checkNamespace(namespace: string): string {
  if (!/^[\x21-\x7e]{1,200}$/.test(namespace)) throw new Error(`invalid store namespace ${JSON.stringify(namespace)}`);
  // Redis keeps security state under "<prefix>secure:": no ordinary key may land there.
  if (namespace.startsWith('secure:') || namespace === 'secure') throw new Error(`the store namespace "secure" is reserved for security state`);
  return namespace + ':';
}

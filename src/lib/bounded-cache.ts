/**
 * A bounded in-process cache with per-entry expiry: what authentication
 * methods use for verified tokens, introspection answers, directory binds and
 * replay detection, and rate-limit uses for leases. Least recently used
 * entries go first when it is full; an entry is never returned past its
 * expiry. Per node: a fleet shares nothing.
 *
 * The recency order and the bound are lru-cache's (issue 11 item 6). The
 * hand-written Map LRU this replaced evicted by iterating the Map from its
 * head, where V8 keeps the holes of deleted entries until the next rehash:
 * putting a new key into a full cache of 100k cost a median 59 and 61 µs
 * (two runs) against 2.8 and 2.5 µs now, ranges apart, and the rate-limit
 * lease keys are the client's to choose. Gets (hit or miss) and sets over an
 * existing key stay within this machine's noise of each other (hits 2.9 and
 * 3.2 µs against 4.4 and 4.3). The price: 10.4 MiB of heap for 100k entries
 * against 8.6 (lru-cache preallocates its arrays, and each value sits in a
 * small {value, expiresAt} record). bench/bounded-cache.ts, Node 20, 15
 * interleaved rounds per run on a shared 2-core machine (load ~11), so the
 * absolute figures are high.
 *
 * Expiry stays ours: an absolute time on the caller's clock (`now` is
 * injected: Date.now() by default, performance.now() for rate-limit leases,
 * a fixed time in tests), checked on every read, so lru-cache's own TTL clock
 * is not used. An expired entry is dropped when read and otherwise ages out
 * of the recency order like any other.
 */
import { LRUCache } from 'lru-cache';

interface Entry<V> {
  value: V;
  expiresAt: number;
}

export class BoundedCache<V> {
  private readonly entries: LRUCache<string, Entry<V>>;

  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
    this.entries = new LRUCache<string, Entry<V>>({ max: maxEntries });
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value for key, or undefined when absent or expired (now and expiresAt on the caller's clock, in ms). */
  get(key: string, now = Date.now()): V | undefined {
    const entry = this.entries.get(key); // marks it recently used
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  has(key: string, now = Date.now()): boolean {
    return this.get(key, now) !== undefined;
  }

  /** Keeps value until expiresAt; an expiry already past stores nothing (and leaves any older entry as it was). */
  set(key: string, value: V, expiresAt: number, now = Date.now()): void {
    if (expiresAt <= now) return;
    this.entries.set(key, { value, expiresAt });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}

/**
 * A bounded in-process cache with per-entry expiry: what authentication
 * methods use for verified tokens, introspection answers, directory binds and
 * replay detection. Least recently used entries go first when it is full; an
 * entry is never returned past its expiry. Per node: a fleet shares nothing.
 */
export class BoundedCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value for key, or undefined when absent or expired (now and expiresAt in ms since the epoch). */
  get(key: string, now = Date.now()): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    // Re-insert to mark it recently used (Map keeps insertion order).
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  has(key: string, now = Date.now()): boolean {
    return this.get(key, now) !== undefined;
  }

  set(key: string, value: V, expiresAt: number, now = Date.now()): void {
    if (expiresAt <= now) return;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.evict(now);
    this.entries.set(key, { value, expiresAt });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  /** Drops the oldest entry, and any expired ones met on the way. */
  private evict(now: number): void {
    let dropped = false;
    for (const [key, entry] of this.entries) {
      if (!dropped) {
        this.entries.delete(key);
        dropped = true;
        continue;
      }
      if (entry.expiresAt > now) break;
      this.entries.delete(key);
    }
  }
}

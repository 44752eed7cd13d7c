/** The byte buckets of one direction of a bandwidth-limit, one per key. */
import type { ByteBucket } from './throttle.js';

/** Buckets kept per direction before idle full ones are dropped. */
const PRUNE_ABOVE = 10_000;

/**
 * One direction's buckets. Idle, full buckets are dropped when the map
 * reaches its threshold, which then doubles past what stayed: with many keys
 * busy at once, a new key must not cost a scan of every bucket.
 */
export class Buckets {
  private readonly map = new Map<string, ByteBucket>();
  private pruneAt = PRUNE_ABOVE;

  constructor(private readonly make: () => ByteBucket) {}

  get(key: string): ByteBucket {
    let bucket = this.map.get(key);
    if (!bucket) {
      if (this.map.size >= this.pruneAt) {
        for (const [k, b] of this.map) if (b.users === 0 && b.full) this.map.delete(k);
        this.pruneAt = Math.max(PRUNE_ABOVE, this.map.size * 2);
      }
      this.map.set(key, (bucket = this.make()));
    }
    return bucket;
  }
}

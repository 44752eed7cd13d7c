/**
 * Batched counting for a fleet: instead of one store round trip per request,
 * a node reserves up to `batch` requests at once (one atomic script that
 * grants what still fits) and admits from its reservation locally. The error
 * is one-sided and bounded: reserved units are counted when reserved, so the
 * fleet never admits more than the limit; units a node reserved but did not
 * use before the window ended are lost, so it may admit up to
 * nodes × (batch − 1) fewer. A refusal is remembered until its Retry-After,
 * so a client over its limit costs no round trips either.
 * Headers in this mode are approximate (the remaining count is as of the
 * last reservation plus what this node still holds).
 */
import type { Awaitable, WindowDecision } from '../../stores/store.js';
import type { WindowCounter } from '../../stores/stores.js';
import { BoundedCache } from '../../lib/bounded-cache.js';
import type { Standing } from './standing.js';

interface Lease {
  units: number;
  /** performance.now() when the lease ends: the end of the shortest window, or the end of a refusal. */
  until: number;
  fetchedAt: number;
  decision: WindowDecision;
}

/** Keys with a live lease, at most: the keys are the client's to choose. Dropping a lease only loses reserved units. */
const MAX_LEASES = 100_000;

export class LeasedCounter {
  private readonly leases = new BoundedCache<Lease>(MAX_LEASES);
  private readonly pending = new Map<string, Promise<void>>();

  constructor(
    private readonly counter: WindowCounter,
    private readonly batch: number,
  ) {}

  readonly take = (key: string): Awaitable<Standing> => {
    const lease = this.leases.get(key, performance.now());
    if (lease) {
      if (lease.units > 0) {
        lease.units--;
        return this.standing(lease, true);
      }
      if (!lease.decision.allowed) return this.standing(lease, false);
    }
    let fetching = this.pending.get(key);
    if (!fetching) {
      fetching = this.fetch(key).finally(() => this.pending.delete(key));
      this.pending.set(key, fetching);
    }
    return fetching.then(() => this.take(key));
  };

  private async fetch(key: string): Promise<void> {
    const decision = await this.counter.hit(key, this.batch, true);
    const now = performance.now();
    const until = decision.allowed ? now + Math.min(...decision.resetMs) : now + decision.retryAfterMs;
    this.leases.set(key, { units: decision.granted, until, fetchedAt: now, decision }, until, now);
  }

  private standing(lease: Lease, allowed: boolean): Standing {
    const d = lease.decision;
    const now = performance.now();
    const elapsed = now - lease.fetchedAt;
    return {
      allowed,
      remaining: d.remaining.map((r) => r + lease.units),
      resetMs: d.resetMs.map((r) => Math.max(0, r - elapsed)),
      retryAfterMs: allowed ? 0 : Math.max(1, lease.until - now),
    };
  }
}

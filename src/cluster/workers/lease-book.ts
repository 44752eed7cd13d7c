/**
 * A worker's rate-limit leases (lease-host.ts is the supervisor's side): per
 * key, units the supervisor lent this worker and already counted, admitted
 * here with no message until they run out or the lease ends at its window's
 * boundary. What is left unused goes back: when the worker next asks for the
 * key, when the lease has ended (swept), when the supervisor recalls it, or
 * when the store closes (a reload).
 *
 * The RateLimit headers of a request admitted from a lease are as of the
 * lease: what remained at the supervisor when it was lent, plus what this
 * worker still holds (other workers' use since is not seen).
 */
import type { WindowDecision } from '../../stores/store.js';
import type { LeaseGrant } from './lease-host.js';

interface Held {
  readonly id: number;
  units: number;
  /** Epoch ms: the first window boundary of the key's limits. */
  readonly until: number;
  /** Per limit, what remained at the supervisor after lending. */
  readonly remaining: readonly number[];
  /** Per limit, epoch ms its window ends. */
  readonly resetAt: readonly number[];
}

/** Keys with a lease at most (the keys are the clients'): past it, no new lease is kept, its units go back at once. */
const MAX_HELD = 100_000;

export class LeaseBook {
  private readonly held = new Map<string, Held>();

  /** Admits `cost` from the key's lease, or undefined (no lease, too few units, or it has ended). */
  take(key: string, cost: number, now: number): WindowDecision | undefined {
    const lease = this.held.get(key);
    if (!lease || lease.units < cost || now >= lease.until) return undefined;
    lease.units -= cost;
    return {
      allowed: true,
      granted: cost,
      remaining: lease.remaining.map((r) => r + lease.units),
      resetMs: lease.resetAt.map((t) => Math.max(0, t - now)),
      retryAfterMs: 0,
    };
  }

  /** The key's lease, given up before asking the supervisor: [id, unused units], or null. */
  retire(key: string): [number, number] | null {
    const lease = this.held.get(key);
    if (!lease) return null;
    this.held.delete(key);
    return [lease.id, lease.units];
  }

  /**
   * Keeps a lease the supervisor lent with a decision. Returns a lease to
   * give back at once ([id, unused]): one this replaces, or this one when the
   * book is full.
   */
  keep(key: string, grant: LeaseGrant, decision: WindowDecision, now: number): [number, number] | null {
    const [id, units, until] = grant;
    const previous = this.retire(key);
    if (this.held.size >= MAX_HELD) return [id, units];
    this.held.set(key, { id, units, until, remaining: decision.remaining, resetAt: decision.resetMs.map((ms) => now + ms) });
    return previous;
  }

  /** The supervisor recalls these leases: each id with its unused units (0 for one already given back). */
  recall(ids: readonly number[]): Map<number, number> {
    const wanted = new Set(ids);
    const back = new Map<number, number>();
    for (const [key, lease] of this.held) {
      if (!wanted.has(lease.id)) continue;
      this.held.delete(key);
      back.set(lease.id, lease.units);
    }
    return back;
  }

  /** Leases that have ended (their window rolled): given up, [id, unused] each. */
  ended(now: number): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (const [key, lease] of this.held) {
      if (now < lease.until) continue;
      this.held.delete(key);
      out.push([lease.id, lease.units]);
    }
    return out;
  }

  /** Every lease, given up (the store closes). */
  all(): Array<[number, number]> {
    const out = [...this.held.values()].map((l): [number, number] => [l.id, l.units]);
    this.held.clear();
    return out;
  }
}

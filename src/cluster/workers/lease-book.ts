/**
 * A worker's rate-limit leases (lease-host.ts is the supervisor's side): per
 * key, units the supervisor lent this worker and already counted, admitted
 * here with no message until they run out or the lease ends at its window's
 * boundary. What is left unused goes back: when the worker next asks for the
 * key, when the lease has ended (swept), when the supervisor recalls it, or
 * when the store closes (a reload).
 *
 * Renewal: once a quarter of a key's units is left, the worker asks for more
 * (`lease.renew`, at most one in flight per key) while it goes on admitting
 * from what it holds, so that a busy key does not run dry and send every
 * request of every turn to the supervisor while the renewal travels. The
 * renewal is a lease of its own (its own id, window and give-back), drawn
 * from once the one before it is used up; the supervisor tops the key up to
 * at most MAX_LEASE units held in all, so what a SIGKILLed worker can strand
 * per key is what it was before renewals.
 *
 * The RateLimit headers of a request admitted from a lease are as of the
 * newest lease: what remained at the supervisor when it was lent, plus what
 * this worker still holds (other workers' use since is not seen).
 */
import type { WindowDecision } from '../../stores/store.js';
import type { LeaseGrant, RenewAnswer } from './lease-host.js';

interface Lease {
  readonly id: number;
  units: number;
  /** Epoch ms: the first window boundary of the key's limits when it was lent. */
  readonly until: number;
}

interface Entry {
  /** Oldest first: a renewal's lease is drawn from once the ones before it are used up. */
  readonly leases: Lease[];
  /** Per limit, what remained at the supervisor after lending the newest lease. */
  remaining: readonly number[];
  /** Per limit, epoch ms its window ends. */
  resetAt: readonly number[];
  /** Units held right after the newest lease came: a renewal goes out once a quarter of that is left. */
  full: number;
  /** A renewal is in flight (one at a time per key). */
  renewing: boolean;
}

/** What a renewal asks for: the newest lease's id, the units still held, and spent leases to give back with it. */
export interface Renewal {
  readonly of: number;
  readonly held: number;
  readonly retire: Array<[number, number]>;
}

/** Keys with a lease at most (the keys are the clients'): past it, no new lease is kept, its units go back at once. */
const MAX_HELD = 100_000;
/** A renewal goes out when at most 1/RENEW_SHARE of the units are left (a quarter: one renewal per ~75 requests of a busy key). */
const RENEW_SHARE = 4;

export class LeaseBook {
  private readonly held = new Map<string, Entry>();
  /** The store closed (a reload): anything lent from now on goes straight back. */
  private closed = false;

  /** Admits `cost` from the key's leases, or undefined (none, too few units, or they have ended). */
  take(key: string, cost: number, now: number): WindowDecision | undefined {
    const entry = this.held.get(key);
    if (!entry) return undefined;
    let from: Lease | undefined;
    let left = 0;
    for (const lease of entry.leases) {
      if (now >= lease.until) continue;
      if (!from && lease.units >= cost) from = lease;
      left += lease.units;
    }
    if (!from) return undefined;
    from.units -= cost;
    left -= cost;
    return {
      allowed: true,
      granted: cost,
      remaining: entry.remaining.map((r) => r + left),
      resetMs: entry.resetAt.map((t) => Math.max(0, t - now)),
      retryAfterMs: 0,
    };
  }

  /**
   * A renewal to send for the key now, or undefined: none is due (more than
   * a quarter left, a lease too small to renew, or one already in flight).
   * Marks it in flight; spent leases (used up or ended) go back with it.
   */
  renewal(key: string, now: number): Renewal | undefined {
    const entry = this.held.get(key);
    if (!entry || entry.renewing || this.closed) return undefined;
    let left = 0;
    for (const lease of entry.leases) if (now < lease.until) left += lease.units;
    if (left * RENEW_SHARE > entry.full || entry.full < RENEW_SHARE) return undefined;
    const newest = entry.leases[entry.leases.length - 1]!;
    const retire: Array<[number, number]> = [];
    for (let i = entry.leases.length - 2; i >= 0; i--) {
      const lease = entry.leases[i]!;
      if (lease.units > 0 && now < lease.until) continue;
      retire.push([lease.id, lease.units]);
      entry.leases.splice(i, 1);
    }
    entry.renewing = true;
    return { of: newest.id, held: left, retire };
  }

  /** A renewal's answer: its lease joins the key's. Returns a lease to give back at once ([id, units]), or null. */
  renewed(key: string, answer: RenewAnswer | null, now: number): [number, number] | null {
    const entry = this.held.get(key);
    if (entry) entry.renewing = false;
    if (!answer) {
      // Refused (near the limit, a recall): no other renewal of these units; the key asks once they run out.
      this.settle(entry);
      return null;
    }
    return this.add(key, answer.lease, answer.remaining, answer.resetMs, now);
  }

  /** A renewal that got no answer in time (the supervisor is away): as refused. */
  renewFailed(key: string): void {
    const entry = this.held.get(key);
    if (entry) entry.renewing = false;
    this.settle(entry);
  }

  /** No renewal until a new lease comes (else every request after a refusal would ask for one). */
  private settle(entry: Entry | undefined): void {
    if (entry) entry.full = 0;
  }

  /**
   * The key's leases, given up before asking the supervisor: [id, unused]
   * each, or null when there are none, or when a renewal is in flight: its
   * lease is on its way, and a lease given back before the supervisor has
   * seen the renewal would make the renewal fail.
   */
  retire(key: string): Array<[number, number]> | null {
    const entry = this.held.get(key);
    if (!entry || entry.renewing) return null;
    this.held.delete(key);
    return entry.leases.map((l): [number, number] => [l.id, l.units]);
  }

  /**
   * Keeps a lease the supervisor lent with a decision. Returns a lease to
   * give back at once ([id, unused]): this one when the book is full or the
   * store closed.
   */
  keep(key: string, grant: LeaseGrant, decision: WindowDecision, now: number): [number, number] | null {
    return this.add(key, grant, decision.remaining, decision.resetMs, now);
  }

  private add(key: string, grant: LeaseGrant, remaining: readonly number[], resetMs: readonly number[], now: number): [number, number] | null {
    const [id, units, until] = grant;
    let entry = this.held.get(key);
    if (this.closed || (!entry && this.held.size >= MAX_HELD)) return [id, units];
    const resetAt = resetMs.map((ms) => now + ms);
    if (!entry) {
      this.held.set(key, (entry = { leases: [], remaining, resetAt, full: 0, renewing: false }));
    }
    entry.leases.push({ id, units, until });
    entry.remaining = remaining;
    entry.resetAt = resetAt;
    let left = 0;
    for (const lease of entry.leases) if (now < lease.until) left += lease.units;
    entry.full = left;
    return null;
  }

  /** The supervisor recalls these leases: each id with its unused units (0 for one already given back). */
  recall(ids: readonly number[]): Map<number, number> {
    const wanted = new Set(ids);
    const back = new Map<number, number>();
    for (const [key, entry] of this.held) {
      for (let i = entry.leases.length - 1; i >= 0; i--) {
        const lease = entry.leases[i]!;
        if (!wanted.has(lease.id)) continue;
        entry.leases.splice(i, 1);
        back.set(lease.id, lease.units);
      }
      if (entry.leases.length === 0 && !entry.renewing) this.held.delete(key);
    }
    return back;
  }

  /** Leases that have ended (their window rolled): given up, [id, unused] each. */
  ended(now: number): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (const [key, entry] of this.held) {
      for (let i = entry.leases.length - 1; i >= 0; i--) {
        const lease = entry.leases[i]!;
        if (now < lease.until) continue;
        entry.leases.splice(i, 1);
        out.push([lease.id, lease.units]);
      }
      if (entry.leases.length === 0 && !entry.renewing) this.held.delete(key);
    }
    return out;
  }

  /** Every lease, given up (the store closes); a lease lent after this goes straight back. */
  all(): Array<[number, number]> {
    this.closed = true;
    const out: Array<[number, number]> = [];
    for (const entry of this.held.values()) for (const l of entry.leases) out.push([l.id, l.units]);
    this.held.clear();
    return out;
  }
}

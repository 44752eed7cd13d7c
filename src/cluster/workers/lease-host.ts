/**
 * Exact leases on the node's window limits (rate-limit's fixed and sliding
 * windows on the memory store), the supervisor's side. Asking the supervisor
 * for every limited request costs each request an IPC round trip and the
 * supervisor a wakeup; instead, while a key is far from its limit, the
 * supervisor lends the asking worker part of what remains, and the worker
 * admits from it with no message at all (lease-book.ts).
 *
 * Why the limit stays exact (a limit of 10 admits exactly 10 across workers):
 * - Lent units are counted in the store the moment they are lent, so the
 *   workers together never admit more than the store allowed. A sliding
 *   window's estimate only falls as its window ages, so a unit that fitted
 *   when lent still fits when a worker uses it later in the same window.
 * - A lease ends at the first window boundary of any of the key's limits:
 *   every lent unit is used in the window it was counted in. Unused units
 *   come back (creditWindows) to that window: the counts are then what one
 *   process would have counted, so the next window's sliding estimate is too.
 * - Nobody is refused while units are out: a request that does not fit
 *   recalls every lease on its key, waits for the unused units to come back,
 *   and is decided again. A recall also goes out, without waiting, once less
 *   remains than is lent out.
 * - A worker that exits (SIGKILL included), or does not answer a recall
 *   within RECALL_WAIT_MS, forfeits its leases: their units stay counted as
 *   used. That can only refuse early, never admit more: at most what the
 *   worker held unused, which is at most MAX_LEASE per key (and at most
 *   1/LEND_SHARE of what remained when lent), until the window ends.
 *
 * - A worker renews a busy key's lease before it runs out (lease-book.ts):
 *   the renewal is a lease of its own, lent only while the worker's newest
 *   lease on the key is the one it names (so one renewal at a time), never
 *   during a recall, and only up to MAX_LEASE units held in all (the worker
 *   says what it still holds), so the bound above holds per key.
 *
 * Token buckets are not lent (each request still asks): a bucket refills up
 * to its burst while a worker holds tokens, so units out would add to a full
 * bucket; docs/workers.md states what an exact bucket lease would need.
 */
import type { WindowDecision, WindowLimit } from '../../stores/store.js';
import type { MemoryStore } from '../../stores/memory.js';
import type { StoreAnswer, ToWorker } from './protocol.js';

/** The most units one lease carries: what a SIGKILLed worker can strand, per key, until the window ends. */
export const MAX_LEASE = 100;
/** A lease is at most this share of what remains (1/8), so leases shrink as a key nears its limit. */
export const LEND_SHARE = 8;
/** Smaller leases are not worth a message: the worker asks per request. */
const MIN_LEASE = 2;
/**
 * How long a recall waits for a worker's unused units before forfeiting them: long enough that a
 * worker merely slowed by a loaded machine answers (forfeiting refuses early); the requests
 * waiting on it are given as long again to be answered (remote-store.ts).
 */
export const RECALL_WAIT_MS = 2_000;
/** Leases out at once, per store (keys are the clients' to choose): past it, no new lease. */
const MAX_LEASES = 100_000;
/** Requests waiting on one key's recall; more are answered as a store outage would be. */
const MAX_WAITING = 100_000;

/** A lease as the worker gets it: [lease id, units, end (epoch ms)], beside the decision of the request that asked. */
export type LeaseGrant = [number, number, number];
export type LeasedDecision = WindowDecision & { lease?: LeaseGrant };
/** A renewal's lease, with what remained at the store after lending it (per limit) and when each window ends. */
export interface RenewAnswer {
  readonly lease: LeaseGrant;
  readonly remaining: readonly number[];
  readonly resetMs: readonly number[];
}

interface Lease {
  readonly id: number;
  readonly worker: number;
  readonly key: string;
  readonly limits: readonly WindowLimit[];
  /** When its units were counted (the store's clock). */
  readonly at: number;
  readonly units: number;
  /** Epoch ms: the first window boundary of its limits, when the worker stops using it. */
  readonly until: number;
  /** After this (epoch ms) no credit can change a count: every limit's window has rolled twice. */
  readonly moot: number;
  /** The store entry its units were counted in: unused units go back to it, never to one made after an eviction. */
  readonly counted: object;
}

interface Recall {
  readonly waiting: Set<number>;
  readonly queued: Array<() => void>;
  readonly timer: NodeJS.Timeout;
}

export class LeaseHost {
  private nextId = 1;
  private readonly leases = new Map<number, Lease>();
  private readonly byKey = new Map<string, Set<number>>();
  /** `worker \n key` -> the lease that worker holds on it (one at a time). */
  private readonly held = new Map<string, number>();
  private readonly recalls = new Map<string, Recall>();
  private readonly sweeper: NodeJS.Timeout;
  /** Recalls sent, for tests and the docs' figures. */
  recallsSent = 0;

  constructor(
    private readonly store: MemoryStore,
    private readonly storeKey: string,
    private readonly send: (worker: number, message: ToWorker) => void,
  ) {
    this.sweeper = setInterval(() => this.sweep(), 5_000);
    this.sweeper.unref();
  }

  /**
   * One request's hit from `worker` (which gives back the lease it held on
   * the key, if any, first). Answered now, or through `later` once a recall
   * its key waits on is over.
   */
  hit(
    worker: number,
    opId: number,
    key: string,
    limits: readonly WindowLimit[],
    sliding: boolean,
    cost: number,
    retire: ReadonlyArray<readonly [number, number]> | null,
    later: (answer: StoreAnswer) => void,
  ): StoreAnswer | undefined {
    if (retire) for (const [id, unused] of retire) this.returned(worker, id, unused);
    const recall = this.recalls.get(key);
    if (recall) {
      if (recall.queued.length >= MAX_WAITING) return [opId, undefined, 'StoreUnavailableError', 'too many requests waiting for a lease recall'];
      recall.queued.push(() => {
        const answer = this.hit(worker, opId, key, limits, sliding, cost, null, later);
        if (answer) later(answer);
      });
      return undefined;
    }
    const d = this.store.hitWindows(key, limits, sliding, cost, false);
    const out = this.byKey.get(key);
    if (!d.allowed) {
      if (!out) return [opId, d];
      // Units are out: take back what is unused before refusing anyone, then decide again.
      this.recall(key, out);
      return this.hit(worker, opId, key, limits, sliding, cost, null, later);
    }
    let least = Infinity;
    for (const r of d.remaining) if (r < least) least = r;
    if (out) {
      let lent = 0;
      for (const id of out) lent += this.leases.get(id)?.units ?? 0;
      // Near the limit: more is out than remains here. Called back now, so that a refusal rarely waits for it.
      if (least < lent) this.recall(key, out);
    }
    const want = Math.min(MAX_LEASE, Math.floor(least / LEND_SHARE));
    if (want < MIN_LEASE || this.recalls.has(key) || this.holds(worker, key)) return [opId, d];
    const lent = this.lend(worker, key, limits, sliding, want);
    if (!lent) return [opId, d];
    const answer: LeasedDecision = { ...d, remaining: lent.remaining, lease: lent.lease };
    return [opId, answer];
  }

  /**
   * A worker renews its lease `of` on `key` before it runs out, holding
   * `held` units still (and giving back spent leases first): a new lease
   * tops it up to at most MAX_LEASE, or null (a recall is out, the key is
   * near its limit, or `of` is not the worker's newest lease any more).
   * Never waits: a renewal refused costs the worker nothing but asking per
   * request later, as without a lease.
   */
  renew(
    worker: number,
    key: string,
    limits: readonly WindowLimit[],
    sliding: boolean,
    of: number,
    held: number,
    retire: ReadonlyArray<readonly [number, number]>,
  ): RenewAnswer | null {
    for (const [id, unused] of retire) this.returned(worker, id, unused);
    if (this.recalls.has(key) || this.held.get(`${worker}\n${key}`) !== of) return null;
    // A look without counting (cost 0): what remains decides the size, as for a hit.
    const d = this.store.hitWindows(key, limits, sliding, 0, false);
    let least = Infinity;
    for (const r of d.remaining) if (r < least) least = r;
    const out = this.byKey.get(key);
    if (out) {
      let lent = 0;
      for (const id of out) lent += this.leases.get(id)?.units ?? 0;
      if (least < lent) {
        this.recall(key, out);
        return null;
      }
    }
    const want = Math.min(MAX_LEASE - Math.max(0, Math.min(MAX_LEASE, Math.floor(held))), Math.floor(least / LEND_SHARE));
    if (want < MIN_LEASE) return null;
    return this.lend(worker, key, limits, sliding, want) ?? null;
  }

  /** The worker holds a lease on the key still running (one lent earlier whose answer never reached it ends with its window). */
  private holds(worker: number, key: string): boolean {
    const id = this.held.get(`${worker}\n${key}`);
    if (id === undefined) return false;
    const lease = this.leases.get(id);
    return lease !== undefined && Date.now() < lease.until;
  }

  /** Lends `want` units of the key to the worker (counted now): the lease, or undefined when none could be. */
  private lend(worker: number, key: string, limits: readonly WindowLimit[], sliding: boolean, want: number): RenewAnswer | undefined {
    if (this.leases.size >= MAX_LEASES) return undefined;
    const { decision: lent, at, counted } = this.store.lendWindows(key, limits, sliding, want);
    if (lent.granted < 1) return undefined;
    const id = this.nextId++;
    let until = Infinity;
    let moot = 0;
    for (const l of limits) {
      const index = Math.floor(at / l.windowMs);
      until = Math.min(until, (index + 1) * l.windowMs);
      moot = Math.max(moot, (index + 2) * l.windowMs);
    }
    this.leases.set(id, { id, worker, key, limits, at, units: lent.granted, until, moot, counted });
    let ids = this.byKey.get(key);
    if (!ids) this.byKey.set(key, (ids = new Set()));
    ids.add(id);
    this.held.set(`${worker}\n${key}`, id);
    return { lease: [id, lent.granted, until], remaining: lent.remaining, resetMs: lent.resetMs };
  }

  /** A worker gives back a lease (ended, exhausted, recalled, or its store closed) with `unused` units it did not admit. */
  returned(worker: number, id: number, unused: number): void {
    const lease = this.leases.get(id);
    if (!lease || lease.worker !== worker) return;
    this.drop(lease);
    const units = Math.min(Math.max(0, Math.floor(unused)), lease.units);
    if (units > 0) this.store.creditWindows(lease.key, lease.limits, lease.at, units, lease.counted);
    this.answeredRecall(lease.key, id);
  }

  /** A worker exited: its leases are forfeited (their units stay counted), and no recall waits for it. */
  exited(worker: number): void {
    for (const lease of [...this.leases.values()]) {
      if (lease.worker !== worker) continue;
      this.drop(lease);
      this.answeredRecall(lease.key, lease.id);
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const recall of this.recalls.values()) clearTimeout(recall.timer);
    this.recalls.clear();
    this.leases.clear();
    this.byKey.clear();
    this.held.clear();
  }

  /** Leases out on `key` (for tests). */
  outstanding(key: string): number {
    return this.byKey.get(key)?.size ?? 0;
  }

  private recall(key: string, ids: ReadonlySet<number>): void {
    if (this.recalls.has(key)) return;
    const byWorker = new Map<number, number[]>();
    for (const id of ids) {
      const lease = this.leases.get(id);
      if (!lease) continue;
      const list = byWorker.get(lease.worker);
      if (list) list.push(id);
      else byWorker.set(lease.worker, [id]);
    }
    const timer = setTimeout(() => this.endRecall(key), RECALL_WAIT_MS);
    timer.unref();
    this.recalls.set(key, { waiting: new Set(ids), queued: [], timer });
    for (const [worker, list] of byWorker) {
      this.recallsSent++;
      this.send(worker, { t: 'lease-recall', s: this.storeKey, ids: list });
    }
  }

  private answeredRecall(key: string, id: number): void {
    const recall = this.recalls.get(key);
    if (!recall) return;
    recall.waiting.delete(id);
    if (recall.waiting.size === 0) this.endRecall(key);
  }

  /** The recall is over: leases not given back by now are forfeited; the requests that waited are decided, in order. */
  private endRecall(key: string): void {
    const recall = this.recalls.get(key);
    if (!recall) return;
    clearTimeout(recall.timer);
    this.recalls.delete(key);
    for (const id of recall.waiting) {
      const lease = this.leases.get(id);
      if (lease) this.drop(lease);
    }
    // Each goes through hit() again: one that meets a new recall waits again, behind it, in order.
    for (const run of recall.queued) run();
  }

  private drop(lease: Lease): void {
    this.leases.delete(lease.id);
    const ids = this.byKey.get(lease.key);
    ids?.delete(lease.id);
    if (ids?.size === 0) this.byKey.delete(lease.key);
    const holder = `${lease.worker}\n${lease.key}`;
    if (this.held.get(holder) === lease.id) this.held.delete(holder);
  }

  /** Leases no credit could change any more (a worker that never gave one back): forgotten, so the maps stay bounded. */
  private sweep(): void {
    const now = Date.now();
    for (const lease of [...this.leases.values()]) if (lease.moot <= now && !this.recalls.has(lease.key)) this.drop(lease);
  }
}

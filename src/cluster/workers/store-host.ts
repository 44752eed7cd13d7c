/**
 * The supervisor's side of the node's memory store: the one MemoryStore every
 * worker counts in, so that a limit of 10 admits 10 across the node, not 10
 * per worker. Workers send their operations in batches (remote-store.ts); each
 * is applied here in arrival order, synchronously, as the in-process memory
 * store would, and the answers go back in one message per batch.
 *
 * One store per `store` config (its JSON, as the worker's StoreRegistry keys
 * it): a reload that keeps the store section keeps the counts; one that
 * changes it starts a new store, and the old one is dropped once no worker
 * has used it for a while (retire()).
 */
import type { Logger } from 'pino';
import { MemoryStore } from '../../stores/memory.js';
import type { WindowLimit } from '../../stores/store.js';
import { LeaseHost } from './lease-host.js';
import type { StoreAnswer, StoreOp, ToWorker } from './protocol.js';
import { SlotHost } from './slot-host.js';

/** The most stores kept at once: a reload changing the store section adds one; older ones are dropped. */
const MAX_STORES = 4;

export class StoreHost {
  private readonly stores = new Map<string, Held>();
  /**
   * Lease recalls made while a batch is applied, sent only after that batch's
   * answers: a recall must never overtake the answer granting the lease it
   * recalls (see apply()).
   */
  private deferred: Array<[number, ToWorker]> | undefined;

  /** `send` reaches one worker by its cluster id (a lease recall); without it no lease is lent. */
  constructor(
    private readonly logger: Logger,
    private readonly send?: (worker: number, message: ToWorker) => void,
  ) {}

  /**
   * Applies one worker's batch (`worker`: its cluster id). Every operation
   * gets an answer, in order, except a concurrency slot that waits in its
   * queue: that answer goes out through `later` when the slot comes or the
   * wait ends. The answers go to `reply`, then any lease recall the batch
   * caused.
   */
  apply(key: string, ops: readonly StoreOp[], worker: number, later: (answer: StoreAnswer) => void, reply: (answers: StoreAnswer[]) => void): void {
    // A hit late in a batch can recall a lease granted earlier in the same batch (`least < lent`,
    // or a refusal). Sent at once, the recall reached the worker before the batch's answers did:
    // the worker answered 0 for a lease it did not hold yet, the supervisor dropped the lease, and
    // the units the worker then gave back unused (replaced by its next lease) were ignored: lost,
    // under-admitting (95 of 100 in test/e2e/workers-node.test.ts). Channels keep order, so
    // sending recalls after the answers means every grant reaches the worker first.
    const deferred: Array<[number, ToWorker]> = [];
    this.deferred = deferred;
    let answers: StoreAnswer[];
    try {
      answers = this.applyOps(key, ops, worker, later);
    } finally {
      this.deferred = undefined;
    }
    reply(answers);
    for (const [to, message] of deferred) this.send?.(to, message);
  }

  private applyOps(key: string, ops: readonly StoreOp[], worker: number, later: (answer: StoreAnswer) => void): StoreAnswer[] {
    const held = this.storeFor(key);
    const answers: StoreAnswer[] = [];
    for (const op of ops) {
      if (!held) answers.push([op[0], undefined, 'StoreUnavailableError', 'no such store']);
      else if (op[1] === 'slots.take') {
        const [id, , k, max, size, wait] = op;
        const answer = held.slots.take(worker, id, String(k), Number(max), Number(size), Number(wait), later);
        if (answer) answers.push(answer);
      } else if (op[1] === 'lease.hit') {
        const [id, , k, limits, sliding, cost, retire] = op;
        const answer = !isLimits(limits)
          ? ([id, undefined, 'StoreUnavailableError', 'bad limits'] as StoreAnswer)
          : held.leases
          ? held.leases.hit(worker, id, String(k), limits, sliding === true, Number(cost), retireOf(retire), later)
          : run(held.store, [id, 'hitWindows', k, limits, sliding, cost, false]);
        if (answer) answers.push(answer);
      } else if (op[1] === 'lease.renew') {
        // A renewal never waits: a lease, or null (asked per request later, as without one).
        const [id, , k, limits, sliding, of, units, retire] = op;
        if (!isLimits(limits)) answers.push([id, undefined, 'StoreUnavailableError', 'bad limits']);
        else answers.push([id, held.leases ? held.leases.renew(worker, String(k), limits, sliding === true, Number(of), Number(units), retireOf(retire) ?? []) : null]);
      } else if (op[1] === 'lease.return') {
        held.leases?.returned(worker, Number(op[2]), Number(op[3]));
        answers.push([op[0], null]);
      } else if (op[1] === 'slots.release') {
        held.slots.release(worker, Number(op[2]));
        answers.push([op[0], null]);
      } else answers.push(run(held.store, op));
    }
    return answers;
  }

  /** The leases lent from one store (for tests). */
  leasesOf(key: string): LeaseHost | undefined {
    return this.stores.get(key)?.leases;
  }

  /** A worker exited: the concurrency slots it held are freed (slot-host.ts), its rate-limit leases forfeited (lease-host.ts). */
  exited(worker: number): void {
    for (const held of this.stores.values()) {
      held.slots.exited(worker);
      held.leases?.exited(worker);
    }
  }

  private storeFor(key: string): Held | undefined {
    const known = this.stores.get(key);
    if (known) {
      known.used = Date.now();
      return known;
    }
    const maxKeys = maxKeysOf(key);
    if (maxKeys === undefined) return undefined;
    if (this.stores.size >= MAX_STORES) {
      const oldest = [...this.stores.entries()].sort((a, b) => a[1].used - b[1].used)[0]!;
      this.stores.delete(oldest[0]);
      void oldest[1].store.close();
      oldest[1].slots.close();
      oldest[1].leases?.close();
    }
    const store = new MemoryStore({ maxKeys }, this.logger);
    const send = this.send;
    const leases = send
      ? new LeaseHost(store, key, (to, message) => {
          if (this.deferred) this.deferred.push([to, message]);
          else send(to, message);
        })
      : undefined;
    const held: Held = { store, slots: new SlotHost(), leases, used: Date.now() };
    this.stores.set(key, held);
    return held;
  }

  close(): void {
    for (const { store, slots, leases } of this.stores.values()) {
      void store.close();
      slots.close();
      leases?.close();
    }
    this.stores.clear();
  }
}

interface Held {
  readonly store: MemoryStore;
  readonly slots: SlotHost;
  /** Rate-limit leases lent to workers (lease-host.ts). */
  readonly leases: LeaseHost | undefined;
  used: number;
}

function isLimits(value: unknown): value is WindowLimit[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((l: { limit?: unknown; windowMs?: unknown }) => typeof l === 'object' && l !== null && Number.isFinite(l.limit) && Number(l.windowMs) > 0)
  );
}

/** The leases a hit or renewal gives back first: [lease id, unused units] each, or null. */
function retireOf(value: unknown): Array<[number, number]> | null {
  if (!Array.isArray(value)) return null;
  const out: Array<[number, number]> = [];
  for (const pair of value as unknown[]) if (Array.isArray(pair) && pair.length === 2) out.push([Number(pair[0]), Number(pair[1])]);
  return out;
}

/** The key is the store section's JSON: a memory store with its max_keys (the config schema bounds it). */
function maxKeysOf(key: string): number | undefined {
  try {
    const config = JSON.parse(key) as { kind?: unknown; max_keys?: unknown };
    if (config.kind !== 'memory' || typeof config.max_keys !== 'number' || !Number.isSafeInteger(config.max_keys) || config.max_keys < 1) return undefined;
    return config.max_keys;
  } catch {
    return undefined;
  }
}

function run(store: MemoryStore, op: StoreOp): StoreAnswer {
  const [id, name, ...a] = op;
  try {
    return [id, call(store, name, a)];
  } catch (err) {
    const e = err as Error;
    return [id, undefined, e.name, e.message];
  }
}

function call(store: MemoryStore, name: string, a: unknown[]): unknown {
  const s = (i: number) => String(a[i]);
  const n = (i: number) => Number(a[i]);
  switch (name) {
    case 'hitWindows':
      return store.hitWindows(s(0), a[1] as Array<{ limit: number; windowMs: number }>, a[2] === true, n(3), a[4] === true);
    case 'takeTokens':
      return store.takeTokens(s(0), n(1), n(2), n(3));
    case 'addWithin':
      return store.addWithin(s(0), n(1), n(2), n(3));
    case 'get':
      return store.get(s(0));
    case 'set':
      return store.set(s(0), s(1), n(2));
    case 'delete':
      return store.delete(s(0));
    case 'secure.addWithin':
      return store.secure.addWithin(s(0), n(1), n(2), n(3));
    case 'secure.get':
      return store.secure.get(s(0));
    case 'secure.set':
      return store.secure.set(s(0), s(1), n(2));
    case 'secure.delete':
      return store.secure.delete(s(0));
    // Automatic defense's windows, distinct counts and ledger (src/defense/): one store, so exact across workers too.
    case 'countInWindow':
      return store.countInWindow(s(0), n(1), n(2));
    case 'countDistinct':
      return store.countDistinct(s(0), s(1), n(2), n(3));
    case 'secure.mapSet':
      return store.secure.mapSet(s(0), s(1), s(2));
    case 'secure.mapDelete':
      return store.secure.mapDelete(s(0), s(1));
    case 'secure.mapAll':
      // A Map does not survive JSON: its entries do.
      return [...store.secure.mapAll(s(0))];
    default:
      throw new Error(`unknown store operation ${name}`);
  }
}

/**
 * A worker's memory store: the Store interface over IPC to the one
 * MemoryStore the supervisor holds (store-host.ts). Operations made during
 * one turn of the event loop go out as one message (flushed by setImmediate,
 * after the poll phase has run every ready socket callback), and come back as
 * one: under load a message carries many operations, which is what keeps the
 * cost per request small (docs/workers.md has the figures).
 *
 * Exact across workers because the supervisor applies every operation, one
 * after another, to one store. What that costs: each limited request waits
 * one IPC round trip (tens of microseconds on an idle node), and a
 * supervisor that does not answer within ANSWER_TIMEOUT_MS makes the
 * operation fail with StoreUnavailableError, so the policy's fail mode
 * applies, as for a Redis that is away.
 */
import type { Logger } from 'pino';
import { StoreFullError, StoreUnavailableError } from '../../errors.js';
import { StoreHealth } from '../../stores/health.js';
import { LocalChannels } from '../../stores/local-channels.js';
import type { Awaitable, BucketDecision, CountDecision, SecureState, SlotGates, Store, Unsubscribe, WindowDecision, WindowLimit } from '../../stores/store.js';
import { LeaseBook, type Renewal } from './lease-book.js';
import { RECALL_WAIT_MS, type LeasedDecision, type RenewAnswer } from './lease-host.js';
import type { FromWorker, StoreAnswer, StoreOp } from './protocol.js';

/** How long an operation waits for the supervisor before it fails as a store outage would. */
const ANSWER_TIMEOUT_MS = 2_000;
/** The most operations in flight per worker; more fail at once (the supervisor is not keeping up). */
const MAX_PENDING = 100_000;
/** The most operations in one message. */
const MAX_BATCH = 2_000;

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: Error) => void;
  /** When it fails as unanswered (epoch ms). */
  readonly deadline: number;
  readonly health: StoreHealth | undefined;
  /** Runs on the answer before anything awaiting it does (a lease is kept before the next message is read). */
  readonly map: ((value: unknown) => unknown) | undefined;
}

/** One per worker: the batches, the answers, and the stores (one per store config) that use them. */
export class StoreClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly queued = new Map<string, StoreOp[]>();
  private scheduled = false;
  private readonly stores = new Set<RemoteStore>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly send: (message: FromWorker) => void) {
    this.timer = setInterval(() => this.expire(), 250);
    this.timer.unref();
  }

  /** The StoreRegistry's factory for memory stores (src/stores/registry.ts). */
  create(key: string, logger: Logger): RemoteStore {
    const store = new RemoteStore(key, this, logger);
    this.stores.add(store);
    return store;
  }

  forget(store: RemoteStore): void {
    this.stores.delete(store);
  }

  call(key: string, health: StoreHealth, op: string, args: unknown[]): Promise<unknown> {
    return this.tracked(key, health, op, args, 0).answer;
  }

  /** An operation and its id (a concurrency slot is released by the id of its take); `waitMs` more than the usual answer time. */
  tracked(
    key: string,
    health: StoreHealth | undefined,
    op: string,
    args: unknown[],
    waitMs: number,
    map?: (value: unknown) => unknown,
  ): { id: number; answer: Promise<unknown> } {
    if (this.pending.size >= MAX_PENDING) {
      const err = new StoreUnavailableError({ cause: new Error('too many store operations waiting for the supervisor') });
      health?.failed(err);
      return { id: 0, answer: Promise.reject(err) };
    }
    const id = this.nextId++;
    if (this.nextId > 2 ** 52) this.nextId = 1;
    let batch = this.queued.get(key);
    if (!batch) this.queued.set(key, (batch = []));
    batch.push([id, op, ...args]);
    if (batch.length >= MAX_BATCH) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    const deadline = Date.now() + ANSWER_TIMEOUT_MS + waitMs;
    return { id, answer: new Promise((resolve, reject) => this.pending.set(id, { resolve, reject, deadline, health, map })) };
  }

  private flush(): void {
    this.scheduled = false;
    for (const [key, b] of this.queued) this.send({ t: 'store', s: key, b });
    this.queued.clear();
  }

  /** The supervisor's answers to a batch. */
  answered(answers: readonly StoreAnswer[]): void {
    for (const answer of answers) {
      const p = this.pending.get(answer[0]);
      if (!p) continue;
      this.pending.delete(answer[0]);
      if (answer.length === 2) {
        p.health?.succeeded();
        // JSON carries undefined (a key not found, a set) as null; no operation answers null itself.
        const value = answer[1] ?? undefined;
        p.resolve(p.map ? p.map(value) : value);
      } else {
        // A full security pool is the store's answer, not an outage: the policy fails closed on it.
        p.reject(answer[2] === 'StoreFullError' ? new StoreFullError() : new StoreUnavailableError({ cause: new Error(answer[3]) }));
      }
    }
  }

  /** The supervisor recalls rate-limit leases of the store `key` (lease-host.ts): each goes back with its unused units. */
  recalled(key: string, ids: readonly number[]): void {
    const back = new Map<number, number>();
    for (const store of this.stores) if (store.key === key) for (const [id, units] of store.leases.recall(ids)) back.set(id, units);
    // Every id is answered (0 for one already given back): the supervisor waits for all of them.
    this.giveBack(key, ids.map((id) => [id, back.get(id) ?? 0]));
  }

  /** Leases given back, with their unused units: one `lease.return` each, in the next batch. */
  giveBack(key: string, leases: ReadonlyArray<readonly [number, number]>): void {
    for (const [id, units] of leases) this.tracked(key, undefined, 'lease.return', [id, units], 0).answer.catch(() => undefined);
  }

  /** A message published on a channel, by any worker: every store of this worker hears it. */
  published(channel: string, message: string): void {
    for (const store of this.stores) store.deliver(channel, message);
  }

  private expire(): void {
    const now = Date.now();
    for (const store of this.stores) {
      const ended = store.leases.ended(now);
      if (ended.length > 0) this.giveBack(store.key, ended);
    }
    const late = [...this.pending].filter(([, p]) => p.deadline <= now).map(([id]) => id);
    if (late.length === 0) return;
    // Judged after this turn's I/O: an answer that came while this worker's event loop was busy (a
    // loaded machine) sits unread in the channel, and timers run before it is read. Taken, it is
    // not a timeout; rejected, the operation would count in the store and the request be refused.
    setImmediate(() => {
      for (const id of late) {
        const p = this.pending.get(id);
        if (!p) continue;
        this.pending.delete(id);
        const err = new StoreUnavailableError({ cause: new Error(`the supervisor did not answer within ${ANSWER_TIMEOUT_MS} ms`) });
        p.health?.failed(err);
        p.reject(err);
      }
    });
  }

  close(): void {
    clearInterval(this.timer);
    const err = new StoreUnavailableError({ cause: new Error('worker stopping') });
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  publish(channel: string, message: string): void {
    this.send({ t: 'pub', channel, message });
  }
}

export class RemoteStore implements Store {
  readonly kind = 'memory';
  readonly health: StoreHealth;
  readonly secure: SecureState;
  /** concurrency-limit's slots, counted by the supervisor for the whole node (slot-host.ts). */
  readonly slots: SlotGates;
  private readonly channels = new LocalChannels();
  /** Rate-limit units lent by the supervisor, admitted here without a message (lease-book.ts). */
  readonly leases = new LeaseBook();
  /** Per key, its lease renewal in flight: requests that find the key's units used up wait for it rather than ask. */
  private readonly renewals = new Map<string, Promise<void>>();

  constructor(
    readonly key: string,
    private readonly client: StoreClient,
    logger: Logger,
  ) {
    this.health = new StoreHealth('memory', logger);
    this.secure = {
      addWithin: (key, limit, cost, ttlMs) => this.call('secure.addWithin', [key, limit, cost, ttlMs]) as Promise<CountDecision>,
      get: (key) => this.call('secure.get', [key]) as Promise<string | undefined>,
      set: (key, value, ttlMs) => this.call('secure.set', [key, value, ttlMs]) as Promise<void>,
      delete: (key) => this.call('secure.delete', [key]) as Promise<void>,
      mapSet: (key, field, value) => this.call('secure.mapSet', [key, field, value]) as Promise<void>,
      mapDelete: (key, field) => this.call('secure.mapDelete', [key, field]) as Promise<boolean>,
      mapAll: async (key) => new Map((await this.call('secure.mapAll', [key])) as Array<[string, string]>),
    };
    this.slots = {
      take: (key, max, queueSize, waitMs) => {
        const { id, answer } = this.client.tracked(this.key, this.health, 'slots.take', [key, max, queueSize, waitMs], waitMs);
        let released = false;
        return {
          held: answer as Promise<boolean>,
          release: () => {
            if (released || id === 0) return;
            released = true;
            // Answered for the batch's sake; nothing waits on it. A supervisor gone frees every slot anyway.
            this.call('slots.release', [id]).catch(() => undefined);
          },
        };
      },
    };
  }

  private call(op: string, args: unknown[]): Promise<unknown> {
    return this.client.call(this.key, this.health, op, args);
  }

  hitWindows(key: string, limits: readonly WindowLimit[], sliding: boolean, cost: number, partial: boolean): Awaitable<WindowDecision> {
    // rate-limit's `batch` reserves its own units (partial): asked as before.
    if (partial) return this.call('hitWindows', [key, plainLimits(limits), sliding, cost, partial]) as Promise<WindowDecision>;
    const now = Date.now();
    const local = this.leases.take(key, cost, now);
    if (local) {
      // A quarter left: more is asked for now, while this lease still admits, so the key does not run dry.
      const renewal = this.leases.renewal(key, now);
      if (renewal) this.renew(key, plainLimits(limits), sliding, renewal);
      return local;
    }
    // The key ran dry while its renewal travels: this request waits for it (sent before this
    // request's own ask could be, and no message of its own), then takes from it or asks.
    const renewing = this.renewals.get(key);
    if (renewing) return renewing.then(() => this.leases.take(key, cost, Date.now()) ?? this.ask(key, limits, sliding, cost));
    return this.ask(key, limits, sliding, cost);
  }

  /** One request asks the supervisor (giving back the key's spent leases first), and keeps a lease lent with the answer. */
  private ask(key: string, limits: readonly WindowLimit[], sliding: boolean, cost: number): Promise<WindowDecision> {
    const plain = plainLimits(limits);
    // Null while a renewal is in flight: the leases stay.
    const retire = this.leases.retire(key);
    const keep = (value: unknown): WindowDecision => {
      const { lease, ...decision } = value as LeasedDecision;
      if (lease) {
        const back = this.leases.keep(key, lease, decision, Date.now());
        if (back) this.client.giveBack(this.key, [back]);
      }
      return decision;
    };
    // It may wait for a recall of other workers' leases (at most RECALL_WAIT_MS) before it is decided.
    return this.client.tracked(this.key, this.health, 'lease.hit', [key, plain, sliding, cost, retire], RECALL_WAIT_MS, keep).answer as Promise<WindowDecision>;
  }

  /** Asks for a renewal of the key's lease; its answer joins the key's leases before anything else reads the channel. */
  private renew(key: string, plain: WindowLimit[], sliding: boolean, renewal: Renewal): void {
    const joined = (value: unknown): undefined => {
      const back = this.leases.renewed(key, (value ?? null) as RenewAnswer | null, Date.now());
      if (back) this.client.giveBack(this.key, [back]);
      return undefined;
    };
    const { answer } = this.client.tracked(this.key, undefined, 'lease.renew', [key, plain, sliding, renewal.of, renewal.held, renewal.retire], 0, joined);
    // Unanswered in time: as refused; the requests ask one by one once the units run out, and a new lease renews again.
    const done: Promise<void> = answer.then(
      () => this.settled(key, done),
      () => {
        this.leases.renewFailed(key);
        this.settled(key, done);
      },
    );
    this.renewals.set(key, done);
  }

  private settled(key: string, renewal: Promise<void>): void {
    if (this.renewals.get(key) === renewal) this.renewals.delete(key);
  }

  takeTokens(key: string, intervalMs: number, burst: number, cost: number): Promise<BucketDecision> {
    return this.call('takeTokens', [key, intervalMs, burst, cost]) as Promise<BucketDecision>;
  }

  addWithin(key: string, limit: number, cost: number, ttlMs: number): Promise<CountDecision> {
    return this.call('addWithin', [key, limit, cost, ttlMs]) as Promise<CountDecision>;
  }

  get(key: string): Promise<string | undefined> {
    return this.call('get', [key]) as Promise<string | undefined>;
  }

  countInWindow(key: string, windowMs: number, cap: number): Promise<number> {
    return this.call('countInWindow', [key, windowMs, cap]) as Promise<number>;
  }

  countDistinct(key: string, member: string, windowMs: number, cap: number): Promise<number> {
    return this.call('countDistinct', [key, member, windowMs, cap]) as Promise<number>;
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    return this.call('set', [key, value, ttlMs]) as Promise<void>;
  }

  delete(key: string): Promise<void> {
    return this.call('delete', [key]) as Promise<void>;
  }

  publish(channel: string, message: string): void {
    this.client.publish(channel, message);
  }

  subscribe(channel: string, listener: (message: string) => void): Unsubscribe {
    return this.channels.subscribe(channel, listener);
  }

  deliver(channel: string, message: string): void {
    for (const listener of this.channels.listeners(channel)) listener(message);
  }

  open(): Promise<boolean> {
    return Promise.resolve(true);
  }

  close(): Promise<void> {
    // A reload's old store: what it was lent and did not use goes back to the node.
    const held = this.leases.all();
    if (held.length > 0) this.client.giveBack(this.key, held);
    this.client.forget(this);
    this.channels.clear();
    return Promise.resolve();
  }
}

/** The limits as they travel (the policy's objects may carry more). */
function plainLimits(limits: readonly WindowLimit[]): WindowLimit[] {
  return limits.map((l) => ({ limit: l.limit, windowMs: l.windowMs }));
}

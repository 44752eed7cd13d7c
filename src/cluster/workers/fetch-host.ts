/**
 * The supervisor's side of the node's identity-provider fetches (JWKS, OIDC
 * discovery; src/identity/shared-fetch.ts): one fetch per node, not one per
 * worker. The supervisor does not fetch itself (each worker's config knows
 * the provider's CA bundle and proxy); it picks the worker that asked first
 * to fetch, and every worker asking meanwhile gets that worker's answer. An
 * answer recent enough for the asker (`maxAgeMs`) is handed out again without
 * a fetch; a failure is too, for `failMs`, so a provider that is down is asked
 * once per node, not once per worker, and every worker answers 503
 * dependency_unavailable alike while it keeps its last good keys.
 */
import type { JsonResponse } from '../../identity/http.js';
import type { FetchWant } from '../../identity/shared-fetch.js';
import type { ToWorker } from './protocol.js';

/** A fetching worker that has not reported within this long: its fetch is handed to the next asker, or failed. */
const FETCH_TIMEOUT_MS = 60_000;
/** The most distinct URLs remembered (each a config's JWKS or discovery URL); the least recently asked is dropped. */
const MAX_ENTRIES = 1_000;

interface Asker {
  readonly worker: number;
  readonly id: number;
}

interface Entry {
  ok?: { res: JsonResponse; at: number };
  failed?: { error: string; at: number };
  /** When the last fetch for an unknown key id started (the node-wide cooldown). */
  missAt: number;
  inflight?: { fetcher: Asker; waiters: Asker[]; timer: NodeJS.Timeout };
  used: number;
}

type FetchAnswer = Extract<ToWorker, { t: 'fetch-r' }>;

export class FetchHost {
  private readonly entries = new Map<string, Entry>();

  /** `send` delivers to a worker by its cluster id (a dead one drops it). */
  constructor(private readonly send: (worker: number, message: FetchAnswer) => void) {}

  /** A worker wants `key`'s answer. */
  asked(worker: number, id: number, key: string, want: FetchWant): void {
    const now = Date.now();
    const entry = this.entry(key, now);
    const asker = { worker, id };
    if (entry.inflight) {
      entry.inflight.waiters.push(asker);
      return;
    }
    if (want.miss) {
      // Within the node's cooldown the latest answer stands, whatever its age: one refetch per cooldown per node.
      if (now - entry.missAt < want.miss.cooldownMs && (entry.ok || entry.failed)) return this.answerLatest(entry, asker);
      entry.missAt = now;
      return this.delegate(key, entry, asker);
    }
    const failedLast = entry.failed && (!entry.ok || entry.failed.at > entry.ok.at);
    if (failedLast && now - entry.failed!.at <= want.failMs) return this.answerLatest(entry, asker);
    if (!failedLast && entry.ok && now - entry.ok.at <= want.maxAgeMs) return this.answerLatest(entry, asker);
    this.delegate(key, entry, asker);
  }

  /** The fetching worker's answer: kept, and handed to every worker that waited for it. */
  fetched(worker: number, id: number, key: string, outcome: { res: JsonResponse } | { error: string }): void {
    const entry = this.entries.get(key);
    const inflight = entry?.inflight;
    if (!entry || !inflight || inflight.fetcher.worker !== worker || inflight.fetcher.id !== id) return;
    clearTimeout(inflight.timer);
    entry.inflight = undefined;
    const at = Date.now();
    if ('res' in outcome) entry.ok = { res: outcome.res, at };
    else entry.failed = { error: outcome.error, at };
    for (const waiter of inflight.waiters) this.answerLatest(entry, waiter);
  }

  /** A worker exited: a fetch it was making goes to the next worker waiting for it. */
  exited(worker: number): void {
    for (const [key, entry] of this.entries) {
      const inflight = entry.inflight;
      if (!inflight) continue;
      inflight.waiters = inflight.waiters.filter((w) => w.worker !== worker);
      if (inflight.fetcher.worker === worker) this.handOn(key, entry);
    }
  }

  close(): void {
    for (const entry of this.entries.values()) clearTimeout(entry.inflight?.timer);
    this.entries.clear();
  }

  private entry(key: string, now: number): Entry {
    let entry = this.entries.get(key);
    if (!entry) {
      if (this.entries.size >= MAX_ENTRIES) this.dropOldest();
      this.entries.set(key, (entry = { missAt: -Infinity, used: now }));
    }
    entry.used = now;
    return entry;
  }

  private dropOldest(): void {
    let oldest: [string, Entry] | undefined;
    for (const item of this.entries) if (!item[1].inflight && (!oldest || item[1].used < oldest[1].used)) oldest = item;
    if (oldest) this.entries.delete(oldest[0]);
  }

  private delegate(key: string, entry: Entry, fetcher: Asker, waiters: Asker[] = []): void {
    const timer = setTimeout(() => this.handOn(key, entry), FETCH_TIMEOUT_MS);
    timer.unref();
    entry.inflight = { fetcher, waiters, timer };
    this.send(fetcher.worker, { t: 'fetch-r', id: fetcher.id, go: true });
  }

  /** The fetcher is gone or silent: the next waiter fetches, or, with none, nobody does until asked again. */
  private handOn(key: string, entry: Entry): void {
    const inflight = entry.inflight;
    if (!inflight) return;
    clearTimeout(inflight.timer);
    entry.inflight = undefined;
    const [next, ...rest] = inflight.waiters;
    if (next) this.delegate(key, entry, next, rest);
  }

  private answerLatest(entry: Entry, asker: Asker): void {
    const failedLast = entry.failed && (!entry.ok || entry.failed.at > entry.ok.at);
    if (failedLast) this.send(asker.worker, { t: 'fetch-r', id: asker.id, error: entry.failed!.error, at: entry.failed!.at });
    else if (entry.ok) this.send(asker.worker, { t: 'fetch-r', id: asker.id, res: entry.ok.res, at: entry.ok.at });
    else this.send(asker.worker, { t: 'fetch-r', id: asker.id, go: true });
  }
}

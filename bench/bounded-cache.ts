/**
 * The gateway's BoundedCache (src/lib/bounded-cache.ts: lru-cache underneath,
 * expiry checked on the caller's clock), bare lru-cache with its own TTL, and
 * the hand-written Map LRU that BoundedCache was before (kept below, as it
 * was in src/identity/lru.ts), on the shapes the gateway uses: a full cache of 100k entries keyed by 43-character digests
 * (what verified-token, introspection, basic-auth and ldap caches key by),
 * each entry with its own expiry. Operations: get that hits, get that misses,
 * set of a new key into a full cache (one eviction each), set over an
 * existing key. ns per operation; the implementations run interleaved,
 * in alternating order, round after round, and the table shows medians (the
 * machine is shared). Also the heap each holds for 100k entries.
 * Run: node --expose-gc --import tsx bench/bounded-cache.ts
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { BoundedCache } from '../src/lib/bounded-cache.js';
import { median } from './lib/stats.js';

const ENTRIES = 100_000;
const OPS = 200_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const TTL_MS = 300_000;

interface Value { name: string; groups: string[] }
const value: Value = { name: 'consumer', groups: ['a'] };
const digest = (i: number) => createHash('sha256').update(`token-${i}`).digest('base64url');
const present = Array.from({ length: ENTRIES }, (_, i) => digest(i));
const absent = Array.from({ length: ENTRIES }, (_, i) => digest(ENTRIES + i));
// A random order of look-ups, so neither cache is read in insertion order.
const order = Uint32Array.from({ length: OPS }, () => Math.floor(Math.random() * ENTRIES));

/** The hand-written LRU that src/identity/lru.ts held until issue 11 item 6, unchanged. */
class MapLru<V> {
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

/** The call sites' contract: absolute expiry in ms, as BoundedCache takes it. */
interface Cache {
  get(key: string): Value | undefined;
  set(key: string, value: Value, expiresAt: number): void;
}

function mapLru(): Cache {
  const cache = new MapLru<Value>(ENTRIES);
  return { get: (k) => cache.get(k), set: (k, v, at) => cache.set(k, v, at) };
}

function bounded(): Cache {
  const cache = new BoundedCache<Value>(ENTRIES);
  return { get: (k) => cache.get(k), set: (k, v, at) => cache.set(k, v, at) };
}

function lru(): Cache {
  const cache = new LRUCache<string, Value>({ max: ENTRIES });
  return {
    get: (k) => cache.get(k),
    set: (k, v, at) => {
      const ttl = at - Date.now();
      if (ttl > 0) cache.set(k, v, { ttl });
    },
  };
}

function filled(make: () => Cache): Cache {
  const cache = make();
  const now = Date.now();
  // Spread expiries as the gateway's are: each entry its own.
  for (let i = 0; i < ENTRIES; i++) cache.set(present[i]!, value, now + TTL_MS + (i % 1000));
  return cache;
}

const ops: Record<string, (cache: Cache) => void> = {
  'get hit': (cache) => {
    for (let i = 0; i < OPS; i++) if (cache.get(present[order[i]!]!) === undefined) throw new Error('miss');
  },
  'get miss': (cache) => {
    for (let i = 0; i < OPS; i++) if (cache.get(absent[order[i]!]!) !== undefined) throw new Error('hit');
  },
  'set new (evicts)': (cache) => {
    const now = Date.now();
    for (let i = 0; i < ENTRIES; i++) cache.set(absent[i]!, value, now + TTL_MS + (i % 1000));
  },
  'set existing': (cache) => {
    const now = Date.now();
    for (let i = 0; i < OPS; i++) cache.set(present[order[i]!]!, value, now + TTL_MS);
  },
};
const opCount: Record<string, number> = { 'get hit': OPS, 'get miss': OPS, 'set new (evicts)': ENTRIES, 'set existing': OPS };

const impls: Record<string, () => Cache> = { 'Map LRU (before)': mapLru, BoundedCache: bounded, 'lru-cache ttl': lru };
const results: Record<string, Record<string, number[]>> = {};
for (const name of Object.keys(impls)) results[name] = Object.fromEntries(Object.keys(ops).map((op) => [op, []]));

function time(op: string, make: () => Cache): number {
  const cache = filled(make);
  const start = process.hrtime.bigint();
  ops[op]!(cache);
  return Number(process.hrtime.bigint() - start) / opCount[op]!;
}

// Warm all up, then interleave: each round runs every implementation, odd rounds in reverse order.
for (const op of Object.keys(ops)) for (const make of Object.values(impls)) time(op, make);
for (let round = 0; round < ROUNDS; round++) {
  const names = Object.keys(impls);
  if (round % 2 === 1) names.reverse();
  for (const op of Object.keys(ops)) for (const name of names) results[name]![op]!.push(time(op, impls[name]!));
}

const gc = (globalThis as { gc?: () => void }).gc;
function heapMiB(make: () => Cache): number | undefined {
  if (!gc) return undefined;
  gc();
  const before = process.memoryUsage().heapUsed;
  const cache = filled(make);
  gc();
  const used = process.memoryUsage().heapUsed - before;
  if (cache.get(present[0]!) === undefined) throw new Error('lost');
  return used / 1024 / 1024;
}

console.log(`node ${process.version}, ${ENTRIES} entries, ${ROUNDS} interleaved rounds, median ns/op (min-max)`);
console.log(['operation'.padEnd(18), ...Object.keys(impls).map((n) => n.padStart(22))].join(''));
for (const op of Object.keys(ops)) {
  const cells = Object.keys(impls).map((name) => {
    const v = results[name]![op]!;
    return `${median(v).toFixed(0)} (${Math.min(...v).toFixed(0)}-${Math.max(...v).toFixed(0)})`.padStart(22);
  });
  console.log([op.padEnd(18), ...cells].join(''));
}
const heaps = Object.values(impls).map((make) => heapMiB(make));
if (heaps.every((h) => h !== undefined)) console.log(['heap, MiB'.padEnd(18), ...heaps.map((h) => h!.toFixed(1).padStart(22))].join(''));


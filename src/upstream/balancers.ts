/**
 * Ways to choose a target. Each sees only targets that are available (healthy,
 * circuit not open, weight above zero) and not already tried for this request.
 */
import { createHash } from 'node:crypto';
import type { Target } from './target.js';

export interface Balancer {
  /** `key` is the consistent-hash key (client IP, consumer or header value); others ignore it. */
  pick(targets: readonly Target[], usable: (t: Target) => boolean, key: string | undefined): Target | undefined;
}

/** nginx's smooth weighted round-robin: weights respected, picks interleaved. */
export class RoundRobin implements Balancer {
  pick(targets: readonly Target[], usable: (t: Target) => boolean): Target | undefined {
    let best: Target | undefined;
    let total = 0;
    for (const t of targets) {
      if (!usable(t)) continue;
      t.currentWeight += t.weight;
      total += t.weight;
      if (!best || t.currentWeight > best.currentWeight) best = t;
    }
    if (best) best.currentWeight -= total;
    return best;
  }
}

/** Fewest requests in flight relative to weight; ties go round the list. */
export class LeastConnections implements Balancer {
  private next = 0;

  pick(targets: readonly Target[], usable: (t: Target) => boolean): Target | undefined {
    let best: Target | undefined;
    let bestLoad = Infinity;
    const n = targets.length;
    const start = this.next++ % n;
    for (let k = 0; k < n; k++) {
      const t = targets[(start + k) % n]!;
      if (!usable(t)) continue;
      const load = t.active / t.weight;
      if (load < bestLoad) {
        bestLoad = load;
        best = t;
      }
    }
    return best;
  }
}

export class WeightedRandom implements Balancer {
  pick(targets: readonly Target[], usable: (t: Target) => boolean): Target | undefined {
    let total = 0;
    for (const t of targets) if (usable(t)) total += t.weight;
    let r = Math.random() * total;
    for (const t of targets) {
      if (!usable(t)) continue;
      r -= t.weight;
      if (r < 0) return t;
    }
    return undefined;
  }
}

/**
 * A hash ring with points in proportion to weight: the same key goes to the
 * same target, and when a target leaves only its keys move. When the key's
 * target is unavailable the next point on the ring takes it.
 */
export class ConsistentHash implements Balancer {
  private readonly points: Uint32Array;
  private readonly owners: Target[];
  private readonly fallback = new RoundRobin();

  constructor(targets: readonly Target[], pointsPerWeight = 40) {
    const ring: Array<{ point: number; target: Target }> = [];
    for (const target of targets) {
      for (let i = 0; i < target.weight * pointsPerWeight; i++) ring.push({ point: hash32(`${target.origin}#${i}`), target });
    }
    ring.sort((a, b) => a.point - b.point);
    this.points = Uint32Array.from(ring.map((r) => r.point));
    this.owners = ring.map((r) => r.target);
  }

  pick(targets: readonly Target[], usable: (t: Target) => boolean, key: string | undefined): Target | undefined {
    if (key === undefined || this.points.length === 0) return this.fallback.pick(targets, usable);
    const h = hash32(key);
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    for (let k = 0; k < this.owners.length; k++) {
      const t = this.owners[(lo + k) % this.owners.length]!;
      if (usable(t)) return t;
    }
    return undefined;
  }
}

function hash32(text: string): number {
  return createHash('sha1').update(text).digest().readUInt32BE(0);
}

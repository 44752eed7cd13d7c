/**
 * Holds the current snapshot. A request reads it once at its start and keeps
 * it to the end; a reload swaps one reference. Counting requests per snapshot
 * tells when an old one has drained, so what only it used can be closed.
 */
import type { Snapshot } from '../snapshot.js';

interface Tracked {
  inflight: number;
  onDrained: (() => void) | undefined;
}

export class SnapshotHolder {
  private readonly tracked = new WeakMap<Snapshot, Tracked>();

  constructor(private snapshot: Snapshot) {
    this.tracked.set(snapshot, { inflight: 0, onDrained: undefined });
  }

  get current(): Snapshot {
    return this.snapshot;
  }

  /** A request starts on the current snapshot. */
  enter(): Snapshot {
    const s = this.snapshot;
    this.tracked.get(s)!.inflight++;
    return s;
  }

  leave(s: Snapshot): void {
    const t = this.tracked.get(s)!;
    if (--t.inflight === 0 && t.onDrained && s !== this.snapshot) {
      const drained = t.onDrained;
      t.onDrained = undefined;
      drained();
    }
  }

  /** Makes `next` current; `retire` runs once no request is left on the old snapshot. */
  swap(next: Snapshot, retire: () => void): void {
    const old = this.snapshot;
    this.tracked.set(next, { inflight: 0, onDrained: undefined });
    this.snapshot = next;
    const t = this.tracked.get(old)!;
    if (t.inflight === 0) retire();
    else t.onDrained = retire;
  }

  inflight(): number {
    return this.tracked.get(this.snapshot)!.inflight;
  }
}

/**
 * The dynamic deny list of a worker node: each worker keeps its own copy, so
 * a lookup stays a map lookup in the worker, and every change made in one
 * worker (automatic defense, the admin API) is sent to the supervisor, which
 * keeps the node's copy (for workers that start later) and passes it to every
 * other worker. A change reaches the other workers one IPC hop later (well
 * under a millisecond on an idle node; docs/workers.md): that is the bound on
 * how long a request on another worker can still pass an address just denied.
 */
import { DynamicDenyList, type DenyEntry } from '../../defense/deny-list.js';
import type { DenyChange } from './protocol.js';

export class SharedDenyList extends DynamicDenyList {
  /** Set by the worker once its channel to the supervisor is up. */
  share: ((change: DenyChange) => void) | undefined = undefined;
  private applying = false;

  override add(target: string, ttlMs?: number, reason?: string): DenyEntry {
    const entry = super.add(target, ttlMs, reason);
    if (!this.applying) this.share?.(addition(entry));
    return entry;
  }

  override remove(target: string): boolean {
    const removed = super.remove(target);
    if (removed && !this.applying) this.share?.({ op: 'remove', target });
    return removed;
  }

  override clear(): void {
    super.clear();
    if (!this.applying) this.share?.({ op: 'clear' });
  }

  /** A change another worker made (or the node's list at boot): applied here, not sent back. */
  apply(change: DenyChange): void {
    this.applying = true;
    try {
      applyDenyChange(this, change);
    } finally {
      this.applying = false;
    }
  }
}

/** Applies a change to a list: a worker's (through apply()) or the supervisor's copy. */
export function applyDenyChange(list: DynamicDenyList, change: DenyChange): void {
  try {
    if (change.op === 'clear') list.clear();
    else if (change.op === 'remove') list.remove(change.target);
    else {
      const ttl = change.expiresAt === null ? undefined : change.expiresAt - Date.now();
      // Already expired on its way here: nothing to add.
      if (ttl === undefined || ttl > 0) list.add(change.target, ttl, change.reason);
    }
  } catch {
    // A full list refuses here as the worker's own did: that worker has said so already.
  }
}

/** The node's list as changes, for a worker that starts later. */
export function denyListChanges(list: DynamicDenyList): DenyChange[] {
  return list.entries().map(addition);
}

/** Infinity (until removed) travels as null: the channel speaks JSON. */
function addition(entry: DenyEntry): DenyChange {
  return { op: 'add', target: entry.target, expiresAt: entry.expiresAt === Infinity ? null : entry.expiresAt, reason: entry.reason };
}

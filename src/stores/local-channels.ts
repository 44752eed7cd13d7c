/**
 * Pub/sub listeners held in the process, by channel: what a store that is
 * not Redis (the memory store, a worker's store in the supervisor) hands its
 * subscribers. Each subscription is its own entry, so one listener added
 * twice is called twice and unsubscribes once.
 */
import type { Unsubscribe } from './store.js';

export class LocalChannels {
  private readonly channels = new Map<string, Set<(message: string) => void>>();

  subscribe(channel: string, listener: (message: string) => void): Unsubscribe {
    let listeners = this.channels.get(channel);
    if (!listeners) this.channels.set(channel, (listeners = new Set()));
    const own = (message: string) => listener(message);
    listeners.add(own);
    return () => {
      listeners.delete(own);
      if (listeners.size === 0) this.channels.delete(channel);
    };
  }

  /** The listeners of a channel now (none: an empty list). */
  listeners(channel: string): Iterable<(message: string) => void> {
    return this.channels.get(channel) ?? [];
  }

  clear(): void {
    this.channels.clear();
  }
}

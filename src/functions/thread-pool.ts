/**
 * The worker threads all functions share (`functions_runtime.threads`,
 * default min(2, cores)): a thread costs ~30 MiB of its own (a V8 isolate),
 * so a thread per function does not scale to a config with twenty. Each
 * thread hosts the engine and sandbox pool of every function that has run on
 * it (loaded on first use there, thread.ts); a call goes to the live thread
 * with the fewest calls in progress, ties to one where the function is
 * already loaded, so one function's calls are spread over the threads when
 * it is busy. A thread that ends (the watchdog terminated it) is replaced on
 * the next pick; the calls of other functions on it fail `crash` and are not
 * retried (they may have run part way: a fetch sent, a kv written).
 */
import { availableParallelism } from 'node:os';
import { FunctionThread, type Note } from './thread-host.js';

export const DEFAULT_THREADS = Math.max(1, Math.min(2, availableParallelism()));

export class ThreadPool {
  private threads: FunctionThread[] = [];
  /** Threads started (the first ones, and each replacement): for tests and the bench. */
  started = 0;

  constructor(
    private size: number,
    private readonly note: Note,
  ) {}

  /** A reload may change the size: threads past it take no new calls and end once idle. */
  resize(size: number): void {
    this.size = size;
    this.trim();
  }

  private trim(): void {
    for (const t of this.threads.slice(this.size)) if (t.busy === 0) t.terminate();
    this.threads = this.threads.filter((t, i) => !t.dead && (i < this.size || t.busy > 0));
  }

  /** The thread for a call of function `key`. */
  pick(key: string): FunctionThread {
    this.trim();
    let best: FunctionThread | undefined;
    for (let i = 0; i < Math.min(this.size, this.threads.length); i++) {
      const t = this.threads[i]!;
      if (!best || t.busy < best.busy || (t.busy === best.busy && t.has(key) && !best.has(key))) best = t;
    }
    // A new thread while there is room and every live one is busy (the first call of each starts one lazily).
    if (this.threads.length < this.size && (!best || best.busy > 0)) {
      const t = new FunctionThread(this.note);
      this.started++;
      this.threads.push(t);
      return t;
    }
    return best!;
  }

  /** Frees a closed function's engines and pools on every thread. */
  unload(key: string): void {
    for (const t of this.threads) t.unload(key);
  }

  /** How many threads are running now. */
  get live(): number {
    return this.threads.filter((t) => !t.dead).length;
  }

  close(): void {
    for (const t of this.threads) t.terminate();
    this.threads = [];
  }
}

/**
 * The main thread's end of one worker thread of the shared pool (thread.ts,
 * thread-pool.ts): starts it, loads a function on it before its first call
 * there, sends calls and routes what comes back (answers, console lines, host
 * requests, engine notes) to the call or function that asked; terminates it
 * on a watchdog's word (runtime.ts). A thread that ends, terminated or not,
 * fails every call still on it, and is never used again: the pool starts
 * another.
 */
import { Worker } from 'node:worker_threads';
import type { FromThread, FunctionSetup, ToThread } from './thread-protocol.js';

/** What a call in progress handles of what its thread sends. */
export interface CallSink {
  done(m: Extract<FromThread, { t: 'done' }>): void;
  log(level: string, message: string): void;
  host(m: Extract<FromThread, { t: 'fetch' | 'kv' }>): void;
}

/**
 * The thread's entry: the built JavaScript next to this file, or, run from
 * the TypeScript sources (tests, benches: `node --import tsx`), the same
 * file through tsx, which a worker does not inherit from --import.
 */
function spawn(): Worker {
  const here = import.meta.url;
  const options = { resourceLimits: { maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 16 }, stdout: false, stderr: false };
  if (!here.endsWith('.ts')) return new Worker(new URL('./thread.js', here), options);
  const entry = JSON.stringify(new URL('./thread.ts', here).href);
  return new Worker(`import('tsx/esm/api').then((m) => m.register()).then(() => import(${entry}))`, { ...options, eval: true });
}

export type Note = (level: 'warn' | 'error', message: string, data?: Record<string, unknown>) => void;

export class FunctionThread {
  private readonly worker: Worker;
  private readonly calls = new Map<number, CallSink>();
  private nextId = 0;
  /** The thread ended (terminated, crashed): no call goes to it any more. */
  dead = false;
  readonly ready: Promise<void>;
  /** The call the watchdog stopped the thread for: it fails `wall`, the others on the thread `crash`. */
  private overran: number | undefined;

  /** The functions loaded on this thread, by key, with where their engine notes go. */
  private readonly loaded = new Map<string, Note>();

  constructor(private readonly note: Note) {
    this.worker = spawn();
    this.worker.unref();
    let ready!: () => void;
    this.ready = new Promise<void>((r) => (ready = r));
    this.worker.on('message', (m: FromThread) => {
      switch (m.t) {
        case 'ready':
          ready();
          return;
        case 'done': {
          const sink = this.calls.get(m.id);
          this.calls.delete(m.id);
          sink?.done(m);
          return;
        }
        case 'log':
          this.calls.get(m.id)?.log(m.level, m.message);
          return;
        case 'fetch':
        case 'kv':
          this.calls.get(m.id)?.host(m);
          return;
        case 'note':
          (this.loaded.get(m.fn) ?? this.note)(m.level, m.message, m.data);
      }
    });
    this.worker.on('error', (err) => this.note('error', `function thread failed: ${err.message}`));
    this.worker.on('exit', () => {
      this.dead = true;
      ready();
      for (const [id, sink] of this.calls) {
        if (id === this.overran) sink.done({ t: 'done', id, ok: false, reason: 'wall', message: 'the function did not answer in time' });
        else sink.done({ t: 'done', id, ok: false, reason: 'crash', message: "the function's thread was stopped (a call sharing it ran past its limit)", collateral: true });
      }
      this.calls.clear();
    });
  }

  /** Calls in progress on this thread. */
  get busy(): number {
    return this.calls.size;
  }

  /** Whether a function is loaded here (a call to it finds its engine, maybe warm). */
  has(key: string): boolean {
    return this.loaded.has(key);
  }

  /** Loads a function here (its engine starts, its pool fills) unless it is already. */
  load(setup: FunctionSetup, note: Note): void {
    if (this.loaded.has(setup.key)) return;
    this.loaded.set(setup.key, note);
    this.post({ t: 'load', setup });
  }

  call(setup: FunctionSetup, note: Note, m: Omit<Extract<ToThread, { t: 'call' }>, 'id' | 't' | 'fn'>, sink: CallSink): number {
    this.load(setup, note);
    const id = this.nextId++;
    this.calls.set(id, sink);
    this.post({ t: 'call', id, fn: setup.key, ...m });
    return id;
  }

  post(m: ToThread): void {
    if (!this.dead) this.worker.postMessage(m);
  }

  /** Frees a closed function's engine and pool on this thread. */
  unload(key: string): void {
    if (this.loaded.delete(key)) this.post({ t: 'unload', fn: key });
  }

  /** Whether call `id` is still waiting for its answer. */
  pending(id: number): boolean {
    return this.calls.has(id);
  }

  /** Ends the thread now; its calls fail (`overran`: wall, the others: crash). */
  terminate(overran?: number): void {
    if (this.dead) return;
    this.dead = true;
    this.overran = overran;
    void this.worker.terminate();
  }
}

/**
 * The main thread's end of a function's worker thread (thread.ts): starts
 * it, sends calls and routes what comes back (answers, console lines, host
 * requests) to the call that asked; terminates it on the watchdog's word
 * (runtime.ts). A thread that ends, terminated or not, fails every call still
 * on it, and is never used again: the runtime starts another.
 */
import { Worker } from 'node:worker_threads';
import type { FailureReason } from './sandbox.js';
import type { FromThread, ThreadSetup, ToThread } from './thread-protocol.js';

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
function spawn(setup: ThreadSetup): Worker {
  const here = import.meta.url;
  const options = { workerData: setup, resourceLimits: { maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 16 }, stdout: false, stderr: false };
  if (!here.endsWith('.ts')) return new Worker(new URL('./thread.js', here), options);
  const entry = JSON.stringify(new URL('./thread.ts', here).href);
  return new Worker(`import('tsx/esm/api').then((m) => m.register()).then(() => import(${entry}))`, { ...options, eval: true });
}

export class FunctionThread {
  private readonly worker: Worker;
  private readonly calls = new Map<number, CallSink>();
  private nextId = 0;
  /** The thread ended (terminated, crashed): no call goes to it any more. */
  dead = false;
  readonly ready: Promise<void>;
  /** The call the watchdog stopped the thread for: it fails `wall`, the others on the thread `crash`. */
  private overran: number | undefined;

  constructor(
    setup: ThreadSetup,
    private readonly note: (level: 'warn' | 'error', message: string, data?: Record<string, unknown>) => void,
  ) {
    this.worker = spawn(setup);
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
          this.note(m.level, m.message, m.data);
      }
    });
    this.worker.on('error', (err) => this.note('error', `function thread failed: ${err.message}`));
    this.worker.on('exit', () => {
      this.dead = true;
      ready();
      for (const [id, sink] of this.calls) {
        const reason: FailureReason = id === this.overran ? 'wall' : 'crash';
        const message = id === this.overran ? 'the function did not answer in time' : "the function's thread was stopped (another call ran past its limit)";
        sink.done({ t: 'done', id, ok: false, reason, message });
      }
      this.calls.clear();
    });
  }

  /** Calls in progress on this thread. */
  get busy(): number {
    return this.calls.size;
  }

  call(m: Omit<Extract<ToThread, { t: 'call' }>, 'id' | 't'>, sink: CallSink): number {
    const id = this.nextId++;
    this.calls.set(id, sink);
    this.post({ t: 'call', id, ...m });
    return id;
  }

  post(m: ToThread): void {
    if (!this.dead) this.worker.postMessage(m);
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

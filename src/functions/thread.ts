/**
 * A worker thread of the functions' shared pool (thread-pool.ts): the engine
 * (a WebAssembly instance, its memory capped: engine.ts) and the pool of
 * prepared sandboxes of each function it has served live here, one engine per
 * function (functions share no engine, so no heap), so a call
 * that computes, or runs until a limit stops it, never holds the gateway's
 * event loop. The sandbox is QuickJS, as on the main thread before: the
 * thread is only where it runs (a worker thread alone is no sandbox, it has
 * `process` and `require`; function code never sees them, only the QuickJS
 * realm the shim builds).
 *
 * The main thread (runtime.ts) keeps everything else: health, concurrency,
 * limits on bodies, the fetch client and its allowlist, kv, the logger,
 * secrets; and the watchdog: past a call's wall-clock limit it asks for the
 * call's sandbox to be disposed, and terminates this thread when it is too
 * busy to hear (an operation the interrupt handler cannot stop).
 *
 * Pool and engine life are as they were on the main thread: a call that
 * ends cleanly gives its sandbox back (sandbox.ts recycle), any other has it
 * disposed off the call's path; an engine grown past its budget or broken by
 * a trap is replaced.
 */
import { parentPort } from 'node:worker_threads';
import { engineBytes, isEngineTrap, newEngine, type Engine } from './engine.js';
import { Sandbox, SandboxFailure, type CallHost, type CallResult } from './sandbox.js';
import type { FromThread, FunctionSetup, ToThread } from './thread-protocol.js';

const port = parentPort!;
const post = (m: FromThread) => port.postMessage(m);
/** Bytes the sandbox made for this message only (sandbox.ts ownBytes) are moved to the main thread, not copied. */
const postMoving = (m: FromThread, body: Uint8Array | undefined) => port.postMessage(m, body ? [body.buffer as ArrayBuffer] : undefined);

/** The sandbox of each call in progress (a cancel disposes it). */
const running = new Map<number, Sandbox>();
/** Host requests waiting for the main thread's reply. */
const waiting = new Map<number, { resolve: (m: Extract<ToThread, { t: 'reply' }>) => void }>();
let nextHid = 0;

/** One function on this thread: its engine and its pool of prepared sandboxes. */
class Hosted {
  private engine: Engine | undefined;
  private engineLoading: Promise<Engine> | undefined;
  private readonly pool: Sandbox[] = [];
  private refilling = false;
  closed = false;

  constructor(readonly setup: FunctionSetup) {
    void this.loadEngine().then(
      () => this.refill(),
      (err: unknown) => this.note('error', `function engine could not start: ${(err as Error).message}`),
    );
  }

  private note(level: 'warn' | 'error', message: string, data?: Record<string, unknown>): void {
    post({ t: 'note', fn: this.setup.key, level, message, data });
  }

  loadEngine(): Promise<Engine> {
    if (this.engine) return Promise.resolve(this.engine);
    this.engineLoading ??= newEngine(this.setup.engineCap).then((e) => {
      this.engine = e;
      this.engineLoading = undefined;
      return e;
    });
    return this.engineLoading;
  }

  /** Prepares sandboxes up to the pool size, one per turn of this thread's loop so calls are not held up. */
  private refill(): void {
    if (this.refilling || !this.engine || this.closed) return;
    this.refilling = true;
    const step = () => {
      if (!this.engine || this.closed || this.pool.length >= this.setup.poolSize) {
        this.refilling = false;
        return;
      }
      try {
        this.pool.push(new Sandbox(this.engine, this.setup.source, this.setup.limits));
      } catch (err) {
        this.refilling = false;
        this.note('error', `function sandbox could not be prepared: ${(err as Error).message}`);
        return;
      }
      setImmediate(step);
    };
    setImmediate(step);
  }

  take(e: Engine): Sandbox {
    const ready = this.pool.pop();
    this.refill();
    if (ready) return ready;
    try {
      return new Sandbox(e, this.setup.source, this.setup.limits);
    } catch (err) {
      // A trap (the engine ran out of its capped memory in a spot QuickJS does not check) leaves it unusable.
      if (isEngineTrap(err) && e === this.engine) this.engineBroken(err);
      throw err;
    }
  }

  giveBack(sandbox: Sandbox, ok: boolean): void {
    // An engine a call grew (a bomb whose "out of memory" the function caught) is replaced by the check below.
    const grown = engineBytes(sandbox.engine) > this.setup.engineReplaceAt;
    if (ok && !grown && !this.closed && sandbox.engine === this.engine && this.pool.length < this.setup.poolSize && sandbox.recycle()) {
      this.pool.push(sandbox);
      return;
    }
    const e = this.engine;
    setImmediate(() => {
      try {
        sandbox.dispose();
      } catch (err) {
        this.engineBroken(err);
        return;
      }
      // WebAssembly memory never shrinks: an engine a call made grow past the budget is replaced.
      if (e && e === this.engine && engineBytes(e) > this.setup.engineReplaceAt) this.replaceEngine('the engine grew past its memory budget');
    });
  }

  private engineBroken(err: unknown): void {
    this.note('error', `function engine failed; starting a new one: ${(err as Error).message}`);
    this.replaceEngine(undefined);
  }

  private replaceEngine(why: string | undefined): void {
    if (why) this.note('warn', `function engine replaced: ${why}`, { engine_bytes: this.engine ? engineBytes(this.engine) : 0 });
    this.drain();
    if (this.closed) return;
    this.engine = undefined;
    void this.loadEngine().then(
      () => this.refill(),
      (e: unknown) => this.note('error', `function engine could not start: ${(e as Error).message}`),
    );
  }

  private drain(): void {
    for (const s of this.pool.splice(0)) {
      try {
        s.dispose();
      } catch {
        // nothing left to free in an engine that aborted
      }
    }
  }

  /** The runtime was closed: the pool is freed now, the engine with the last call still on it (garbage). */
  close(): void {
    this.closed = true;
    this.drain();
    this.engine = undefined;
  }
}

const hosted = new Map<string, Hosted>();

/** A host request of call `id` to the main thread, answered by a 'reply'. */
function ask(m: (hid: number) => FromThread, body?: Uint8Array): Promise<Extract<ToThread, { t: 'reply' }>> {
  const hid = nextHid++;
  return new Promise((resolve) => {
    waiting.set(hid, { resolve });
    postMoving(m(hid), body);
  });
}

function hostFor(id: number, headOnly: boolean): CallHost {
  return {
    log: (level, message) => post({ t: 'log', id, level, message }),
    fetch: async (head, body) => {
      if (headOnly) throw new Error('fetch is not available in a response hook');
      const r = await ask((hid) => ({ t: 'fetch', id, hid, head, body }), body);
      if (!r.ok) throw new Error(r.message);
      return { head: r.value ?? '', body: r.body ?? new Uint8Array(0) };
    },
    kv: async (op, key, value, ttl) => {
      if (headOnly) throw new Error('kv is not available in a response hook');
      const r = await ask((hid) => ({ t: 'kv', id, hid, op, key, value, ttl }));
      if (!r.ok) throw new Error(r.message);
      return r.value ?? undefined;
    },
  };
}

async function call(m: Extract<ToThread, { t: 'call' }>): Promise<void> {
  const fn = hosted.get(m.fn);
  if (!fn || fn.closed) {
    done(m.id, new Error('the function was replaced by a reload'));
    return;
  }
  let sandbox: Sandbox;
  try {
    sandbox = fn.take(await fn.loadEngine());
  } catch (err) {
    done(m.id, err);
    return;
  }
  running.set(m.id, sandbox);
  let result: CallResult | undefined;
  let failure: unknown;
  try {
    result = await sandbox.call({ kind: m.kind, head: m.head, body: m.body, secrets: m.secrets }, hostFor(m.id, m.headOnly));
  } catch (err) {
    failure = err;
  }
  running.delete(m.id);
  if (result) postMoving({ t: 'done', id: m.id, ok: true, head: result.head, body: result.body }, result.body);
  else done(m.id, failure);
  // Back to the pool, or disposed (which frees the call's heap) after the answer is on its way.
  fn.giveBack(sandbox, result !== undefined);
}

function done(id: number, err: unknown): void {
  if (err instanceof SandboxFailure) post({ t: 'done', id, ok: false, reason: err.reason, message: err.message });
  else post({ t: 'done', id, ok: false, reason: 'crash', message: err instanceof Error ? err.message : String(err) });
}

port.on('message', (m: ToThread) => {
  switch (m.t) {
    case 'call':
      void call(m);
      return;
    case 'cancel':
      running.get(m.id)?.dispose();
      return;
    case 'load':
      if (!hosted.has(m.setup.key)) hosted.set(m.setup.key, new Hosted(m.setup));
      return;
    case 'unload':
      hosted.get(m.fn)?.close();
      hosted.delete(m.fn);
      return;
    default: {
      const w = waiting.get(m.hid);
      waiting.delete(m.hid);
      w?.resolve(m);
    }
  }
});

post({ t: 'ready' });

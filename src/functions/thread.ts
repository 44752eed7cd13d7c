/**
 * A function's worker thread: its engine (a WebAssembly instance, its memory
 * capped: engine.ts) and its pool of prepared sandboxes live here, so a call
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
import { parentPort, workerData } from 'node:worker_threads';
import { engineBytes, isEngineTrap, newEngine, type Engine } from './engine.js';
import { Sandbox, SandboxFailure, type CallHost, type CallResult } from './sandbox.js';
import type { FromThread, ThreadSetup, ToThread } from './thread-protocol.js';

const port = parentPort!;
const setup = workerData as ThreadSetup;
const post = (m: FromThread, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);

let engine: Engine | undefined;
let engineLoading: Promise<Engine> | undefined;
const pool: Sandbox[] = [];
let refilling = false;
/** The sandbox of each call in progress (a cancel disposes it). */
const running = new Map<number, Sandbox>();
/** Host requests waiting for the main thread's reply. */
const waiting = new Map<number, { resolve: (m: Extract<ToThread, { t: 'reply' }>) => void }>();
let nextHid = 0;

function loadEngine(): Promise<Engine> {
  if (engine) return Promise.resolve(engine);
  engineLoading ??= newEngine(setup.engineCap).then((e) => {
    engine = e;
    engineLoading = undefined;
    return e;
  });
  return engineLoading;
}

/** Prepares sandboxes up to the pool size, one per turn of this thread's loop so calls are not held up. */
function refill(): void {
  if (refilling || !engine) return;
  refilling = true;
  const step = () => {
    if (!engine || pool.length >= setup.poolSize) {
      refilling = false;
      return;
    }
    try {
      pool.push(new Sandbox(engine, setup.source, setup.limits));
    } catch (err) {
      refilling = false;
      post({ t: 'note', level: 'error', message: `function sandbox could not be prepared: ${(err as Error).message}` });
      return;
    }
    setImmediate(step);
  };
  setImmediate(step);
}

function take(e: Engine): Sandbox {
  const ready = pool.pop();
  refill();
  if (ready) return ready;
  try {
    return new Sandbox(e, setup.source, setup.limits);
  } catch (err) {
    // A trap (the engine ran out of its capped memory in a spot QuickJS does not check) leaves it unusable.
    if (isEngineTrap(err) && e === engine) engineBroken(err);
    throw err;
  }
}

function giveBack(sandbox: Sandbox, ok: boolean): void {
  // An engine a call grew (a bomb whose "out of memory" the function caught) is replaced by disposeLater's check.
  const grown = engineBytes(sandbox.engine) > setup.engineReplaceAt;
  if (ok && !grown && sandbox.engine === engine && pool.length < setup.poolSize && sandbox.recycle()) {
    pool.push(sandbox);
    return;
  }
  const e = engine;
  setImmediate(() => {
    try {
      sandbox.dispose();
    } catch (err) {
      engineBroken(err);
      return;
    }
    // WebAssembly memory never shrinks: an engine a call made grow past the budget is replaced.
    if (e && e === engine && engineBytes(e) > setup.engineReplaceAt) replaceEngine('the engine grew past its memory budget');
  });
}

function engineBroken(err: unknown): void {
  post({ t: 'note', level: 'error', message: `function engine failed; starting a new one: ${(err as Error).message}` });
  replaceEngine(undefined);
}

function replaceEngine(why: string | undefined): void {
  if (why) post({ t: 'note', level: 'warn', message: `function engine replaced: ${why}`, data: { engine_bytes: engine ? engineBytes(engine) : 0 } });
  for (const s of pool.splice(0)) {
    try {
      s.dispose();
    } catch {
      // nothing left to free in an engine that aborted
    }
  }
  engine = undefined;
  void loadEngine().then(
    () => refill(),
    (e: unknown) => post({ t: 'note', level: 'error', message: `function engine could not start: ${(e as Error).message}` }),
  );
}

/** A host request of call `id` to the main thread, answered by a 'reply'. */
function ask(m: (hid: number) => FromThread): Promise<Extract<ToThread, { t: 'reply' }>> {
  const hid = nextHid++;
  return new Promise((resolve) => {
    waiting.set(hid, { resolve });
    post(m(hid));
  });
}

function hostFor(id: number, headOnly: boolean): CallHost {
  return {
    log: (level, message) => post({ t: 'log', id, level, message }),
    fetch: async (head, body) => {
      if (headOnly) throw new Error('fetch is not available in a response hook');
      const r = await ask((hid) => ({ t: 'fetch', id, hid, head, body }));
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
  let sandbox: Sandbox;
  try {
    sandbox = take(await loadEngine());
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
  if (result) post({ t: 'done', id: m.id, ok: true, head: result.head, body: result.body });
  else done(m.id, failure);
  // Back to the pool, or disposed (which frees the call's heap) after the answer is on its way.
  giveBack(sandbox, result !== undefined);
}

function done(id: number, err: unknown): void {
  if (err instanceof SandboxFailure) post({ t: 'done', id, ok: false, reason: err.reason, message: err.message });
  else post({ t: 'done', id, ok: false, reason: 'crash', message: err instanceof Error ? err.message : String(err) });
}

port.on('message', (m: ToThread) => {
  if (m.t === 'call') void call(m);
  else if (m.t === 'cancel') running.get(m.id)?.dispose();
  else {
    const w = waiting.get(m.hid);
    waiting.delete(m.hid);
    w?.resolve(m);
  }
});

loadEngine().then(
  () => {
    post({ t: 'ready' });
    refill();
  },
  (err: unknown) => {
    post({ t: 'note', level: 'error', message: `function engine could not start: ${(err as Error).message}` });
    post({ t: 'ready' });
  },
);

/**
 * One sandbox: a QuickJS runtime and context (a JavaScript engine of its own,
 * compiled to WebAssembly: its heap is a WebAssembly memory, and nothing of
 * Node's heap, globals or modules exists inside it) with the shim and the
 * function's script evaluated and the realm sealed (shim.ts: every global and
 * intrinsic frozen), ready for a call. Each call runs the module's top level
 * afresh, so no state the function makes outlives its call; a call that ends
 * cleanly (answered, nothing pending inside, no limit hit) leaves the sandbox
 * reusable (`recycle`), any other is followed by disposal, whatever the
 * function left behind (pending promises, host work in flight).
 *
 * Limits: the runtime's allocator refuses past `memoryBytes` (counting
 * objects, not typed arrays' bytes: the engine's capped WebAssembly memory,
 * engine.ts, is the hard limit); the stack is
 * capped (deep recursion throws inside); an interrupt handler stops the
 * engine once the CPU time its thread spent inside it (thread-clock.ts)
 * passes `cpuMs`; the wall clock limit is the caller's (thread.ts, on the
 * main thread's word: runtime.ts), which disposes the sandbox, and with it
 * every promise still pending inside.
 */
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from 'quickjs-emscripten-core';
import { SHIM } from './shim.js';
import { threadCpuMs as cpuMs } from './thread-clock.js';
import type { FunctionSource } from './source.js';

export interface SandboxLimits {
  readonly memoryBytes: number;
  readonly stackBytes: number;
  readonly cpuMs: number;
}

/** What the host offers the function during one call (fetch, kv, log), bound per call. */
export interface CallHost {
  log(level: string, message: string): void;
  fetch(head: string, body: Uint8Array | undefined, signal: AbortSignal): Promise<{ head: string; body: Uint8Array }>;
  kv(op: string, key: string, value: string, ttlSeconds: number): Promise<string | undefined>;
}

/** Calls one sandbox serves before it is disposed and replaced. */
const MAX_CALLS = 1000;

/** What evaluating the shim and a module's top level may take (the module's own top-level code included). */
const PREPARE_BUDGET_MS = 1000;

export type FailureReason = 'cpu' | 'memory' | 'stack' | 'wall' | 'crash' | 'bad_result';

export class SandboxFailure extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
  ) {
    super(message);
  }
}

export interface CallResult {
  readonly head: string;
  readonly body: Uint8Array | undefined;
}

/** Bodies crossing into or out of the sandbox, beyond which a call fails (a huge response is refused, not buffered). */
export interface CallInput {
  readonly kind: 'request' | 'response';
  readonly head: string;
  readonly body: Uint8Array | undefined;
  readonly secrets: string;
}

export class Sandbox {
  private readonly rt: QuickJSRuntime;
  private readonly ctx: QuickJSContext;
  private host: CallHost | undefined;
  private abort = new AbortController();
  /** The shim's entry point (or, for the load-time check, its hasHandler), reachable from no global. */
  private readonly entry: QuickJSHandle;
  private calls = 0;
  private disposed = false;
  /** CPU time spent inside the engine in this call (an upper bound: see stretchWall). */
  private spentMs = 0;
  /**
   * The stretch of engine work in progress: its wall-clock start, and the
   * thread's CPU clock (with the wall clock then) from the stretch's first
   * interrupt poll, -1 before. The CPU clock is read only when QuickJS polls
   * (every ~10,000 operations): a short stretch (a hook's whole call) is
   * counted by its wall-clock time, which is never less than its CPU time on
   * one thread, so the limit can over-count a little and never under-count.
   * Saves four clock reads (~2.7 µs each) a call.
   */
  private stretchWall = 0;
  private stretchCpu = -1;
  private stretchCpuWall = 0;
  private interrupted: FailureReason | undefined;
  /** CPU time allowed: generous while the shim and module evaluate (a cold engine is slow), the function's limit for the call. */
  private budgetMs = PREPARE_BUDGET_MS;
  private wake: (() => void) | undefined;
  private readonly deferreds = new Set<{ dispose(): void }>();

  constructor(
    readonly engine: QuickJSWASMModule,
    source: FunctionSource,
    private readonly limits: SandboxLimits,
    check = false,
  ) {
    const module = engine;
    this.rt = module.newRuntime();
    this.rt.setMemoryLimit(limits.memoryBytes);
    this.rt.setMaxStackSize(limits.stackBytes);
    this.rt.setInterruptHandler(() => {
      if (this.stretchWall === 0) return false;
      if (this.stretchCpu < 0) {
        this.stretchCpu = cpuMs();
        this.stretchCpuWall = performance.now();
      }
      if (this.spentMs + (this.stretchCpuWall - this.stretchWall) + (cpuMs() - this.stretchCpu) > this.budgetMs) this.interrupted = 'cpu';
      return this.interrupted !== undefined;
    });
    this.ctx = this.rt.newContext();
    try {
      this.installHost();
      this.evalScript(SHIM, 'portcullis:shim');
      this.evalScript(source.script, source.file);
      const seal = this.ctx.getProp(this.ctx.global, '__portcullis_seal');
      const sealed = this.timed(() => this.ctx.callFunction(seal, this.ctx.undefined, check ? this.ctx.true : this.ctx.false));
      seal.dispose();
      if (sealed.error) throw this.failure(sealed.error);
      this.entry = sealed.value;
      // The CPU limit is the call's: preparing the sandbox (ahead of the call, in the pool) does not count.
      this.spentMs = 0;
      this.budgetMs = limits.cpuMs;
    } catch (err) {
      this.dispose();
      throw err;
    }
  }

  private evalScript(code: string, file: string): void {
    const result = this.timed(() => this.ctx.evalCode(code, file));
    if (result.error) throw this.failure(result.error);
    result.value.dispose();
  }

  /** Runs `f` inside the engine, counting its time against the CPU limit. */
  private timed<T>(f: () => T): T {
    this.stretchWall = performance.now();
    this.stretchCpu = -1;
    try {
      return f();
    } finally {
      // Polled: wall time up to the first poll, CPU time after it; never polled: wall time (>= its CPU time).
      this.spentMs += this.stretchCpu < 0 ? performance.now() - this.stretchWall : this.stretchCpuWall - this.stretchWall + (cpuMs() - this.stretchCpu);
      this.stretchWall = 0;
    }
  }

  /** The error a handle carries as a failure with its reason; disposes the handle. */
  private failure(handle: QuickJSHandle): SandboxFailure {
    let text: string;
    try {
      const dumped: unknown = this.ctx.dump(handle);
      if (dumped && typeof dumped === 'object' && 'message' in dumped) {
        const { name, message } = dumped as { name?: unknown; message: unknown };
        text = `${typeof name === 'string' ? name : 'Error'}: ${String(message)}`;
      } else {
        text = String(dumped);
      }
    } catch {
      text = 'an exception that cannot be read';
    }
    handle.dispose();
    if (this.interrupted === 'cpu') return new SandboxFailure('cpu', 'the function used more CPU time than its limit');
    if (this.interrupted === 'memory') return new SandboxFailure('memory', 'the function used more memory than its limit');
    if (/out of memory/i.test(text)) return new SandboxFailure('memory', 'the function used more memory than its limit');
    if (/stack overflow|too much recursion|Maximum call stack/i.test(text)) return new SandboxFailure('stack', 'the function recursed too deep');
    return new SandboxFailure('crash', text.slice(0, 500));
  }

  private installHost(): void {
    const ctx = this.ctx;
    const define = (name: string, fn: QuickJSHandle) => {
      ctx.setProp(ctx.global, name, fn);
      fn.dispose();
    };
    define(
      '__host_text',
      ctx.newFunction('text', (buf, mode) => {
        const bytes = copyBytes(ctx, buf);
        const how = mode === undefined ? undefined : ctx.getString(mode);
        if (how === 'btoa') return ctx.newString(bytes.toString('base64'));
        if (how === 'atob') return ctx.newString(Buffer.from(bytes.toString('latin1'), 'base64').toString('latin1'));
        return ctx.newString(bytes.toString('utf8'));
      }),
    );
    define(
      '__host_bytes',
      ctx.newFunction('bytes', (s) => {
        const b = Buffer.from(ctx.getString(s), 'utf8');
        return ctx.newArrayBuffer(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      }),
    );
    define(
      '__host_log',
      ctx.newFunction('log', (level, message) => {
        this.host?.log(ctx.getString(level), ctx.getString(message).slice(0, 4096));
      }),
    );
    define(
      '__host_fetch',
      ctx.newFunction('fetch', (head, body) => {
        const headText = ctx.getString(head);
        const bytes = body === undefined || ctx.typeof(body) === 'undefined' ? undefined : ownBytes(ctx, body);
        return this.hostPromise(async () => {
          if (!this.host) throw new Error('fetch is not available here');
          const out = await this.host.fetch(headText, bytes, this.abort.signal);
          return (c: QuickJSContext) => {
            const obj = c.newObject();
            const j = c.newString(out.head);
            const b = c.newArrayBuffer(out.body.buffer.slice(out.body.byteOffset, out.body.byteOffset + out.body.byteLength));
            c.setProp(obj, 'j', j);
            c.setProp(obj, 'b', b);
            j.dispose();
            b.dispose();
            return obj;
          };
        });
      }),
    );
    define(
      '__host_kv',
      ctx.newFunction('kv', (op, key, value, ttl) => {
        const args = [ctx.getString(op), ctx.getString(key), ctx.getString(value), ctx.getNumber(ttl)] as const;
        return this.hostPromise(async () => {
          if (!this.host) throw new Error('kv is not available here');
          const out = await this.host.kv(...args);
          return (c: QuickJSContext) => (out === undefined ? c.null : c.newString(out));
        });
      }),
    );
  }

  /** A promise inside the sandbox settled by host work; nothing touches the context once it is disposed. */
  private hostPromise(work: () => Promise<(c: QuickJSContext) => QuickJSHandle>): QuickJSHandle {
    const deferred = this.ctx.newPromise();
    this.deferreds.add(deferred);
    work().then(
      (make) => {
        if (this.disposed) return;
        const value = make(this.ctx);
        deferred.resolve(value);
        value.dispose();
        this.settleDeferred(deferred);
      },
      (err: unknown) => {
        if (this.disposed) return;
        const e = newError(this.ctx, err instanceof Error ? err.message : String(err));
        deferred.reject(e);
        e.dispose();
        this.settleDeferred(deferred);
      },
    );
    return deferred.handle;
  }

  private settleDeferred(deferred: { dispose(): void }): void {
    this.deferreds.delete(deferred);
    deferred.dispose();
    this.wake?.();
  }

  /** The promise handle of the call in progress, disposed with the sandbox if the call is cut short. */
  private pending: QuickJSHandle | undefined;

  private start(input: CallInput, host: CallHost): QuickJSHandle {
    this.host = host;
    const ctx = this.ctx;
    const args = [
      ctx.newString(input.kind),
      ctx.newString(input.head),
      input.body ? ctx.newArrayBuffer(input.body.buffer.slice(input.body.byteOffset, input.body.byteOffset + input.body.byteLength)) : ctx.undefined,
      ctx.newString(input.secrets),
    ];
    this.calls++;
    const started = this.timed(() => ctx.callFunction(this.entry, ctx.undefined, ...args));
    for (const a of args) a.dispose();
    if (started.error) throw this.failure(started.error);
    this.pending = started.value;
    return started.value;
  }

  /** Runs the jobs queued inside; the call's result once settled, undefined while it waits on the host. */
  private step(promise: QuickJSHandle): CallResult | undefined {
    const jobs = this.timed(() => this.rt.executePendingJobs());
    if (jobs.error) throw this.failure(jobs.error);
    const state = this.ctx.getPromiseState(promise);
    if (state.type === 'fulfilled') return this.readResult(state.value);
    if (state.type === 'rejected') throw this.failure(state.error);
    return undefined;
  }

  private release(): void {
    if (!this.disposed && this.pending) this.pending.dispose();
    this.pending = undefined;
  }

  /** The one call this sandbox serves; the caller disposes it after, or on its wall clock deadline. */
  async call(input: CallInput, host: CallHost): Promise<CallResult> {
    const promise = this.start(input, host);
    try {
      for (;;) {
        const result = this.step(promise);
        if (result) return result;
        if (this.deferreds.size === 0) throw new SandboxFailure('crash', 'the handler never settles (it awaits nothing the host can finish)');
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        if (this.disposed) throw new SandboxFailure('wall', 'the function did not answer in time');
      }
    } finally {
      this.release();
    }
  }

  /** A call that must finish without waiting on the host (a response hook, run as the head is written). */
  callSync(input: CallInput, host: CallHost): CallResult {
    const promise = this.start(input, host);
    try {
      const result = this.step(promise);
      if (!result) throw new SandboxFailure('crash', 'a response hook cannot wait on fetch or kv');
      return result;
    } finally {
      this.release();
    }
  }

  private readResult(value: QuickJSHandle): CallResult {
    const ctx = this.ctx;
    try {
      const j = ctx.getProp(value, 'j');
      const b = ctx.getProp(value, 'b');
      try {
        if (ctx.typeof(j) !== 'string') throw new SandboxFailure('bad_result', 'the handler returned no result');
        const body = ctx.typeof(b) === 'undefined' ? undefined : ownBytes(ctx, b);
        return { head: ctx.getString(j), body };
      } finally {
        j.dispose();
        b.dispose();
      }
    } finally {
      value.dispose();
    }
  }

  /** Whether the module exports something the shim can call (a sandbox made with `check`); a top-level throw throws. */
  hasHandler(): boolean {
    const result = this.timed(() => this.ctx.callFunction(this.entry, this.ctx.undefined));
    if (result.error) throw this.failure(result.error);
    const ok = this.ctx.dump(result.value) === true;
    result.value.dispose();
    return ok;
  }

  /**
   * Readies the sandbox for another call after one that ended cleanly:
   * false (dispose it) when anything of the call could still run — a job
   * queued inside, host work in flight — or a limit was hit, or the sandbox
   * has served MAX_CALLS (a bound on what its heap may accumulate).
   */
  recycle(): boolean {
    if (this.disposed || this.interrupted !== undefined || this.calls >= MAX_CALLS || this.deferreds.size > 0 || this.rt.hasPendingJob()) return false;
    this.host = undefined;
    this.abort = new AbortController();
    this.spentMs = 0;
    return true;
  }

  /** QuickJS heap bytes in use (the memory figure of the notes). */
  memoryUsed(): number {
    const h = this.rt.computeMemoryUsage();
    const usage = this.ctx.dump(h) as { memory_used_size?: number };
    h.dispose();
    return usage.memory_used_size ?? 0;
  }

  /** Ends the sandbox: pending host work is aborted and its results dropped; the runtime's memory is freed. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.abort.abort();
    this.host = undefined;
    this.pending?.dispose();
    this.pending = undefined;
    if (this.entry?.alive) this.entry.dispose();
    for (const d of this.deferreds) d.dispose();
    this.deferreds.clear();
    this.ctx.dispose();
    this.rt.dispose();
    this.wake?.();
  }
}

/**
 * An Error inside the sandbox whose message is its own property: the realm's
 * Error.prototype is frozen (shim.ts), so the message cannot be assigned the
 * way ctx.newError does.
 */
function newError(ctx: QuickJSContext, message: string): QuickJSHandle {
  const e = ctx.newError();
  const m = ctx.newString(message);
  ctx.defineProp(e, 'message', { value: m, configurable: true, enumerable: false });
  m.dispose();
  return e;
}

/** A copy of an ArrayBuffer's bytes out of the sandbox's memory (the view dies with the handle). */
function copyBytes(ctx: QuickJSContext, handle: QuickJSHandle): Buffer {
  const view = ctx.getArrayBuffer(handle);
  try {
    return Buffer.from(view.value);
  } finally {
    view.dispose();
  }
}

/**
 * The bytes of a sandbox ArrayBuffer in an ArrayBuffer of their own (not a
 * slice of Node's shared Buffer pool): what leaves the sandbox for the main
 * thread is moved there (transferred), not copied again.
 */
function ownBytes(ctx: QuickJSContext, handle: QuickJSHandle): Uint8Array {
  const view = ctx.getArrayBuffer(handle);
  try {
    return new Uint8Array(view.value);
  } finally {
    view.dispose();
  }
}

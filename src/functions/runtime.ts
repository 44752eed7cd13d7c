/**
 * One configured function, running: its engine (a WebAssembly instance of
 * its own, its WebAssembly memory capped), a pool of prepared sandboxes (a
 * call that ends cleanly gives its sandbox back, any other has it disposed
 * off the response path: sandbox.ts recycle), its limits, its health (failures in a
 * row mark it unhealthy, as passive health marks a target), its fetch client
 * and its key-value namespace. Outlives snapshots while its config and code
 * are unchanged (registry.ts), so a reload keeps the pool warm.
 */
import type { Logger } from 'pino';
import type { FunctionConfig } from '../config/functions.js';
import { parseDuration, parseSize } from '../config/units.js';
import type { KeyedValues, Stores } from '../stores/stores.js';
import { ENGINE_START_BYTES, engineBytes, isEngineTrap, newEngine, type Engine } from './engine.js';
import { FetchRefused, FunctionFetch, type FetchHead } from './fetch.js';
import { Sandbox, SandboxFailure, type CallHost, type CallInput, type CallResult, type FailureReason, type SandboxLimits } from './sandbox.js';
import type { FunctionSource } from './source.js';

/** What one call needs of the request it serves, for logs, events and the fetch budget. */
export interface CallInfo {
  readonly requestId: string;
  readonly route: string | undefined;
  /** A fetch the allowlist refused: the caller records it as a security event on the request. */
  readonly onFetchRefused: (refusal: FetchRefused) => void;
}

export type CallOutcome =
  | { readonly ok: true; readonly result: CallResult }
  | { readonly ok: false; readonly reason: FailureReason | 'too_large' | 'unhealthy' | 'busy'; readonly message: string };

const STACK_BYTES = 256 * 1024;
/**
 * An engine's WebAssembly memory starts at 16 MiB and can never grow past
 * 16 MiB + ENGINE_HEADROOM x `memory` (all the function's calls in progress
 * together): a call that needs more gets "out of memory". An engine grown
 * past 16 MiB + `memory` is replaced after the call (it never shrinks).
 */
const ENGINE_HEADROOM = 2;
const MAX_KEY = 256;

export class FunctionRuntime {
  readonly name: string;
  readonly limits: SandboxLimits;
  readonly maxBody: number;
  /** The engine's WebAssembly memory cap, and the size past which it is replaced after a call. */
  private readonly engineCap: number;
  private readonly engineReplaceAt: number;
  private readonly wallMs: number;
  private readonly poolSize: number;
  private readonly concurrency: number;
  private readonly unhealthyAfter: number;
  private readonly cooldownMs: number;
  private readonly maxFetches: number;
  private readonly maxValue: number;
  private readonly defaultTtlMs: number;
  private readonly secrets: string;
  private readonly fetcher: FunctionFetch;
  private readonly kv: KeyedValues;
  private readonly log: Logger;

  private engine: Engine | undefined;
  private engineLoading: Promise<Engine> | undefined;
  private readonly pool: Sandbox[] = [];
  private refilling = false;
  private inFlight = 0;
  private failuresInRow = 0;
  /** While unhealthy: when a call may try it again (one at a time). */
  private unhealthyUntil = 0;
  private trialInFlight = false;
  private closed = false;

  constructor(
    readonly config: FunctionConfig,
    readonly source: FunctionSource,
    stores: Stores,
    logger: Logger,
  ) {
    this.name = config.name;
    const memoryBytes = parseSize(config.memory);
    this.limits = { memoryBytes, stackBytes: STACK_BYTES, cpuMs: parseDuration(config.cpu) };
    this.engineCap = ENGINE_START_BYTES + ENGINE_HEADROOM * memoryBytes;
    this.engineReplaceAt = ENGINE_START_BYTES + memoryBytes;
    this.maxBody = parseSize(config.max_body);
    this.wallMs = parseDuration(config.timeout);
    this.poolSize = config.pool;
    this.concurrency = config.concurrency;
    this.unhealthyAfter = config.unhealthy_after;
    this.cooldownMs = parseDuration(config.cooldown);
    this.maxFetches = config.fetch.max_calls;
    this.maxValue = parseSize(config.kv.max_value);
    this.defaultTtlMs = parseDuration(config.kv.default_ttl);
    this.secrets = JSON.stringify(config.secrets);
    this.fetcher = new FunctionFetch({
      allow: config.fetch.allow,
      allowPrivate: config.fetch.allow_private,
      timeoutMs: parseDuration(config.fetch.timeout),
      maxBody: this.maxBody,
    });
    this.kv = stores.values(`function:${config.name}`);
    this.log = logger.child({ function: config.name });
  }

  /** Loads the engine and fills the pool; awaited before a snapshot using the function serves. */
  async ready(): Promise<void> {
    await this.loadEngine();
    this.refill();
  }

  /** Whether the function is taking calls (not marked unhealthy), for readiness and tests. */
  get healthy(): boolean {
    return this.failuresInRow < this.unhealthyAfter;
  }

  private loadEngine(): Promise<Engine> {
    if (this.engine) return Promise.resolve(this.engine);
    this.engineLoading ??= newEngine(this.engineCap).then((engine) => {
      this.engine = engine;
      this.engineLoading = undefined;
      return engine;
    });
    return this.engineLoading;
  }

  /** Prepares sandboxes up to the pool size, one per turn of the event loop so requests are not held up (calls that end cleanly give theirs back). */
  private refill(): void {
    if (this.refilling || this.closed || !this.engine) return;
    this.refilling = true;
    const step = () => {
      if (this.closed || !this.engine || this.pool.length >= this.poolSize) {
        this.refilling = false;
        return;
      }
      try {
        this.pool.push(new Sandbox(this.engine, this.source, this.limits));
      } catch (err) {
        this.refilling = false;
        this.log.error({ err }, 'function sandbox could not be prepared');
        return;
      }
      setImmediate(step);
    };
    setImmediate(step);
  }

  private take(engine: Engine): Sandbox {
    const ready = this.pool.pop();
    this.refill();
    if (ready) return ready;
    try {
      return new Sandbox(engine, this.source, this.limits);
    } catch (err) {
      // A trap (the engine ran out of its capped memory in a spot QuickJS does not check) leaves it unusable.
      if (isEngineTrap(err) && engine === this.engine) this.engineBroken(err);
      throw err;
    }
  }

  async call(kind: CallInput['kind'], head: object, body: Uint8Array | undefined, info: CallInfo): Promise<CallOutcome> {
    const now = Date.now();
    let trial = false;
    if (!this.healthy) {
      if (now < this.unhealthyUntil || this.trialInFlight) return { ok: false, reason: 'unhealthy', message: 'the function is marked unhealthy' };
      trial = this.trialInFlight = true;
    }
    if (this.inFlight >= this.concurrency) {
      if (trial) this.trialInFlight = false;
      return { ok: false, reason: 'busy', message: 'the function is at its concurrency limit' };
    }
    if (body && body.length > this.maxBody) {
      if (trial) this.trialInFlight = false;
      return { ok: false, reason: 'too_large', message: `the body handed to the function is larger than ${this.maxBody} bytes` };
    }
    this.inFlight++;
    let outcome: CallOutcome;
    try {
      outcome = await this.run(kind, head, body, info);
    } finally {
      this.inFlight--;
      if (trial) this.trialInFlight = false;
    }
    this.account(outcome);
    return outcome;
  }

  /** A call that finishes without waiting on the host (a response hook); no fetch or kv. */
  callSync(kind: CallInput['kind'], head: object, info: CallInfo): CallOutcome {
    if (!this.healthy && Date.now() < this.unhealthyUntil) return { ok: false, reason: 'unhealthy', message: 'the function is marked unhealthy' };
    if (!this.engine) return { ok: false, reason: 'crash', message: 'the function engine is not loaded yet' };
    let outcome: CallOutcome;
    let sandbox: Sandbox | undefined;
    try {
      sandbox = this.take(this.engine);
      const result = sandbox.callSync({ kind, head: JSON.stringify(head), body: undefined, secrets: this.secrets }, this.hostFor(info, true));
      outcome = { ok: true, result };
    } catch (err) {
      outcome = fail(err);
    }
    if (sandbox) this.giveBack(sandbox, outcome.ok);
    this.account(outcome);
    return outcome;
  }

  /** A sandbox whose call ended cleanly goes back to the pool (sandbox.ts recycle); any other is disposed. */
  private giveBack(sandbox: Sandbox, ok: boolean): void {
    // An engine a call grew (a bomb whose "out of memory" the function caught) is replaced by disposeLater's check.
    const grown = engineBytes(sandbox.engine) > this.engineReplaceAt;
    if (ok && !grown && !this.closed && sandbox.engine === this.engine && this.pool.length < this.poolSize && sandbox.recycle()) {
      this.pool.push(sandbox);
      return;
    }
    this.disposeLater(sandbox);
  }

  private disposeLater(sandbox: Sandbox): void {
    const engine = this.engine;
    setImmediate(() => {
      try {
        sandbox.dispose();
      } catch (err) {
        this.engineBroken(err);
        return;
      }
      // WebAssembly memory never shrinks: an engine a call made grow past the budget is replaced.
      if (engine && engine === this.engine && engineBytes(engine) > this.engineReplaceAt) this.replaceEngine('the engine grew past its memory budget');
    });
  }

  private account(outcome: CallOutcome): void {
    if (outcome.ok) {
      if (!this.healthy) this.log.info('function healthy again');
      this.failuresInRow = 0;
      return;
    }
    this.failuresInRow++;
    if (this.failuresInRow === this.unhealthyAfter) this.log.warn({ failures: this.failuresInRow }, 'function marked unhealthy');
    if (!this.healthy) this.unhealthyUntil = Date.now() + this.cooldownMs;
  }

  private async run(kind: CallInput['kind'], head: object, body: Uint8Array | undefined, info: CallInfo): Promise<CallOutcome> {
    const engine = await this.loadEngine();
    let sandbox: Sandbox;
    try {
      sandbox = this.take(engine);
    } catch (err) {
      return fail(err);
    }
    const host = this.hostFor(info, false);
    const timer = setTimeout(() => sandbox.dispose(), this.wallMs);
    let clean = false;
    try {
      const result = await sandbox.call({ kind, head: JSON.stringify(head), body, secrets: this.secrets }, host);
      clean = true;
      if (result.body && result.body.length > this.maxBody) {
        return { ok: false, reason: 'too_large', message: `the function answered a body larger than ${this.maxBody} bytes` };
      }
      return { ok: true, result };
    } catch (err) {
      return fail(err);
    } finally {
      clearTimeout(timer);
      // Back to the pool, or disposed (which frees the call's heap) after the answer is on its way.
      this.giveBack(sandbox, clean);
    }
  }

  /** What the host offers one call: console to the gateway log, fetch within the allowlist, kv (not for synchronous calls). */
  private hostFor(info: CallInfo, sync: boolean): CallHost {
    let fetches = 0;
    const log = this.log;
    return {
      log: (level: string, message: string) => {
        const l = level === 'error' ? 'error' : level === 'warn' ? 'warn' : level === 'debug' ? 'debug' : 'info';
        log[l]({ request_id: info.requestId, route: info.route, console: level }, message);
      },
      fetch: async (headText: string, bytes: Uint8Array | undefined, signal: AbortSignal) => {
        if (sync) throw new Error('fetch is not available in a response hook');
        const fh = JSON.parse(headText) as FetchHead;
        try {
          if (++fetches > this.maxFetches) throw new FetchRefused('too_many', '', `fetch: more than ${this.maxFetches} fetches in one call`);
          const res = await this.fetcher.fetch(fh, bytes, signal);
          return { head: JSON.stringify({ status: res.status, headers: res.headers }), body: res.body };
        } catch (err) {
          if (err instanceof FetchRefused) info.onFetchRefused(err);
          throw err;
        }
      },
      kv: (op: string, key: string, value: string, ttlSeconds: number) => {
        if (sync) return Promise.reject(new Error('kv is not available in a response hook'));
        return this.kvOp(op, key, value, ttlSeconds);
      },
    };
  }

  /** The engine aborted (a WebAssembly trap): this function gets a new one; no other function is touched. */
  private engineBroken(err: unknown): void {
    this.log.error({ err }, 'function engine failed; starting a new one');
    this.replaceEngine(undefined);
  }

  private replaceEngine(why: string | undefined): void {
    if (why) this.log.warn({ engine_bytes: this.engine ? engineBytes(this.engine) : 0 }, `function engine replaced: ${why}`);
    for (const s of this.pool.splice(0)) {
      try {
        s.dispose();
      } catch {
        // nothing left to free in an engine that aborted
      }
    }
    this.engine = undefined;
    this.pool.length = 0;
    void this.loadEngine().then(() => this.refill(), (e: unknown) => this.log.error({ err: e }, 'function engine could not start'));
  }

  private async kvOp(op: string, key: string, value: string, ttlSeconds: number): Promise<string | undefined> {
    if (key.length === 0 || key.length > MAX_KEY) throw new Error(`kv: a key is 1 to ${MAX_KEY} characters`);
    if (op === 'get') return this.kv.get(key);
    if (op === 'delete') {
      await this.kv.delete(key);
      return undefined;
    }
    if (op === 'set') {
      if (Buffer.byteLength(value) > this.maxValue) throw new Error(`kv: a value is at most ${this.maxValue} bytes`);
      const ttlMs = ttlSeconds > 0 ? Math.min(ttlSeconds * 1000, 30 * 86_400_000) : this.defaultTtlMs;
      await this.kv.set(key, value, ttlMs);
      return undefined;
    }
    throw new Error(`kv: unknown operation ${op}`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.pool.splice(0)) {
      try {
        s.dispose();
      } catch {
        // an engine that aborted has nothing left to free
      }
    }
    this.fetcher.close();
  }
}

function fail(err: unknown): CallOutcome {
  if (err instanceof SandboxFailure) return { ok: false, reason: err.reason, message: err.message };
  return { ok: false, reason: 'crash', message: err instanceof Error ? err.message : String(err) };
}

/**
 * One configured function, running: its calls go to the threads all
 * functions share (thread-pool.ts; on each, thread.ts holds the function's
 * engine, a WebAssembly instance with its memory capped, and its pool of
 * prepared sandboxes, wiped between calls), its limits, its health (failures
 * in a row mark it unhealthy, as passive health marks a target), its fetch
 * client and its key-value namespace, and the watchdog: past a call's
 * wall-clock limit the thread is asked to dispose the call's sandbox (504),
 * and a thread too busy to do it within GRACE_MS is terminated and replaced
 * (the other calls on it, of any function, fail 502 `crash`).
 * The main thread never runs function code: a call over its limit holds its
 * own thread, not the gateway's event loop. Outlives snapshots while its
 * config and code are unchanged (registry.ts), so a reload keeps the pool
 * warm.
 */
import type { Logger } from 'pino';
import type { FunctionConfig } from '../config/functions.js';
import { parseDuration, parseSize } from '../config/units.js';
import type { KeyedValues, Stores } from '../stores/stores.js';
import { ENGINE_START_BYTES } from './engine.js';
import { FetchRefused, FunctionFetch, type FetchHead } from './fetch.js';
import type { CallResult, FailureReason, SandboxLimits } from './sandbox.js';
import type { FunctionSource } from './source.js';
import type { CallSink, Note } from './thread-host.js';
import type { ThreadPool } from './thread-pool.js';
import type { FromThread, FunctionSetup } from './thread-protocol.js';

/** What one call needs of the request it serves, for logs, events and the fetch budget. */
export interface CallInfo {
  readonly requestId: string;
  readonly route: string | undefined;
  /** A fetch the allowlist refused: the caller records it as a security event on the request. */
  readonly onFetchRefused: (refusal: FetchRefused) => void;
}

export type CallOutcome =
  | { readonly ok: true; readonly result: CallResult }
  | { readonly ok: false; readonly reason: FailureReason | 'too_large' | 'unhealthy' | 'busy'; readonly message: string; readonly collateral?: boolean };

const STACK_BYTES = 256 * 1024;
/**
 * An engine's WebAssembly memory starts at 16 MiB and can never grow past
 * 16 MiB + ENGINE_HEADROOM x `memory` (all the function's calls in progress
 * together): a call that needs more gets "out of memory". An engine grown
 * past 16 MiB + `memory` is replaced after the call (it never shrinks).
 */
const ENGINE_HEADROOM = 2;
const MAX_KEY = 256;
/**
 * How long a thread has, past a call's wall-clock limit, to dispose the
 * call's sandbox before it is terminated: a thread that does not hear is
 * stuck in an operation QuickJS's interrupt handler does not reach (a long
 * native call repeated: polls come every ~10,000 operations, not by time).
 */
const GRACE_MS = 1000;
/** Numbers runtimes: a function's key on the threads, new with each new runtime of it (a reload with new code). */
let runtimes = 0;

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

  private readonly setup: FunctionSetup;
  private readonly note: Note;
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
    private readonly threads: ThreadPool,
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
    this.setup = { key: `${config.name}#${++runtimes}`, name: this.name, source, limits: this.limits, engineCap: this.engineCap, engineReplaceAt: this.engineReplaceAt, poolSize: this.poolSize };
    this.note = (level, message, data) => this.log[level](data ?? {}, message);
  }

  /** Starts a thread and loads the function on it (its engine loading, its pool filling); awaited before a snapshot using the function serves. */
  async ready(): Promise<void> {
    const thread = this.threads.pick(this.setup.key);
    thread.load(this.setup, this.note);
    await thread.ready;
  }

  /** Whether the function is taking calls (not marked unhealthy), for readiness and tests. */
  get healthy(): boolean {
    return this.failuresInRow < this.unhealthyAfter;
  }

  /**
   * One call. `headOnly`: a response-head hook, which gets no fetch or kv (the head waits for it).
   */
  async call(kind: 'request' | 'response', head: object, body: Uint8Array | undefined, info: CallInfo, headOnly = false): Promise<CallOutcome> {
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
    if (this.closed) {
      if (trial) this.trialInFlight = false;
      return { ok: false, reason: 'crash', message: 'the function was replaced by a reload' };
    }
    this.inFlight++;
    let outcome: CallOutcome;
    try {
      outcome = await this.run(kind, head, body, info, headOnly);
    } finally {
      this.inFlight--;
      if (trial) this.trialInFlight = false;
    }
    // A call another function's overrun cut short says nothing about this function's health.
    if (!(!outcome.ok && outcome.collateral)) this.account(outcome);
    return outcome;
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

  private run(kind: 'request' | 'response', head: object, body: Uint8Array | undefined, info: CallInfo, headOnly: boolean): Promise<CallOutcome> {
    const thread = this.threads.pick(this.setup.key);
    // Made by the first fetch; aborted when the call is over, whatever it left in flight (a sandbox with host work pending is not reused).
    let abort: AbortController | undefined;
    let fetches = 0;
    let wall: NodeJS.Timeout | undefined;
    let grace: NodeJS.Timeout | undefined;
    return new Promise<CallOutcome>((resolve) => {
      const sink: CallSink = {
        done: (m) => {
          clearTimeout(wall);
          clearTimeout(grace);
          abort?.abort();
          if (!m.ok) return resolve({ ok: false, reason: m.reason, message: m.message, collateral: m.collateral });
          if (m.body && m.body.length > this.maxBody) {
            return resolve({ ok: false, reason: 'too_large', message: `the function answered a body larger than ${this.maxBody} bytes` });
          }
          resolve({ ok: true, result: { head: m.head, body: m.body } });
        },
        log: (level, message) => {
          const l = level === 'error' ? 'error' : level === 'warn' ? 'warn' : level === 'debug' ? 'debug' : 'info';
          this.log[l]({ request_id: info.requestId, route: info.route, console: level }, message);
        },
        host: (m) => {
          if (m.t === 'fetch') {
            if (++fetches > this.maxFetches) {
              const refused = new FetchRefused('too_many', '', `fetch: more than ${this.maxFetches} fetches in one call`);
              info.onFetchRefused(refused);
              thread.post({ t: 'reply', hid: m.hid, ok: false, message: refused.message });
              return;
            }
            abort ??= new AbortController();
            this.fetch(m, abort.signal, info).then(
              (out) => thread.post({ t: 'reply', hid: m.hid, ok: true, value: out.head, body: out.body }),
              (err: unknown) => thread.post({ t: 'reply', hid: m.hid, ok: false, message: (err as Error).message }),
            );
            return;
          }
          this.kvOp(m.op, m.key, m.value, m.ttl).then(
            (value) => thread.post({ t: 'reply', hid: m.hid, ok: true, value: value ?? null }),
            (err: unknown) => thread.post({ t: 'reply', hid: m.hid, ok: false, message: (err as Error).message }),
          );
        },
      };
      const id = thread.call(this.setup, this.note, { kind, head: JSON.stringify(head), body, secrets: this.secrets, headOnly }, sink);
      // The watchdog: the thread disposes the call's sandbox (504), or, too busy to hear, is terminated.
      wall = setTimeout(() => {
        thread.post({ t: 'cancel', id });
        grace = setTimeout(() => {
          if (!thread.pending(id)) return;
          this.log.warn({ request_id: info.requestId, grace_ms: GRACE_MS }, 'function thread terminated: a call ran past its wall-clock limit and the thread did not stop it');
          thread.terminate(id);
        }, GRACE_MS);
      }, this.wallMs);
    });
  }

  private async fetch(m: Extract<FromThread, { t: 'fetch' }>, signal: AbortSignal, info: CallInfo): Promise<{ head: string; body: Uint8Array }> {
    const fh = JSON.parse(m.head) as FetchHead;
    try {
      const res = await this.fetcher.fetch(fh, m.body, signal);
      return { head: JSON.stringify({ status: res.status, headers: res.headers }), body: res.body };
    } catch (err) {
      if (err instanceof FetchRefused) info.onFetchRefused(err);
      throw err;
    }
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

  /** Frees the function's engines and pools on the threads (calls still running there finish) and ends the fetch client: the runtime is closed once no snapshot uses it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.threads.unload(this.setup.key);
    this.fetcher.close();
  }
}

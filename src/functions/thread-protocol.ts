/**
 * The messages between the functions' runtimes (runtime.ts, on the main
 * thread) and a worker thread of the shared pool (thread.ts), where the
 * functions' engines and sandboxes live. Only strings, numbers and byte
 * copies cross, as between a sandbox and the host: the thread holds no
 * socket, store, logger or secret but the call's.
 */
import type { FailureReason, SandboxLimits } from './sandbox.js';
import type { FunctionSource } from './source.js';

/** One function as a thread hosts it: sent once per thread (`load`) before its first call there. */
export interface FunctionSetup {
  /** Unique per runtime (a reloaded function with new code is another key). */
  readonly key: string;
  readonly name: string;
  readonly source: FunctionSource;
  readonly limits: SandboxLimits;
  /** The engine's WebAssembly memory cap, and the size past which it is replaced after a call. */
  readonly engineCap: number;
  readonly engineReplaceAt: number;
  readonly poolSize: number;
}

export type ToThread =
  | { readonly t: 'load'; readonly setup: FunctionSetup }
  /** The function's runtime was closed: its engine and pool on this thread are freed. */
  | { readonly t: 'unload'; readonly fn: string }
  | {
      readonly t: 'call';
      readonly id: number;
      readonly fn: string;
      readonly kind: 'request' | 'response';
      readonly head: string;
      readonly body: Uint8Array | undefined;
      readonly secrets: string;
      /** A response-head hook: fetch and kv are refused. */
      readonly headOnly: boolean;
    }
  /** The call is past its wall-clock limit: its sandbox is disposed (a thread too busy to read this is terminated). */
  | { readonly t: 'cancel'; readonly id: number }
  /** The answer to a host request of a call. */
  | { readonly t: 'reply'; readonly hid: number; readonly ok: true; readonly value: string | null; readonly body?: Uint8Array }
  | { readonly t: 'reply'; readonly hid: number; readonly ok: false; readonly message: string };

export type FromThread =
  | { readonly t: 'ready' }
  | { readonly t: 'done'; readonly id: number; readonly ok: true; readonly head: string; readonly body: Uint8Array | undefined }
  | {
      readonly t: 'done';
      readonly id: number;
      readonly ok: false;
      readonly reason: FailureReason;
      readonly message: string;
      /** Failed because another call stopped the shared thread: not counted against this function's health. */
      readonly collateral?: boolean;
    }
  | { readonly t: 'log'; readonly id: number; readonly level: string; readonly message: string }
  | { readonly t: 'fetch'; readonly id: number; readonly hid: number; readonly head: string; readonly body: Uint8Array | undefined }
  | { readonly t: 'kv'; readonly id: number; readonly hid: number; readonly op: string; readonly key: string; readonly value: string; readonly ttl: number }
  /** Something the gateway log should say about a function's engine (replaced, failed). */
  | { readonly t: 'note'; readonly fn: string; readonly level: 'warn' | 'error'; readonly message: string; readonly data?: Record<string, unknown> };

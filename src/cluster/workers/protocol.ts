/**
 * The messages between a node's supervisor and its workers, over the IPC
 * channel node:cluster opens for each worker. Both ends are this program:
 * the channel is trusted as the process itself is (docs/THREAT_MODEL.md),
 * but a message is still checked for its shape before it is acted on, so a
 * bug on one side shows as a log line rather than as state gone wrong.
 */
import type { ConfigIssue } from '../../config/errors.js';
import type { SourceText } from '../../config/load.js';
import type { AuditActor } from '../../telemetry/audit/index.js';
import type { JsonResponse } from '../../identity/http.js';
import type { FetchWant } from '../../identity/shared-fetch.js';

/** One store operation: [id, operation, ...arguments] (store-ops.ts). */
export type StoreOp = [number, string, ...unknown[]];
/** Its answer: [id, value] or, when it threw, [id, undefined, error name, message]; undefined arrives as null (JSON). */
export type StoreAnswer = [number, unknown] | [number, undefined, string, string];

/** A change of a target's state one worker saw, for every other worker. */
export interface UpstreamChange {
  readonly service: string;
  readonly origin: string;
  /**
   * open: its breaker opened; down: passive health took it out until `until` (epoch ms, 0: until an active
   * check); checked: the node's one prober's active-check verdict (`healthy`), after each of its rounds.
   */
  readonly what: 'open' | 'down' | 'checked';
  readonly until: number;
  readonly healthy?: boolean;
}

/** A deny list change; `expiresAt` is epoch ms (null: until removed), so every worker expires it at the same moment. */
export type DenyChange = { op: 'add'; target: string; expiresAt: number | null; reason: string | undefined } | { op: 'remove'; target: string } | { op: 'clear' };

/** One worker's readiness, version and request counts (cluster/fleet/plane-state.ts). */
export interface WorkerState {
  readonly version: number;
  readonly ready: boolean;
  readonly reasons: string[];
  readonly requests: Record<string, number>;
}

export type ToWorker =
  | { t: 'boot'; slot: number; version: number; source: SourceText; audit: boolean; tickets: Record<string, string>; deny: DenyChange[] }
  | { t: 'prepare'; id: number; version: number; source: SourceText; by: AuditActor }
  | { t: 'commit'; id: number }
  | { t: 'abort'; id: number }
  | { t: 'shutdown' }
  | { t: 'reopen' }
  | { t: 'tickets'; keys: Record<string, string> }
  | { t: 'store-r'; r: StoreAnswer[] }
  /** Give back these rate-limit leases (lease-host.ts): the worker answers with a `lease.return` store operation per id. */
  | { t: 'lease-recall'; s: string; ids: number[] }
  | { t: 'pub'; channel: string; message: string }
  | { t: 'deny'; change: DenyChange }
  | { t: 'upstream'; change: UpstreamChange }
  | { t: 'metrics-r'; id: number; text?: string; error?: string }
  /** A data plane's control plane and the pushed version the node runs, for the admin API's fleet view. */
  | { t: 'fleet'; controlPlane: string; hash?: string }
  /** The supervisor asks for this worker's state (node-state.ts: a data plane's report of the node). */
  | { t: 'state'; id: number }
  /** An identity-provider fetch (fetch-host.ts): this worker fetches (go), or here is the node's answer or failure, fetched at `at`. */
  | { t: 'fetch-r'; id: number; go?: true; res?: JsonResponse; error?: string; at?: number };

export type FromWorker =
  | { t: 'hello' }
  | { t: 'ready'; version: number; listeners: Array<{ name: string; url: string }>; admin: string | undefined }
  | { t: 'start-failed'; message: string; issues?: ConfigIssue[] }
  | { t: 'prepared'; id: number }
  | { t: 'refused'; id: number; issues: ConfigIssue[] }
  | { t: 'reloaded'; id: number; ok: boolean; version?: number; issues?: ConfigIssue[] }
  | { t: 'store'; s: string; b: StoreOp[] }
  | { t: 'pub'; channel: string; message: string }
  | { t: 'deny'; change: DenyChange }
  | { t: 'upstream'; change: UpstreamChange }
  | { t: 'metrics'; id: number }
  | { t: 'state-r'; id: number; state: WorkerState }
  | { t: 'fetch'; id: number; key: string; want: FetchWant }
  | { t: 'fetched'; id: number; key: string; res?: JsonResponse; error?: string };

/** True for a message of ours (prom-client's aggregation messages, which share the channel, carry `type`). */
export function isOurs<M extends { t: string }>(message: unknown): message is M {
  return typeof message === 'object' && message !== null && typeof (message as { t?: unknown }).t === 'string';
}

/**
 * The supervisor's look at the config: loaded, validated and compiled once,
 * as `portcullis validate` does (nothing is opened: no store, no pool, no
 * listener), to refuse a bad config before any worker sees it and to read
 * what the supervisor itself needs (the number of workers, the drain times,
 * the listeners that issue TLS session tickets). Workers get the same text.
 */
import { availableParallelism } from 'node:os';
import type { ConfigIssue } from '../../config/errors.js';
import type { SourceText } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { parseDuration } from '../../config/units.js';
import { loadConfig } from '../../load-config.js';
import { StoreRegistry } from '../../stores/registry.js';
import { createLogger } from '../../telemetry/logger.js';
import { UpstreamRegistry } from '../../upstream/registry.js';

/** What the supervisor keeps of a config it accepted. */
export interface NodeConfig {
  readonly source: SourceText;
  readonly workers: number;
  readonly watch: boolean;
  /** drain_delay + shutdown_timeout: how long a worker may take to drain before it is killed. */
  readonly drainMs: number;
  /** Listeners with session tickets on, and how often their keys are replaced. */
  readonly tickets: ReadonlyMap<string, number>;
  readonly warnings: readonly ConfigIssue[];
  /** The fleet section (a data plane of workers: its supervisor is the node's one fleet client). */
  readonly fleet: Config['fleet'];
  /** Where the node listens (its listeners and admin listener): a reload tries the new addresses first. */
  readonly listen: Pick<Config, 'listeners' | 'admin'>;
}

export type NodeConfigResult = { ok: true; config: NodeConfig } | { ok: false; issues: ConfigIssue[] };

/** The most workers a node runs; `gateway.workers` is bounded the same. */
export const MAX_WORKERS = 256;

export function loadNodeConfig(from: string | SourceText, env: NodeJS.ProcessEnv): NodeConfigResult {
  const { logger } = createLogger({ level: 'silent', destination: { write: () => {} } });
  const upstreams = new UpstreamRegistry(logger);
  const stores = new StoreRegistry(logger);
  const loaded = loadConfig(from, { upstreams, stores, logger, version: 0, env });
  if (!loaded.ok) return { ok: false, issues: loaded.issues };
  upstreams.discard(loaded.snapshot.services);
  stores.discard(loaded.snapshot.stores);
  const config = loaded.snapshot.config;
  const workers = workerCount(config.gateway.workers, env.PORTCULLIS_WORKERS);
  if (typeof workers === 'string') return { ok: false, issues: [{ file: loaded.source.file, line: 0, path: 'PORTCULLIS_WORKERS', message: workers }] };
  return {
    ok: true,
    config: {
      source: loaded.source,
      workers,
      watch: config.gateway.watch,
      drainMs: parseDuration(config.gateway.drain_delay) + parseDuration(config.gateway.shutdown_timeout),
      tickets: ticketListeners(config),
      warnings: loaded.warnings,
      fleet: config.fleet,
      listen: { listeners: config.listeners, admin: config.admin },
    },
  };
}

/**
 * The number of workers: PORTCULLIS_WORKERS when set (an operator's override
 * of the file, as for one run), else gateway.workers; auto is the cores this
 * process may run on (its CPU affinity), at least 1. A message when the
 * override is not a number of workers.
 */
export function workerCount(configured: Config['gateway']['workers'], override: string | undefined): number | string {
  if (override !== undefined && override !== '') {
    if (override === 'auto') return Math.min(MAX_WORKERS, availableParallelism());
    if (!/^\d{1,3}$/.test(override) || Number(override) < 1 || Number(override) > MAX_WORKERS) return `must be "auto" or a number from 1 to ${MAX_WORKERS}, got "${override.slice(0, 20)}"`;
    return Number(override);
  }
  return configured === 'auto' ? Math.min(MAX_WORKERS, availableParallelism()) : configured;
}

function ticketListeners(config: Config): Map<string, number> {
  const tickets = new Map<string, number>();
  for (const listener of config.listeners) {
    if (listener.tls?.session_tickets) tickets.set(listener.name, parseDuration(listener.tls.ticket_key_rotation));
  }
  return tickets;
}

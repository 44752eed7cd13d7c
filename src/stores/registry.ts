/**
 * Owns the gateway's store across reloads: a reload whose `store` section is
 * unchanged keeps the running store (its connection and, for memory, its
 * counts); a changed one gets a new store, and the old one is closed once no
 * request is left on the snapshot that used it. `portcullis validate` builds
 * a store without ever opening it.
 */
import type { Logger } from 'pino';
import type { ConfigPath } from '../config/errors.js';
import type { StoreConfig } from '../config/schema.js';
import { parseDuration } from '../config/units.js';
import { MemoryStore } from './memory.js';
import { RedisStore } from './redis.js';
import type { Store } from './store.js';
import type { StoreHealthChange } from './health.js';
import { Stores } from './stores.js';

/** Builds the memory store for a config (a cluster worker's lives in its supervisor: src/cluster/workers/). */
export type StoreFactory = (config: StoreConfig, logger: Logger) => Store;

export type PreparedStore = { ok: true; stores: Stores } | { ok: false; issues: Array<{ path: ConfigPath; message: string }> };

export class StoreRegistry {
  private current: { key: string; stores: Stores } | undefined;
  private readonly opened = new WeakSet<Stores>();
  /** Told when the running store goes down or comes back (the gateway puts it on the event stream). */
  onHealthChange: ((change: StoreHealthChange) => void) | undefined = undefined;

  private timed: ((kind: string, seconds: number) => void) | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly memory?: StoreFactory,
  ) {}

  /** Where the running store reports its round-trip times (metrics); kept for the stores that replace it. */
  set timing(observe: ((kind: string, seconds: number) => void) | undefined) {
    this.timed = observe;
    if (this.current) this.current.stores.store.health.timing = observe;
  }

  /** The store for `config`: the running one when its config is unchanged, else a new one, not yet opened. */
  prepare(config: StoreConfig): PreparedStore {
    const key = JSON.stringify(config);
    if (this.current?.key === key) return { ok: true, stores: this.current.stores };
    const issues = checkStoreConfig(config);
    if (issues.length > 0) return { ok: false, issues };
    const store = config.kind === 'memory' && this.memory ? this.memory(config, this.logger) : createStore(config, this.logger);
    return { ok: true, stores: new Stores(store) };
  }

  /**
   * Makes `stores` the running store and connects it (waiting at most its
   * connect timeout: the gateway serves anyway, under each policy's fail
   * mode, until it connects). Returns the store it replaced, if any.
   */
  async commit(stores: Stores, config: StoreConfig): Promise<Stores | undefined> {
    const previous = this.current?.stores;
    if (previous === stores) return undefined;
    this.current = { key: JSON.stringify(config), stores };
    stores.store.health.onChange = (change) => this.onHealthChange?.(change);
    stores.store.health.timing = this.timed;
    if (!this.opened.has(stores)) {
      this.opened.add(stores);
      const connected = await stores.store.open(parseDuration(config.connect_timeout));
      if (!connected) this.logger.warn({ store: stores.kind }, 'store not reachable at start: serving anyway, limits follow each policy\'s fail mode until it answers');
    }
    return previous;
  }

  /** Drops a prepared store that will not be used (a refused reload, `validate`). */
  discard(stores: Stores): void {
    if (this.current?.stores !== stores) void stores.store.close();
  }

  get running(): Stores | undefined {
    return this.current?.stores;
  }

  async closeAll(): Promise<void> {
    const current = this.current;
    this.current = undefined;
    if (current) await current.stores.store.close();
  }
}

function createStore(config: StoreConfig, logger: Logger): Store {
  if (config.kind === 'memory') return new MemoryStore({ maxKeys: config.max_keys }, logger);
  return new RedisStore(
    {
      url: config.url,
      sentinel: config.sentinel,
      cluster: config.cluster,
      username: config.username,
      password: config.password,
      prefix: config.prefix,
      timeoutMs: parseDuration(config.timeout),
      connectTimeoutMs: parseDuration(config.connect_timeout),
    },
    logger,
  );
}

function checkStoreConfig(config: StoreConfig): Array<{ path: ConfigPath; message: string }> {
  const given = (['url', 'sentinel', 'cluster'] as const).filter((k) => config[k] !== undefined);
  if (config.kind === 'memory') {
    return [...given, ...(['username', 'password'] as const).filter((k) => config[k] !== undefined)].map((k) => ({
      path: ['store', k],
      message: `"${k}" is a redis setting; set "kind: redis" to use it`,
    }));
  }
  if (given.length === 1) return [];
  return [
    {
      path: ['store'],
      message:
        given.length === 0
          ? 'a redis store needs one of "url" (one server), "sentinel" or "cluster"'
          : `a redis store takes one of "url", "sentinel" or "cluster", not ${given.map((k) => `"${k}"`).join(' and ')}`,
    },
  ];
}

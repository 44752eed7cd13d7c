/**
 * Readiness, as load balancers and Kubernetes probes ask it (gateway.health_path
 * on every listener, /readyz on the admin listener): not ready while the
 * gateway drains on SIGTERM, while the shared store does not answer, and while
 * an identity provider some route needs was never reached (no signing keys,
 * no discovery). Liveness asks none of this: a gateway that is not ready is
 * still alive, and restarting it would not bring Redis or the provider back.
 */
import type { Snapshot } from './snapshot.js';
import type { Store } from './stores/store.js';
import { pipelinesNotReady } from './pipeline/build.js';

export interface ReadinessReport {
  readonly ready: boolean;
  /** ok, draining (shutting down) or not_ready (a dependency). */
  readonly status: 'ok' | 'draining' | 'not_ready';
  /** For the admin listener only (it is not reachable through a route): what is not ready, by part. */
  readonly checks: { readonly draining: boolean; readonly store: 'up' | 'down' | 'none'; readonly identity: readonly string[] };
}

/** A store that went down is asked again at most this often by readiness, so probes never flood it. */
const STORE_PROBE_INTERVAL_MS = 1_000;
const PROBE_KEY = 'readiness-probe';

export class Readiness {
  /** Set when a graceful shutdown begins: from then on, not ready. */
  draining = false;
  private probing: Promise<void> | undefined;
  private lastProbe = -Infinity;

  constructor(
    private readonly snapshot: () => Snapshot,
    private readonly store: () => Store | undefined,
  ) {}

  async check(): Promise<ReadinessReport> {
    const store = this.store();
    // A store that is down recovers on the next operation that succeeds; with no traffic (a pod taken out
    // of rotation because of it) there would be none, so readiness makes one: a read, bounded by store.timeout.
    if (store && store.health.state === 'down') await this.probe(store);
    const storeState = store ? store.health.state : 'none';
    const identity = pipelinesNotReady([...this.snapshot().routes.values()].map((r) => r.pipeline));
    const status = this.draining ? 'draining' : storeState === 'down' || identity.length > 0 ? 'not_ready' : 'ok';
    return { ready: status === 'ok', status, checks: { draining: this.draining, store: storeState, identity } };
  }

  private probe(store: Store): Promise<void> {
    if (this.probing) return this.probing;
    if (performance.now() - this.lastProbe < STORE_PROBE_INTERVAL_MS) return Promise.resolve();
    this.lastProbe = performance.now();
    this.probing = Promise.resolve()
      .then(() => store.secure.get(PROBE_KEY))
      .then(
        () => undefined,
        () => undefined, // the store's health already counts and logs the failure
      )
      .finally(() => (this.probing = undefined));
    return this.probing;
  }
}

/**
 * One worker of a node (`gateway.workers` above 1): a whole gateway
 * (Gateway.start) on the listeners node:cluster shares, started from the
 * config document the supervisor loaded, with its memory store, deny list,
 * breakers, ticket keys and metrics joined to the node's through the
 * supervisor (supervisor.ts). It does nothing on its own about signals: the
 * supervisor asks it to reload, reopen its files or drain.
 */
import cluster from 'node:cluster';
import { Gateway } from '../../gateway.js';
import { InvalidConfigError } from '../../config/errors.js';
import { GatewayMetrics } from '../../telemetry/metrics/index.js';
import { isOurs, type FromWorker, type ToWorker } from './protocol.js';
import { StoreClient } from './remote-store.js';
import { SharedDenyList } from './shared-deny-list.js';
import { UpstreamSync } from './upstream-sync.js';
import { FetchClient } from './fetch-client.js';
import { providerFetches } from '../../identity/shared-fetch.js';
import { gatewayState } from '../fleet/plane-state.js';
import { joinActiveHealth } from './active-health.js';
import { scopeNodeEvents } from './node-events.js';
import { allowLastFlushUntil, stdoutWritten } from '../../telemetry/logger.js';

/** Past its drain budget (drain_delay + shutdown_timeout), how long a worker whose supervisor is gone may take before it ends regardless. */
const ORPHAN_GRACE_MS = 2_000;
/** What the supervisor adds to drain_delay + shutdown_timeout before it SIGKILLs a draining worker (supervisor.ts shutdown). */
const SUPERVISOR_KILL_GRACE_MS = 5_000;
/** How long a prepared reload waits for the supervisor's decision before it drops the new config. */
const DECISION_TIMEOUT_MS = 60_000;
/** How long /metrics waits for the node's figures. */
const METRICS_TIMEOUT_MS = 10_000;

type Boot = Extract<ToWorker, { t: 'boot' }>;
type Prepare = Extract<ToWorker, { t: 'prepare' }>;

function send(message: FromWorker): void {
  if (process.connected) process.send!(message);
}

/** Waits for the supervisor's boot message: the config document, the version and the node's shared state. */
function boot(): Promise<Boot> {
  return new Promise((resolve) => {
    const on = (message: unknown) => {
      if (!isOurs<ToWorker>(message) || message.t !== 'boot') return;
      process.off('message', on);
      resolve(message);
    };
    process.on('message', on);
    // Messages that come before a listener are lost: the supervisor sends the boot message once asked.
    send({ t: 'hello' });
  });
}

/** Runs this worker until the supervisor tells it to stop (or goes away); resolves only when it could not start. */
export async function runWorker(configFile: string, env: NodeJS.ProcessEnv): Promise<number> {
  // The supervisor leads: a Ctrl-C reaches every process of the group, but only the supervisor decides.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR1'] as const) process.on(signal, () => {});
  const store = new StoreClient(send);
  const denyList = new SharedDenyList();
  const fetches = new FetchClient(send);
  providerFetches.share = fetches;
  let gateway: Gateway | undefined;
  /** Made once the gateway runs; the others' news before then has nothing to apply to. */
  const shared: { sync?: UpstreamSync } = {};
  let tickets: Record<string, string> = {};
  const decisions = new Map<number, (commit: boolean) => void>();
  /** Rounds this worker is still preparing, and decisions that came before it was ready for them. */
  const preparing = new Set<number>();
  const decided = new Map<number, boolean>();
  const scrapes = new Map<number, (answer: { text?: string; error?: string }) => void>();
  let nextScrape = 1;
  let stopping = false;

  const applyTickets = () => {
    for (const listener of gateway?.listeners.values() ?? []) {
      const key = tickets[listener.name];
      if (key && listener.front) listener.front.useTicketKeys(Buffer.from(key, 'base64'));
    }
  };
  /** Epoch ms the supervisor kills this worker at, once it asked it to drain (its stdout may be waited for until then). */
  let flushUntil: number | undefined;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await gateway?.shutdown();
      shared.sync?.close();
      store.close();
      fetches.close();
      // Drained at the supervisor's request: the last lines reach a slow reader before the exit (not after the
      // supervisor's deadline: it kills this worker then). Orphaned: no wait, the sync last flush handles it.
      if (flushUntil !== undefined) await stdoutWritten(flushUntil);
    } finally {
      // A step that failed must not leave the worker running.
      process.exit(0);
    }
  };

  const prepare = (message: Prepare) => {
    if (!gateway) {
      send({ t: 'refused', id: message.id, issues: [{ file: configFile, line: 0, path: '(worker)', message: 'worker still starting' }] });
      return;
    }
    let asked = false;
    preparing.add(message.id);
    const gate = () => {
      asked = true;
      send({ t: 'prepared', id: message.id });
      // Told to abort before it got here (another worker refused first): no waiting.
      const early = decided.get(message.id);
      decided.delete(message.id);
      if (early !== undefined) return Promise.resolve(early);
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), DECISION_TIMEOUT_MS);
        decisions.set(message.id, (commit) => {
          clearTimeout(timer);
          resolve(commit);
        });
      });
    };
    void gateway.reload(message.by, message.source, gate).then((result) => {
      preparing.delete(message.id);
      decided.delete(message.id);
      if (!asked) {
        send({ t: 'refused', id: message.id, issues: result.ok ? [] : result.issues });
        return;
      }
      if (result.ok) applyTickets();
      send(result.ok ? { t: 'reloaded', id: message.id, ok: true, version: result.version } : { t: 'reloaded', id: message.id, ok: false, issues: result.issues });
    });
  };

  process.on('message', (message: unknown) => {
    if (isMetricsRequest(message)) {
      // The supervisor gathers every worker's figures (prom-client's aggregation format) into one /metrics.
      const registry = gateway?.telemetry.metrics?.registry;
      void (registry ? registry.getMetricsAsJSON() : Promise.resolve([])).then(
        (metrics) => process.connected && process.send!({ type: 'prom-client:getMetricsRes', requestId: message.requestId, metrics: [metrics] }),
        (err: Error) => process.connected && process.send!({ type: 'prom-client:getMetricsRes', requestId: message.requestId, error: err.message }),
      );
      return;
    }
    if (!isOurs<ToWorker>(message)) return;
    switch (message.t) {
      case 'store-r':
        store.answered(message.r);
        return;
      case 'lease-recall':
        store.recalled(message.s, message.ids);
        return;
      case 'fetch-r':
        fetches.answered(message);
        return;
      case 'pub':
        store.published(message.channel, message.message);
        return;
      case 'deny':
        denyList.apply(message.change);
        return;
      case 'upstream':
        shared.sync?.apply(message.change);
        return;
      case 'tickets':
        tickets = message.keys;
        applyTickets();
        return;
      case 'metrics-r':
        scrapes.get(message.id)?.(message);
        scrapes.delete(message.id);
        return;
      case 'prepare':
        prepare(message);
        return;
      case 'commit':
      case 'abort': {
        const decide = decisions.get(message.id);
        decisions.delete(message.id);
        if (decide) decide(message.t === 'commit');
        else if (preparing.has(message.id)) decided.set(message.id, message.t === 'commit');
        return;
      }
      case 'reopen':
        gateway?.telemetry.sinks?.reopen();
        return;
      case 'fleet': {
        // A data plane of workers: the supervisor is the fleet client; the admin API shows what it runs.
        const { controlPlane, hash } = message;
        if (gateway) gateway.fleetView = { role: 'data_plane', controlPlane, current: () => (hash ? { hash } : {}), nodes: () => [] };
        return;
      }
      case 'state': {
        const id = message.id;
        if (gateway) void gatewayState(gateway).then((state) => send({ t: 'state-r', id, state }), () => {});
        return;
      }
      case 'shutdown': {
        // The supervisor waits drain_delay + shutdown_timeout + 5 s before it kills this worker: until then its
        // last log flush may wait for a slow reader of the relay, not drop the drain's access lines after 2 s.
        const settings = gateway?.snapshot.settings;
        if (settings) flushUntil = Date.now() + settings.drainDelayMs + settings.shutdownTimeoutMs + SUPERVISOR_KILL_GRACE_MS;
        allowLastFlushUntil(flushUntil);
        void stop();
        return;
      }
      case 'boot':
        return;
    }
  });
  // The supervisor is gone (killed, crashed): no one leads this worker any more, and no new connection
  // reaches it (the supervisor accepted them), so it lets the requests it holds finish, then ends.
  // node:cluster's own listener, added before this one, would end it at once (process.exit in the middle
  // of its requests) unless the disconnect is marked as expected, which it documents: first in line, this
  // one marks it; the drain is then bounded by its own budget whatever a step of it waits on.
  process.prependOnceListener('disconnect', () => {
    if (cluster.worker) cluster.worker.exitedAfterDisconnect = true;
    // Nobody kills this worker now: its last flush waits at most 2 s for a reader that is there.
    flushUntil = undefined;
    allowLastFlushUntil(undefined);
    const settings = gateway?.snapshot.settings;
    const budgetMs = (settings ? settings.drainDelayMs + settings.shutdownTimeoutMs : 0) + ORPHAN_GRACE_MS;
    setTimeout(() => process.exit(0), budgetMs).unref();
    void stop();
  });

  const start = await boot();
  tickets = start.tickets;
  for (const change of start.deny) denyList.apply(change);
  denyList.share = (change) => send({ t: 'deny', change });
  joinActiveHealth(start.slot, (change) => send({ t: 'upstream', change }));
  scopeNodeEvents(start.slot);
  GatewayMetrics.gather = () =>
    new Promise<string>((resolve, reject) => {
      const id = nextScrape++;
      const timer = setTimeout(() => {
        scrapes.delete(id);
        reject(new Error('the supervisor did not gather the metrics in time'));
      }, METRICS_TIMEOUT_MS);
      scrapes.set(id, (answer) => {
        clearTimeout(timer);
        if (answer.text !== undefined) resolve(answer.text);
        else reject(new Error(answer.error ?? 'no metrics'));
      });
      send({ t: 'metrics', id });
    });
  try {
    gateway = await Gateway.start({
      configFile,
      source: start.source,
      version: start.version,
      watch: false,
      env,
      audit: start.audit,
      memoryStore: (config, logger) => store.create(JSON.stringify(config), logger),
      denyList,
      // The supervisor tried the new listener addresses before the round; a failure at the swap is still refused.
      listenCheck: false,
    });
  } catch (err) {
    send({ t: 'start-failed', message: (err as Error).message, issues: err instanceof InvalidConfigError ? err.issues : undefined });
    // The message goes out before the process ends.
    setTimeout(() => process.exit(1), 100);
    return 1;
  }
  applyTickets();
  shared.sync = new UpstreamSync(gateway.upstreams, (change) => send({ t: 'upstream', change }));
  send({
    t: 'ready',
    version: gateway.snapshot.version,
    listeners: [...gateway.listeners.values()].map((l) => ({ name: l.name, url: l.url })),
    admin: gateway.admin.url,
  });
  if (stopping) await stop();
  return new Promise<number>(() => {});
}

function isMetricsRequest(message: unknown): message is { type: string; requestId: unknown } {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'prom-client:getMetricsReq';
}

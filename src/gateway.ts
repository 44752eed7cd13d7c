/**
 * The gateway: loads and compiles the config, opens the listeners, swaps
 * snapshots on reload, and shuts down gracefully. Owns the long-lived pieces
 * (upstream pools, listeners) that outlive any one snapshot.
 */
import { unwatchFile, watchFile } from 'node:fs';
import { resolve } from 'node:path';
import type { DestinationStream, Logger } from 'pino';
import type { SourceText } from './config/load.js';
import { loadConfig } from './load-config.js';
import type { Snapshot } from './snapshot.js';
import { InvalidConfigError, type ConfigIssue } from './config/errors.js';
import type { ListenerConfig } from './config/schema.js';
import { preparePipelines } from './pipeline/build.js';
import { ServerGuards } from './server/guards.js';
import { RequestHandler } from './server/handler.js';
import { applyListenerSettings, openListener, type Listener } from './server/listener.js';
import { ListenError } from './server/listen-error.js';
import { adminOf, listenIssues } from './server/listen-check.js';
import { swapListeners, type ListenerSwap } from './server/listener-swap.js';
import { parseListenAddress } from './config/ajv.js';
import { lineIn } from './config/load.js';
import { redirector } from './server/redirect.js';
import { SnapshotHolder } from './server/snapshots.js';
import { hstsHeader } from './server/tls/compile.js';
import { clientCertificateOf } from './server/tls/peer.js';
import { CertificateInventory } from './telemetry/certificates.js';
import { StoreRegistry, type StoreFactory } from './stores/registry.js';
import { AccessLog } from './telemetry/access-log.js';
import { createLogger } from './telemetry/logger.js';
import { Telemetry } from './telemetry/hub.js';
import { gatewayEvents, type EmitGatewayEvent } from './telemetry/gateway-events.js';
import { storeHealthEvent } from './telemetry/store-events.js';
import { fileActor, openAuditTrail, type AuditActor } from './telemetry/audit/index.js';
import { SinkManager, sinkSettings, type SinkPlan } from './telemetry/sinks/manager.js';
import { DynamicDenyList } from './defense/deny-list.js';
import { DefenseEngine } from './defense/engine.js';
import { DefenseGate } from './defense/gate.js';
import { UpstreamRegistry } from './upstream/registry.js';
import { FunctionHost } from './functions/registry.js';
import { AdminControl } from './admin/control.js';
import { Readiness } from './readiness.js';
import { policiesByName } from './policies/index.js';
import { storedStart } from './admin/api/start.js';
import type { FleetView } from './admin/api/types.js';

export interface GatewayOptions {
  configFile: string;
  /** Where log lines go (stdout when not given); tests capture them here. */
  logDestination?: DestinationStream;
  env?: NodeJS.ProcessEnv;
  /** Reload when the config file changes, whatever the config says. */
  watch?: boolean;
  /** The log level (default: PORTCULLIS_LOG_LEVEL, else info). */
  logLevel?: string;
  /**
   * The config document to start from instead of reading configFile: a
   * cluster worker gets the supervisor's, a data plane its last good pushed
   * config (src/cluster/).
   */
  source?: SourceText;
  /** The config version to start at (a restarted worker joins the node's current version); 1 when not given. */
  version?: number;
  /** Keep an audit trail when the config asks for one (default true; in a worker node only one worker keeps it). */
  audit?: boolean;
  /** Builds the memory store instead of an in-process one (a cluster worker's store lives in the supervisor). */
  memoryStore?: StoreFactory;
  /** The deny list to use (a cluster worker's shares its changes with the other workers). */
  denyList?: DynamicDenyList;
  /** A reload tries the new listener addresses before it prepares (default true; a cluster worker's supervisor has tried them). */
  listenCheck?: boolean;
}

/** Asked once a reload is prepared, before anything running changes: true swaps it in, false drops it. */
export type ReloadGate = () => Promise<boolean>;

export type ReloadResult = { ok: true; version: number } | { ok: false; issues: ConfigIssue[] };

/** Lets policies fetch what they need (signing keys, provider metadata) before the snapshot serves. */
function prepareSnapshot(snapshot: Snapshot): Promise<void> {
  return preparePipelines([...snapshot.routes.values()].map((r) => r.pipeline));
}

export class Gateway {
  readonly listeners = new Map<string, Listener>();
  private version: number;
  private reloading: Promise<ReloadResult> | undefined;
  private watching = false;
  private stopped = false;
  /**
   * The text of the config running now: the file as last read, or the
   * document last handed to reload(). What an admin API edits and a
   * control plane pushes starts from here.
   */
  source: SourceText;
  /** The admin listener (/metrics, /healthz, /livez, /readyz) and the metrics, kept in line with the config. */
  readonly admin: AdminControl;
  /** Whether the gateway should be sent traffic: not while draining, nor while the store or a route's provider is missing. */
  readonly readiness: Readiness;
  /** Automatic defense (the `defense` section): detections, playbooks, and the actions in force fleet-wide. */
  readonly defense: DefenseEngine;
  private readonly defenseGate: DefenseGate;
  /** Set by cluster/fleet/ on a control or data plane: what the admin API shows of the fleet. */
  fleetView: FleetView | undefined;
  /** Function runtimes, kept across reloads while a function is unchanged (src/functions/); start() sets the one the first load used. */
  functions: FunctionHost;

  private constructor(
    readonly options: GatewayOptions,
    readonly logger: Logger,
    private readonly flushLogs: () => void,
    private readonly accessLog: AccessLog,
    /** The services and their targets (pools, health, breakers); kept across reloads. */
    readonly upstreams: UpstreamRegistry,
    readonly snapshots: SnapshotHolder,
    /** The shared store (memory or Redis): created once, kept across reloads while its config is unchanged. */
    readonly stores: StoreRegistry,
    /** Overload shedding and the slow-body watch, for every listener. */
    readonly guards: ServerGuards,
    /** Addresses refused at run time (ip-restriction consults it); kept across reloads. */
    readonly denyList: DynamicDenyList,
    /** Every certificate in use and its expiry. */
    readonly certificates: CertificateInventory,
    /** Events, and what watches them; kept across reloads. */
    readonly telemetry: Telemetry,
    source: SourceText,
  ) {
    this.source = source;
    this.version = options.version ?? 1;
    const defense = (this.defense = new DefenseEngine({
      stores: () => stores.running,
      denyList,
      events: telemetry.events,
      audit: () => telemetry.audit,
      logger,
    }));
    this.defenseGate = new DefenseGate(defense, denyList, () => stores.running);
    this.functions = new FunctionHost(logger);
    const readiness = (this.readiness = new Readiness(
      () => snapshots.current,
      () => stores.running?.store,
    ));
    const sources = {
      services: () => upstreams.running(),
      store: () => stores.running?.store.health,
      certificates: () => certificates.gauge(),
      overload: () => guards.overload,
      sinks: () => telemetry.sinkStatus(),
      configVersion: () => snapshots.current.version,
    };
    this.admin = new AdminControl({
      telemetry,
      logger,
      readiness: () => readiness.check(),
      storeTiming: (observe) => (stores.timing = observe),
      sources,
      link: {
        configFile: options.configFile,
        source: () => this.source,
        reload: (by, from) => this.reload(by, from),
        version: () => this.snapshots.current.version,
        policies: policiesByName,
        telemetry,
        sources,
        defense,
        fleet: () => this.fleetView,
      },
    });
  }

  /** Loads the config and opens every listener; throws InvalidConfigError with every issue found. */
  static async start(options: GatewayOptions): Promise<Gateway> {
    const { logger, destination, flush } = createLogger({
      ...(options.logDestination ? { destination: options.logDestination } : {}),
      ...(options.logLevel ? { level: options.logLevel } : {}),
    });
    const certificates = new CertificateInventory(logger);
    const upstreams = new UpstreamRegistry(logger, certificates);
    const stores = new StoreRegistry(logger, options.memoryStore);
    const denyList = options.denyList ?? new DynamicDenyList();
    const version = options.version ?? 1;
    const functions = new FunctionHost(logger);
    let loaded = loadConfig(options.source ?? options.configFile, { upstreams, stores, logger, version, env: options.env, denyList, functions, auditView: true });
    if (!loaded.ok) throw new InvalidConfigError(loaded.issues);
    // The admin API's latest stored version, when it is what runs (docs/admin-api.md#file-or-api).
    const stored = storedStart(loaded.snapshot.config, options.configFile, loaded.source, logger);
    if (stored) {
      upstreams.discard(loaded.snapshot.services);
      stores.discard(loaded.snapshot.stores);
      loaded = loadConfig(stored, { upstreams, stores, logger, version, env: options.env, denyList, auditView: true });
      if (!loaded.ok) throw new InvalidConfigError(loaded.issues);
    }
    logConfigWarnings(logger, loaded.warnings);
    await prepareSnapshot(loaded.snapshot);
    upstreams.commit(loaded.snapshot.services);
    functions.commit(loaded.snapshot.functions);
    const telemetry = new Telemetry(Telemetry.nodeName(loaded.snapshot.config.telemetry.node_id), logger);
    const accessLog = new AccessLog(destination);
    // The sinks subscribe before anything can emit: the certificate warnings reported just below are
    // emitted at once, and an event emitted while no one listens is not kept.
    const sinks = (telemetry.sinks = new SinkManager({ logger, destination, accessLog, telemetry }));
    telemetry.sinkStatus = () => sinks.status();
    sinks.apply(sinks.prepare(sinkSettings(loaded.snapshot)));
    const gateway = new Gateway(options, logger, flush, accessLog, upstreams, new SnapshotHolder(loaded.snapshot), stores, new ServerGuards(logger), denyList, certificates, telemetry, loaded.source);
    gateway.functions = functions;
    const events = gatewayEvents(telemetry.events);
    certificates.reportTo(events);
    stores.onHealthChange = (change) => {
      events(storeHealthEvent(change));
      // Back from an outage: read the actions in force now rather than at the next resync.
      if (change.state === 'up') void gateway.defense.ledger.resync();
    };
    try {
      if (options.audit ?? true) telemetry.audit = openAuditTrail(loaded.snapshot.config, loaded.snapshot.baseDir, telemetry.events, logger);
      telemetry.tracing.configure(loaded.snapshot.config.telemetry.tracing, loaded.snapshot.baseDir);
      await stores.commit(loaded.snapshot.stores, loaded.snapshot.config.store);
      await gateway.defense.configure(loaded.snapshot.config.defense, loaded.snapshot.baseDir);
      // Metrics first, so that the first requests are counted too.
      await gateway.admin.reconcile(loaded.snapshot.config);
      for (const config of loaded.snapshot.config.listeners) gateway.listeners.set(config.name, await gateway.open(config, loaded.snapshot));
    } catch (err) {
      await gateway.shutdown({ quiet: true });
      throw err;
    }
    if (options.watch ?? loaded.snapshot.config.gateway.watch) gateway.watch();
    telemetry.audit?.loaded(loaded.view, version, { kind: 'start', file: resolve(options.configFile) });
    gateway.admin.applied(loaded.source, { kind: 'start', file: resolve(options.configFile) });
    logger.info({ version, routes: loaded.snapshot.routes.size, services: loaded.snapshot.services.size }, 'config loaded');
    return gateway;
  }

  get snapshot(): Snapshot {
    return this.snapshots.current;
  }

  /** The URL of a listener (the first when no name is given). */
  url(name?: string): string {
    const listener = name ? this.listeners.get(name) : this.listeners.values().next().value;
    if (!listener) throw new Error(`no listener ${name ?? ''}`);
    return listener.url;
  }

  /**
   * Re-reads the config file and swaps it in. A config that does not load,
   * validate or compile is refused with every issue, and the running one
   * keeps serving. Concurrent reloads are serialised. `by` is who asked, for
   * the audit trail (a signal, the file watch, later the admin API).
   */
  reload(by: AuditActor = { kind: 'process' }, from?: SourceText, gate?: ReloadGate): Promise<ReloadResult> {
    const run = async (): Promise<ReloadResult> => {
      // Draining: a reload would open listeners that the shutdown no longer closes.
      if (this.stopped) return { ok: false, issues: [{ file: this.options.configFile, line: 0, path: '(gateway)', message: 'shutting down: not reloaded' }] };
      const version = this.version + 1;
      const audit = this.telemetry.audit;
      // source_of_truth: api — a reload that reads the file takes only its admin section (admin/api/index.ts).
      const loaded = loadConfig(from ?? this.admin.fileSource() ?? this.options.configFile, {
        upstreams: this.upstreams,
        stores: this.stores,
        logger: this.logger,
        version,
        env: this.options.env,
        denyList: this.denyList,
        functions: this.functions,
        auditView: audit !== undefined,
      });
      if (!loaded.ok) {
        const issues = loaded.issues.map((i) => `${i.file}:${i.line}: ${i.path}: ${i.message}`);
        this.logger.error({ issues }, 'reload refused: the running config keeps serving');
        this.reloadRefused(issues);
        audit?.refused(issues, this.version, by);
        return loaded;
      }
      logConfigWarnings(this.logger, loaded.warnings);
      const next = loaded.snapshot;
      // Every address the new config listens on and this gateway does not yet: tried before anything is
      // swapped or closed, so that one that cannot be bound is refused while the old listeners serve.
      const unbound = this.options.listenCheck === false ? [] : await listenIssues(next.config, loaded.source, { held: this.heldAddresses(), admin: adminOf(this.snapshot.config) });
      if (unbound.length > 0) {
        this.upstreams.discard(next.services);
        this.stores.discard(next.stores);
        this.functions.discard(next.functions);
        const issues = unbound.map((i) => `${i.file}:${i.line}: ${i.path}: ${i.message}`);
        this.logger.error({ issues }, 'reload refused: the running config keeps serving');
        this.reloadRefused(issues);
        audit?.refused(issues, this.version, by);
        return { ok: false, issues: unbound };
      }
      await prepareSnapshot(next);
      let sinkPlan: SinkPlan | undefined;
      try {
        sinkPlan = this.telemetry.sinks?.prepare(sinkSettings(next));
      } catch (err) {
        this.upstreams.discard(next.services);
        this.stores.discard(next.stores);
        this.functions.discard(next.functions);
        const issue = { file: this.options.configFile, line: 0, path: 'telemetry', message: (err as Error).message };
        this.logger.error({ issues: [issue.message] }, 'reload refused: the running config keeps serving');
        return { ok: false, issues: [issue] };
      }
      // A cluster worker: prepared, it waits for the supervisor, which swaps every worker or none.
      if (gate && !(await gate())) {
        this.upstreams.discard(next.services);
        this.stores.discard(next.stores);
        return { ok: false, issues: [{ file: this.options.configFile, line: 0, path: '(gateway)', message: 'not every worker could load this config: none swapped it in' }] };
      }
      let swap: ListenerSwap | undefined;
      try {
        swap = await this.swapListeners(next);
        await this.admin.reconcile(next.config);
        await swap.done();
      } catch (err) {
        // The old listeners serve again (swapListeners put back what it had closed, if it threw itself).
        await swap?.undo();
        this.upstreams.discard(next.services);
        this.stores.discard(next.stores);
        this.functions.discard(next.functions);
        const issue = openIssue(err, next, loaded.source);
        this.logger.error({ issues: [issue.message] }, 'reload refused: the running config keeps serving');
        this.reloadRefused([issue.message]);
        audit?.refused([`${issue.file}: ${issue.path}: ${issue.message}`], this.version, by);
        return { ok: false, issues: [issue] };
      }
      const before = this.version;
      const auditChanged = JSON.stringify(next.config.telemetry.audit) !== JSON.stringify(this.snapshot.config.telemetry.audit);
      this.version = version;
      this.source = loaded.source;
      const retired = this.upstreams.commit(next.services);
      const retiredFunctions = this.functions.retire(next.functions);
      const replacedStore = await this.stores.commit(next.stores, next.config.store);
      await this.defense.configure(next.config.defense, next.baseDir);
      if (replacedStore) void this.defense.ledger.resync();
      this.snapshots.swap(next, () => {
        for (const service of retired) void service.close();
        for (const fn of retiredFunctions) fn.close();
        if (replacedStore) void replacedStore.store.close();
      });
      for (const listener of this.listeners.values()) applyListenerSettings(listener, next.settings);
      try {
        this.telemetry.tracing.configure(next.config.telemetry.tracing, next.baseDir);
      } catch (err) {
        this.logger.error({ err: (err as Error).message }, 'tracing settings not applied: the previous ones stay');
      }
      if (sinkPlan) this.telemetry.sinks!.apply(sinkPlan);
      this.logger.info({ version, routes: next.routes.size, services: next.services.size }, 'config reloaded');
      this.events({
        type: 'config.reloaded',
        source: 'config',
        message: `config version ${version} loaded`,
        details: { file: this.options.configFile, version_before: before, version_after: version, routes: next.routes.size, services: next.services.size },
      });
      audit?.reloaded(loaded.view, before, version, by);
      this.admin.applied(loaded.source, by);
      if (auditChanged) this.logger.warn('telemetry.audit changed: the audit trail keeps the file and key it started with until the next start');
      return { ok: true, version };
    };
    const previous = this.reloading ?? Promise.resolve();
    const current = previous.then(run, run).then((result) => {
      this.telemetry.metrics?.reloaded(result.ok);
      return result;
    });
    this.reloading = current;
    return current;
  }

  /** Gateway happenings onto the event stream (telemetry/gateway-events.ts). */
  private get events(): EmitGatewayEvent {
    return gatewayEvents(this.telemetry.events);
  }

  private reloadRefused(issues: readonly string[]): void {
    this.events({
      type: 'config.reload_refused',
      source: 'config',
      message: 'reload refused: the running config keeps serving',
      // The issues stay in the log: a config error can quote a value, and values can be secrets.
      details: { file: this.options.configFile, version: this.version, issues: issues.length },
    });
  }

  private async open(config: ListenerConfig, snapshot: Snapshot): Promise<Listener> {
    const tls = snapshot.listenerTls.get(config.name);
    const redirectTo = config.redirect_to;
    const handler = new RequestHandler({
      snapshots: this.snapshots,
      logger: this.logger,
      accessLog: this.accessLog,
      telemetry: this.telemetry,
      scheme: config.protocol,
      clientCertificate: config.tls && config.tls.client_auth.mode !== 'none' ? clientCertificateOf : undefined,
      hsts: hstsHeader(config),
      redirect: redirectTo ? redirector(() => config.redirect_port ?? this.listeners.get(redirectTo)?.address.port) : undefined,
      guards: this.guards,
      readiness: () => this.readiness.check(),
      defense: this.defenseGate,
    });
    let listener: Listener;
    try {
      listener = await openListener(
        config,
        snapshot.settings,
        handler,
        this.logger,
        tls ? { material: tls, baseDir: snapshot.baseDir, inventory: this.certificates } : undefined,
      );
    } catch (err) {
      throw new ListenError(config, err);
    }
    this.logger.info({ listener: config.name, url: listener.url }, 'listening');
    return listener;
  }

  /** The listeners' change a reload makes, undone if the reload is refused after all (server/listener-swap.ts). */
  private swapListeners(snapshot: Snapshot): Promise<ListenerSwap> {
    return swapListeners(this.listeners, snapshot, {
      open: (config, of) => this.open(config, of),
      close: (listener) => closeListener(listener, this.snapshots.current.settings.shutdownTimeoutMs),
      running: this.snapshots.current,
      certificates: this.certificates,
      logger: this.logger,
    });
  }

  /** Where this gateway listens now (a reload does not try these: it lets go of them first). */
  private heldAddresses(): Array<{ host: string; port: number }> {
    const admin = this.snapshot.config.admin?.address;
    const at = admin === undefined ? undefined : parseListenAddress(admin);
    return [...[...this.listeners.values()].map((l) => l.address), ...(at ? [at] : [])];
  }

  private watch(): void {
    if (this.watching) return;
    this.watching = true;
    watchFile(this.options.configFile, { interval: 500, persistent: false }, (now, before) => {
      if (now.mtimeMs === before.mtimeMs && now.size === before.size) return;
      this.logger.info({ file: this.options.configFile }, 'config file changed; reloading');
      void this.reload(fileActor(this.options.configFile));
    });
  }

  /**
   * Drains, then stops: readiness answers 503 while new requests are still
   * served for drain_delay (the time a load balancer takes to notice), then
   * the listeners stop accepting, in-flight requests finish up to
   * shutdown_timeout, and what is left is closed, the upstream pools too, and
   * the logs flushed. A start that failed (quiet) has no traffic to drain.
   */
  async shutdown(options: { quiet?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.watching) unwatchFile(this.options.configFile);
    const { shutdownTimeoutMs: deadline, drainDelayMs } = this.snapshots.current.settings;
    // quiet: a start that failed half-way says why once; "shutting down" would only confuse.
    if (!options.quiet) this.logger.info({ drain_delay_ms: drainDelayMs, deadline_ms: deadline }, 'shutting down');
    this.readiness.draining = true;
    for (const listener of this.listeners.values()) listener.handler.draining = true;
    if (drainDelayMs > 0 && !options.quiet) {
      // Requests keep being served meanwhile; a second SIGTERM ends the process at once (cli.ts).
      await new Promise<void>((resolve) => setTimeout(resolve, drainDelayMs));
      this.logger.info({ deadline_ms: deadline }, 'drain delay over: the listeners close, in-flight requests finish');
    }
    const started = Date.now();
    await Promise.all([...this.listeners.values()].map((l) => closeListener(l, deadline)));
    this.listeners.clear();
    await this.admin.close();
    await this.upstreams.closeAll();
    this.defense.stop();
    this.functions.closeAll();
    await this.stores.closeAll();
    this.guards.close();
    await this.telemetry.sinks?.close(Math.max(0, deadline - (Date.now() - started)));
    this.accessLog.flush();
    await this.telemetry.tracing.shutdown();
    this.telemetry.audit?.close();
    this.certificates.stop();
    if (!options.quiet) this.logger.info('stopped');
    this.flushLogs();
  }
}

async function closeListener(listener: Listener, deadlineMs: number): Promise<void> {
  const { server, handler, front } = listener;
  handler.draining = true;
  // An https listener accepts on its TLS front; the HTTP/1.1 server behind it never listened.
  const closed = front ? front.close() : new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  front?.closeIdle();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, deadlineMs);
    timer.unref();
  });
  await Promise.race([handler.whenIdle(), expired]);
  clearTimeout(timer);
  server.closeAllConnections();
  front?.closeAll();
  handler.closeTunnels();
  await closed;
}

/** A listener that would not open during a reload, as an issue at its address in the file. */
function openIssue(err: unknown, next: Snapshot, source: SourceText): ConfigIssue {
  const index = err instanceof ListenError ? next.config.listeners.findIndex((l) => l.name === err.listener) : -1;
  if (index < 0) return { file: source.file, line: 0, path: 'listeners', message: (err as Error).message };
  const path = ['listeners', index, 'address'];
  const code = err instanceof ListenError && err.code ? ` (${err.code})` : '';
  return { file: source.file, line: lineIn(source, path), path: `listeners[${index}].address`, message: `${(err as Error).message}${code}` };
}

/** Config warnings (allowed but likely wrong), one log line each, with where they sit: `portcullis validate` prints the same. */
function logConfigWarnings(logger: Logger, warnings: readonly ConfigIssue[]): void {
  for (const w of warnings) logger.warn({ file: w.file, line: w.line, path: w.path, config_warning: true }, `${w.path}: ${w.message}`);
}

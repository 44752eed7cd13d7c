/**
 * The supervisor of a node with several workers (`gateway.workers`, docs/workers.md).
 *
 * It serves no request itself. It loads and validates the config once
 * (node-config.ts) and forks the workers, which share every listener through
 * node:cluster; it holds the node's memory store (store-host.ts) and passes
 * on what one worker learns that the others must know (deny list changes,
 * breakers and passive health, store channel messages); it rotates the TLS
 * session ticket keys every worker uses; it gathers /metrics; it copies the
 * workers' output to its own, a line at a time (line-relay.ts).
 *
 * A reload is all or nothing (reload()): every worker prepares the new
 * config (load, compile, fetch what policies need) and says so; only when all
 * have does any swap it in; one refusal, or a worker that does not answer,
 * and all drop it. A worker that exits unasked is forked again after a
 * backoff that doubles while it keeps failing (restartDelay()). SIGTERM (or
 * SIGINT) drains every worker, SIGHUP reloads, SIGUSR1 reopens log files;
 * `portcullis reload` works as with one process (the pid file names the
 * supervisor).
 */
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { fstatSync, unwatchFile, watchFile } from 'node:fs';
import type { Logger } from 'pino';
import { AggregatorRegistry, Counter, Gauge, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { ConfigIssue } from '../../config/errors.js';
import type { SourceText } from '../../config/load.js';
import { DynamicDenyList } from '../../defense/deny-list.js';
import type { AuditActor } from '../../telemetry/audit/index.js';
import type { FetchWant } from '../../identity/shared-fetch.js';
import { fileActor } from '../../telemetry/audit/index.js';
import { relayLines } from './line-relay.js';
import { loadNodeConfig, type NodeConfig } from './node-config.js';
import { isOurs, type FromWorker, type ToWorker } from './protocol.js';
import { applyDenyChange, denyListChanges } from './shared-deny-list.js';
import { StoreHost } from './store-host.js';
import { FetchHost } from './fetch-host.js';
import { ReloadRound } from './reload-round.js';
import { NodeStateGather, type NodeState } from './node-state.js';
import { PROBER_SLOT, VerdictBook } from './active-health.js';
import { workerExecArgv } from './worker-flags.js';
import { addressesOf, adminOf, listenIssues } from '../../server/listen-check.js';

export type NodeReloadResult = { ok: true; version: number } | { ok: false; issues: ConfigIssue[] };

/** How long every worker has to prepare a reload and say so; a worker silent longer refuses it. */
const PREPARE_TIMEOUT_MS = 60_000;
/** The first restart of a crashed worker waits this long; each crash within CRASH_WINDOW_MS doubles it. */
const FIRST_RESTART_MS = 100;
const MAX_RESTART_MS = 30_000;
const CRASH_WINDOW_MS = 60_000;
/** How long /metrics waits for every worker's figures. */
const GATHER_TIMEOUT_MS = 5_000;

/**
 * How each worker's gauge becomes the node's (counters and histograms are
 * summed): the lowest config version still serving, a target or store up only
 * if every worker sees it up, the worst event-loop lag and breaker state.
 */
const GAUGE_AGGREGATION: Record<string, 'min' | 'max' | 'sum'> = {
  portcullis_config_version: 'min',
  portcullis_upstream_target_up: 'min',
  portcullis_store_up: 'min',
  portcullis_certificate_expiry_days: 'min',
  portcullis_upstream_breaker_state: 'max',
  portcullis_event_loop_lag_seconds: 'max',
};

/** The time a crashed worker waits before it is forked again: 100 ms, doubling with each crash of the last minute, at most 30 s. */
export function restartDelay(recentCrashes: number): number {
  return Math.min(MAX_RESTART_MS, FIRST_RESTART_MS * 2 ** Math.max(0, recentCrashes - 1));
}

interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  ready: boolean;
  version: number;
  crashes: number[];
  restart: NodeJS.Timeout | undefined;
  /** Killed by the supervisor to be forked again on the node's config (not a crash). */
  replacing: boolean;
}

export interface SupervisorOptions {
  readonly configFile: string;
  readonly config: NodeConfig;
  readonly env: NodeJS.ProcessEnv;
  readonly logger: Logger;
  /** The config file is watched (--watch, or gateway.watch). */
  readonly watch: boolean;
  /** Told once every worker is ready the first time. */
  readonly onReady: (ready: Extract<FromWorker, { t: 'ready' }>) => void;
  /** Told when the first workers could not start at all: the node gives up. */
  readonly onStartFailed: (message: string, issues: ConfigIssue[] | undefined) => void;
}

export class Supervisor {
  private config: NodeConfig;
  private version = 1;
  private readonly slots: Slot[] = [];
  private readonly store: StoreHost;
  /** JWKS and discovery: one fetch per node (fetch-host.ts). */
  private readonly fetches = new FetchHost((id, message) => {
    const worker = cluster.workers?.[id];
    if (worker) this.send(worker, message);
  });
  private readonly denyList = new DynamicDenyList();
  /** On a data plane: its control plane and the version running, for every worker's admin API (data-plane-node.ts). */
  private fleet: Extract<ToWorker, { t: 'fleet' }> | undefined;
  /** Worker 0's latest active-check verdicts, for workers that start later (active-health.ts). */
  private readonly verdicts = new VerdictBook();
  /** The node's readiness, version and counts, asked of every worker (a data plane's report). */
  private readonly states = new NodeStateGather((index, id) => {
    const worker = this.slots[index]?.ready ? this.slots[index]?.worker : undefined;
    if (!worker?.isConnected()) return false;
    this.send(worker, { t: 'state', id });
    return true;
  });
  private tickets: Record<string, string> = {};
  private readonly ticketTimers: NodeJS.Timeout[] = [];
  private reloading: Promise<NodeReloadResult> = Promise.resolve({ ok: true, version: 1 });
  private readonly rounds = new Map<number, ReloadRound>();
  private nextRound = 1;
  private stopping = false;
  private started = false;
  private readonly registry = new Registry();
  private readonly restarts: Counter<'reason'>;
  private readonly gathers = new Map<number, { pending: Set<number>; responses: MetricObjectWithValues<MetricValue<string>>[][]; done: (err?: Error) => void }>();
  private nextGather = 1;
  /** The workers write to this process's stdout themselves (a regular file), rather than through the relay. */
  private directStdout = false;

  constructor(private readonly options: SupervisorOptions) {
    this.config = options.config;
    this.store = new StoreHost(options.logger, (id, message) => {
      const worker = cluster.workers?.[id];
      if (worker) this.send(worker, message);
    });
    this.restarts = new Counter({
      name: 'portcullis_worker_restarts_total',
      help: 'Workers forked again: after they exited unasked, by how they ended (signal name, or exit code); reason="replaced" when the supervisor replaced one that could not swap a reload in',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    const slots = this.slots;
    new Gauge({
      name: 'portcullis_workers',
      help: 'Workers of this node serving now, and configured',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        this.set({ state: 'serving' }, slots.filter((s) => s.ready).length);
        this.set({ state: 'configured' }, slots.length);
      },
    });
  }

  /** Forks the workers; the listeners open once the first worker listens (node:cluster shares them). */
  start(): void {
    // JSON on the channel (node's default): half the CPU of structured clone for a batch of store
    // operations (bench/workers-store.ts); protocol.ts says how undefined and Infinity travel.
    // A regular file on stdout (`>> access.log`, a service manager's file) is handed to every worker,
    // which appends whole lines itself: one write() per batch of lines, atomic against the other
    // workers' on a regular file, and no relay through this process (~5 µs of its CPU a request,
    // docs/performance.md). A pipe or terminal is relayed a line at a time (line-relay.ts): a pipe
    // would split a batch larger than PIPE_BUF between writers.
    this.directStdout = stdoutIsFile();
    const execArgv = workerExecArgv(process.execArgv, process.env.NODE_OPTIONS);
    cluster.setupPrimary(this.directStdout ? { execArgv, stdio: ['ignore', 'inherit', 'pipe', 'ipc'] } : { execArgv, silent: true });
    cluster.on('message', (worker, message: unknown) => this.received(worker, message));
    cluster.on('exit', (worker, code, signal) => this.exited(worker, code, signal));
    this.rotateTickets();
    for (let i = 0; i < this.config.workers; i++) {
      this.slots.push({ index: i, worker: undefined, ready: false, version: 0, crashes: [], restart: undefined, replacing: false });
      this.fork(this.slots[i]!);
    }
    if (this.options.watch) {
      watchFile(this.options.configFile, { interval: 500, persistent: false }, (now, before) => {
        if (now.mtimeMs === before.mtimeMs && now.size === before.size) return;
        this.options.logger.info({ file: this.options.configFile }, 'config file changed; reloading');
        void this.reload(fileActor(this.options.configFile));
      });
    }
  }

  get workers(): number {
    return this.slots.length;
  }

  /** How the workers' stdout reaches this process's: written by each worker (a regular file), or relayed a line at a time. */
  get stdout(): 'direct' | 'relayed' {
    return this.directStdout ? 'direct' : 'relayed';
  }

  private fork(slot: Slot): void {
    slot.restart = undefined;
    slot.replacing = false;
    slot.ready = false;
    const worker = cluster.fork({ PORTCULLIS_WORKER_SLOT: String(slot.index) });
    slot.worker = worker;
    if (worker.process.stdout) relayLines(worker.process.stdout, process.stdout);
    relayLines(worker.process.stderr!, process.stderr);
  }

  private boot(worker: Worker, slot: Slot): void {
    this.send(worker, {
      t: 'boot',
      slot: slot.index,
      version: this.version,
      source: this.config.source,
      // One audit trail per node: the first worker keeps it.
      audit: slot.index === 0,
      tickets: this.tickets,
      deny: denyListChanges(this.denyList),
    });
  }

  private send(worker: Worker, message: ToWorker): void {
    if (worker.isConnected()) worker.send(message);
  }

  private broadcast(message: ToWorker, except?: Worker): void {
    for (const slot of this.slots) if (slot.worker && slot.worker !== except) this.send(slot.worker, message);
  }

  private slotOf(worker: Worker): Slot | undefined {
    return this.slots.find((s) => s.worker === worker);
  }

  private received(worker: Worker, message: unknown): void {
    if (isPromResponse(message)) return this.gathered(worker, message);
    if (!isOurs<FromWorker>(message)) return;
    const slot = this.slotOf(worker);
    if (!slot) return;
    switch (message.t) {
      case 'hello':
        this.boot(worker, slot);
        return;
      case 'store':
        this.store.apply(
          message.s,
          message.b,
          worker.id,
          (answer) => this.send(worker, { t: 'store-r', r: [answer] }),
          (answers) => this.send(worker, { t: 'store-r', r: answers }),
        );
        return;
      case 'pub':
        this.broadcast({ t: 'pub', channel: message.channel, message: message.message });
        return;
      case 'deny':
        applyDenyChange(this.denyList, message.change);
        this.broadcast({ t: 'deny', change: message.change }, worker);
        return;
      case 'upstream':
        // Active-check verdicts come from the prober only: another worker's would be a forgery or a bug (red team s6).
        if (message.change.what === 'checked' && slot.index !== PROBER_SLOT) return;
        this.verdicts.record(message.change);
        this.broadcast({ t: 'upstream', change: message.change }, worker);
        return;
      case 'fetch':
        if (typeof message.key === 'string' && message.key.length <= MAX_FETCH_KEY && isWant(message.want)) this.fetches.asked(worker.id, message.id, message.key, message.want);
        return;
      case 'fetched':
        this.fetches.fetched(worker.id, message.id, message.key, message.error !== undefined ? { error: String(message.error) } : { res: message.res ?? { status: 0, body: undefined } });
        return;
      case 'state-r':
        this.states.answered(slot.index, message.id, message.state);
        return;
      case 'metrics':
        void this.gather().then(
          (text) => this.send(worker, { t: 'metrics-r', id: message.id, text }),
          (err: Error) => this.send(worker, { t: 'metrics-r', id: message.id, error: err.message }),
        );
        return;
      case 'ready':
        slot.ready = true;
        slot.version = message.version;
        this.options.logger.info({ worker: slot.index, pid: worker.process.pid, version: message.version }, 'worker ready');
        for (const change of this.verdicts.all()) this.send(worker, { t: 'upstream', change });
        if (this.fleet) this.send(worker, this.fleet);
        if (!this.started && this.slots.every((s) => s.ready)) {
          this.started = true;
          this.options.onReady(message);
        }
        // Forked while a reload was being decided: it started on the config before it.
        if (message.version !== this.version) void this.catchUp(slot);
        return;
      case 'start-failed':
        this.options.logger.error({ worker: slot.index, err: message.message }, 'worker could not start');
        if (!this.started) {
          // The first start fails the same in every worker (a port in use, a file gone): the node gives up.
          this.stopping = true;
          this.options.onStartFailed(message.message, message.issues);
        }
        return;
      case 'prepared':
        this.rounds.get(message.id)?.preparedBy(slot.index);
        return;
      case 'refused':
        this.rounds.get(message.id)?.refusedBy(slot.index, message.issues);
        return;
      case 'reloaded':
        if (message.ok) slot.version = message.version ?? slot.version;
        this.rounds.get(message.id)?.reloadedBy(slot.index, message.ok, message.issues ?? []);
        return;
    }
  }

  private exited(worker: Worker, code: number | null, signal: string | null): void {
    const slot = this.slotOf(worker);
    if (!slot) return;
    slot.worker = undefined;
    slot.ready = false;
    this.fetches.exited(worker.id);
    this.store.exited(worker.id);
    // A worker gone during a reload round cannot prepare it: the round is refused (its replacement catches up).
    for (const round of this.rounds.values()) round.exited(slot.index);
    if (this.stopping) return;
    if (slot.replacing) {
      // Asked to go: a worker that could not swap a reload in, forked again on the node's config at once.
      this.restarts.inc({ reason: 'replaced' });
      this.options.logger.warn({ worker: slot.index, pid: worker.process.pid, version: this.version }, 'worker replaced: forking it again on the node\'s config');
      slot.restart = setTimeout(() => {
        if (!this.stopping) this.fork(slot);
      }, FIRST_RESTART_MS);
      return;
    }
    const now = Date.now();
    slot.crashes = [...slot.crashes.filter((t) => now - t < CRASH_WINDOW_MS), now];
    const delay = restartDelay(slot.crashes.length);
    const reason = signal ?? `exit ${code ?? 'unknown'}`;
    this.restarts.inc({ reason });
    this.options.logger.error(
      { worker: slot.index, pid: worker.process.pid, reason, restart_in_ms: delay, crashes_last_minute: slot.crashes.length },
      'worker exited unasked: forking it again',
    );
    slot.restart = setTimeout(() => {
      if (!this.stopping) this.fork(slot);
    }, delay);
  }

  /**
   * Reloads every worker, all or nothing. The supervisor validates the
   * config first (no worker sees a config that does not load); then each
   * worker prepares it and waits; only when every worker has prepared it do
   * they all swap it in. Reloads are serialised.
   */
  reload(by: AuditActor, from?: SourceText): Promise<NodeReloadResult> {
    const run = () => this.runReload(by, from);
    this.reloading = this.reloading.then(run, run);
    return this.reloading;
  }

  private async runReload(by: AuditActor, from: SourceText | undefined): Promise<NodeReloadResult> {
    const logger = this.options.logger;
    if (this.stopping) return { ok: false, issues: [{ file: this.options.configFile, line: 0, path: '(gateway)', message: 'shutting down: not reloaded' }] };
    const loaded = loadNodeConfig(from ?? this.options.configFile, this.options.env);
    if (!loaded.ok) {
      logger.error({ issues: loaded.issues.map((i) => `${i.file}:${i.line}: ${i.path}: ${i.message}`) }, 'reload refused: the running config keeps serving');
      return loaded;
    }
    if (loaded.config.workers !== this.slots.length) {
      logger.warn({ running: this.slots.length, configured: loaded.config.workers }, 'gateway.workers changed: the number of workers changes at the next start');
    }
    // A listener address the node does not hold yet is tried here first (this process binds the workers'
    // shared listeners anyway): one that cannot be bound refuses the reload before any worker prepares it.
    const unbound = await listenIssues(loaded.config.listen, loaded.config.source, { held: addressesOf(this.config.listen), admin: adminOf(this.config.listen), shared: true });
    if (unbound.length > 0) {
      logger.error({ issues: unbound.map((i) => `${i.file}:${i.line}: ${i.path}: ${i.message}`) }, 'reload refused: the running config keeps serving');
      return { ok: false, issues: unbound };
    }
    const version = this.version + 1;
    const workers = this.slots.filter((s) => s.worker && s.ready);
    const result = await this.runRound(workers, version, loaded.config.source, by);
    if (!result.committed) {
      logger.error({ issues: result.refusals.map((i) => `${i.file}:${i.line}: ${i.path}: ${i.message}`) }, 'reload refused: no worker swapped it in, the running config keeps serving');
      return { ok: false, issues: result.refusals };
    }
    if (result.failed.length === workers.length) {
      // Every worker failed at the swap (a listener that would not open after all: the address was taken
      // after it was tried) and put its old listeners back: the node runs the old config, as if refused.
      logger.error({ issues: result.failures.map((i) => `${i.file}:${i.line}: ${i.path}: ${i.message}`) }, 'reload refused: no worker could swap it in, the running config keeps serving');
      return { ok: false, issues: result.failures };
    }
    this.version = version;
    this.config = loaded.config;
    // New keys: a session ticket carries the client certificate's verification, which the new config may judge otherwise.
    this.rotateTickets();
    if (result.failed.length > 0) {
      // A worker prepared the config and then could not swap it in (a listener would not open): it is
      // replaced by one that starts on the new config, so that the node serves one version.
      logger.error({ workers: result.failed, issues: result.failures.map((i) => i.message) }, 'a worker could not swap the prepared config in: replacing it by one on the new config');
      for (const index of result.failed) {
        const slot = this.slots[index];
        if (!slot?.worker) continue;
        slot.replacing = true;
        slot.worker.kill('SIGTERM');
      }
    }
    logger.info({ version, workers: workers.length }, 'config reloaded on every worker');
    return { ok: true, version };
  }

  private async runRound(members: readonly Slot[], version: number, source: SourceText, by: AuditActor) {
    const id = this.nextRound++;
    const round = new ReloadRound(
      id,
      new Set(members.map((s) => s.index)),
      (member, commit) => {
        const worker = this.slots[member]?.worker;
        if (worker) this.send(worker, { t: commit ? 'commit' : 'abort', id });
      },
      PREPARE_TIMEOUT_MS,
      this.options.configFile,
    );
    this.rounds.set(id, round);
    for (const slot of members) this.send(slot.worker!, { t: 'prepare', id, version, source, by });
    const result = await round.result;
    this.rounds.delete(id);
    return result;
  }

  /** A worker that started on an older config than the node's: it reloads alone to the current one. */
  private async catchUp(slot: Slot): Promise<void> {
    await this.reloading;
    if (!slot.worker || !slot.ready || slot.version === this.version) return;
    const result = await this.runRound([slot], this.version, this.config.source, { kind: 'process' });
    if (!result.committed) this.options.logger.error({ worker: slot.index, issues: result.refusals.map((i) => i.message) }, 'worker could not load the node\'s config: it serves an older version');
  }

  /** New session ticket keys for every listener that issues tickets, to every worker. */
  private rotateTickets(): void {
    for (const timer of this.ticketTimers.splice(0)) clearInterval(timer);
    const keys: Record<string, string> = {};
    for (const [listener, everyMs] of this.config.tickets) {
      keys[listener] = randomBytes(48).toString('base64');
      const timer = setInterval(() => {
        this.tickets = { ...this.tickets, [listener]: randomBytes(48).toString('base64') };
        this.broadcast({ t: 'tickets', keys: this.tickets });
      }, everyMs);
      timer.unref();
      this.ticketTimers.push(timer);
    }
    this.tickets = keys;
    this.broadcast({ t: 'tickets', keys });
  }

  /** Every worker's metrics as one registry's text, and the supervisor's own after them. */
  private async gather(): Promise<string> {
    const number = this.nextGather++;
    const workers = this.slots.filter((s) => s.worker?.isConnected());
    const responses = await new Promise<MetricObjectWithValues<MetricValue<string>>[][]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.gathers.delete(number);
        reject(new Error('a worker did not send its metrics in time'));
      }, GATHER_TIMEOUT_MS);
      const entry = {
        pending: new Set(workers.map((s) => s.index)),
        responses: [] as MetricObjectWithValues<MetricValue<string>>[][],
        done: (err?: Error) => {
          clearTimeout(timer);
          this.gathers.delete(number);
          if (err) reject(err);
          else resolve(entry.responses);
        },
      };
      this.gathers.set(number, entry);
      // prom-client's own request format (the workers answer it in worker.ts).
      for (const slot of workers) slot.worker!.send({ type: 'prom-client:getMetricsReq', requestId: `portcullis:${number}` });
      if (workers.length === 0) entry.done();
    });
    for (const metrics of responses) {
      for (const metric of metrics) {
        const how = GAUGE_AGGREGATION[metric.name];
        if (how) (metric as { aggregator: string }).aggregator = how;
      }
    }
    const own = await this.registry.getMetricsAsJSON();
    return AggregatorRegistry.aggregate([...responses, own]).metrics();
  }

  private gathered(worker: Worker, message: PromResponse): void {
    const match = /^portcullis:(\d+)$/.exec(String(message.requestId));
    const entry = match ? this.gathers.get(Number(match[1])) : undefined;
    const slot = this.slotOf(worker);
    if (!entry || !slot || !entry.pending.delete(slot.index)) return;
    if (message.error) return entry.done(new Error(message.error));
    for (const registry of message.metrics ?? []) entry.responses.push(registry);
    if (entry.pending.size === 0) entry.done();
  }

  /** A data plane's control plane and running version, to every worker now and to each one that starts later. */
  fleetView(controlPlane: string, hash: string | undefined): void {
    this.fleet = { t: 'fleet', controlPlane, ...(hash ? { hash } : {}) };
    this.broadcast(this.fleet);
  }

  /** The node as one: ready when every worker serves and is ready (node-state.ts). */
  state(): Promise<NodeState> {
    return this.states.gather(this.slots.map((s) => s.index));
  }

  /** Reopens the workers' log files (SIGUSR1). */
  reopen(): void {
    this.broadcast({ t: 'reopen' });
  }

  /**
   * Drains every worker (each as one gateway does on SIGTERM: readiness 503
   * for drain_delay, then in-flight requests finish) and resolves once all
   * have exited; a worker still there after drain_delay + shutdown_timeout
   * (and a few seconds) is killed.
   */
  async shutdown(): Promise<void> {
    this.stopping = true;
    unwatchFile(this.options.configFile);
    for (const timer of this.ticketTimers.splice(0)) clearInterval(timer);
    for (const slot of this.slots) clearTimeout(slot.restart);
    const live = this.slots.map((s) => s.worker).filter((w): w is Worker => w !== undefined && !w.isDead());
    const exited = Promise.all(live.map((w) => new Promise<void>((done) => (w.isDead() ? done() : w.once('exit', () => done())))));
    for (const worker of live) this.send(worker, { t: 'shutdown' });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((done) => (timer = setTimeout(done, this.config.drainMs + 5_000)));
    await Promise.race([exited, deadline]);
    clearTimeout(timer);
    for (const worker of live) if (!worker.isDead()) worker.process.kill('SIGKILL');
    this.store.close();
    this.fetches.close();
  }

  /** Ends every worker at once (a second SIGTERM). */
  kill(): void {
    this.stopping = true;
    for (const slot of this.slots) if (slot.worker && !slot.worker.isDead()) slot.worker.process.kill('SIGKILL');
  }
}

function stdoutIsFile(): boolean {
  try {
    return fstatSync(1).isFile();
  } catch {
    return false;
  }
}

/** The longest fetch key taken ("jwks " or "discovery " and a URL). */
const MAX_FETCH_KEY = 8_192;

function isWant(want: unknown): want is FetchWant {
  const w = want as Partial<FetchWant> | null;
  return typeof w === 'object' && w !== null && typeof w.maxAgeMs === 'number' && typeof w.failMs === 'number' && (w.miss === undefined || typeof w.miss.cooldownMs === 'number') && (w.timeoutMs === undefined || typeof w.timeoutMs === 'number');
}

interface PromResponse {
  type: 'prom-client:getMetricsRes';
  requestId: unknown;
  metrics?: MetricObjectWithValues<MetricValue<string>>[][];
  error?: string;
}

function isPromResponse(message: unknown): message is PromResponse {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'prom-client:getMetricsRes';
}

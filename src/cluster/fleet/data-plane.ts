/**
 * A data plane: a gateway whose config comes from a control plane.
 *
 * It starts from the last version it applied (kept in its state_dir), so a
 * restart while the control plane is down serves as before; then it keeps
 * one long poll open to the control plane, applies each version it is given
 * through the gateway's own reload (validated; refused with its issues, the
 * running version kept), writes it to disk once it serves, and reports its
 * version, readiness and traffic counters.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Agent } from 'node:https';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { DestinationStream, Logger } from 'pino';
import { MAX_CONFIG_BYTES, parseSource, readSource, type SourceText } from '../../config/load.js';
import type { FleetConfig } from '../../config/fleet.js';
import { parseDuration } from '../../config/units.js';
import { Gateway, type ReloadResult } from '../../gateway.js';
import type { AuditActor } from '../../telemetry/audit/index.js';
import type { ConfigIssue } from '../../config/errors.js';
import { composeForNode, hashText } from './document.js';
import { gatewayState, type PlaneState } from './plane-state.js';
import { makeRequest } from './csr.js';
import { call, fleetAgent, type ClientTls } from './http.js';
import { MAX_CREDENTIALS_BYTES, PATHS, type Credentials, type NodeReport } from './protocol.js';

let software: string | undefined;
/** The package and Node versions, reported with the node's state (read once: the package does not change under a running process). */
function softwareVersion(): string {
  if (software === undefined) {
    let version = 'unknown';
    try {
      version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      // A layout without the package file next to src/ or dist/: the report says so rather than failing.
    }
    software = `portcullis ${version} on node ${process.version}`;
  }
  return software;
}

/** A poll the control plane holds longer than this is taken for a dead connection (its poll_timeout is at most 60s). */
const POLL_DEADLINE_MS = 90_000;
const CALL_TIMEOUT_MS = 10_000;
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 15_000;

export interface DataPlaneOptions {
  /** The node's local file: `fleet` (role data_plane), `listeners`, and optionally `admin`. */
  configFile: string;
  env?: NodeJS.ProcessEnv;
  logDestination?: DestinationStream;
}

/** The files of a data plane's state_dir. */
function files(stateDir: string) {
  return {
    cert: join(stateDir, 'node.crt'),
    key: join(stateDir, 'node.key'),
    lastGood: join(stateDir, 'last-good.yaml'),
    lastGoodMeta: join(stateDir, 'last-good.json'),
    running: join(stateDir, 'running.yaml'),
  };
}

/** Writes a file so that a crash leaves either the old or the new one, never half of one. */
function writeAtomically(file: string, data: string, mode = 0o600): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, file);
}

/** The state_dir a local file names, read before the gateway starts (errors are left for the gateway's load to report). */
function stateDirOf(local: SourceText, env: NodeJS.ProcessEnv): string | undefined {
  const parsed = parseSource(local, env);
  if (!parsed.ok) return undefined;
  const dir = (parsed.source.data as { fleet?: { state_dir?: unknown } } | null)?.fleet?.state_dir;
  return typeof dir === 'string' ? resolve(local.baseDir, dir) : undefined;
}

/**
 * What the fleet client drives: one gateway in this process, or a node of
 * workers through its supervisor (cluster/workers/data-plane-node.ts), whose
 * reload is all or nothing across the workers. One client per node either
 * way: one connection to the control plane, one report.
 */
export interface PlaneHost {
  readonly logger: Logger;
  /** Loads, validates and swaps in `from` (or re-reads the local file alone, when no version was ever applied). */
  reload(by: AuditActor, from?: SourceText): Promise<HostReloadResult>;
  state(): Promise<PlaneState>;
  shutdown(): Promise<void>;
  /** Told the control plane and the version running, at start and after each version applied (a node of workers shows them on every worker's admin API). */
  running?(controlPlane: string, hash: string | undefined): void;
}

/** `transient`: refused by the node's state (a worker exiting or still starting), not by the config: the version is tried again. */
export type HostReloadResult = ReloadResult | { ok: false; issues: ConfigIssue[]; transient: true };

/** The start of a data plane, read before its gateway or workers start: the document to start from. */
export interface PlaneStart {
  readonly local: SourceText;
  readonly stateDir: string | undefined;
  /** The last good version composed with the local file (state_dir/running.yaml), or none: start from the local file. */
  readonly source: SourceText | undefined;
  /** The hash of that last good version. */
  readonly running: string | undefined;
}

/** Reads the local file and the last good version on disk, and writes the document the node starts from. */
export function planeStart(configFile: string, env: NodeJS.ProcessEnv): PlaneStart {
  const local = readSource(configFile);
  const stateDir = stateDirOf(local, env);
  let source: SourceText | undefined;
  let running: string | undefined;
  if (stateDir) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const f = files(stateDir);
    if (existsSync(f.lastGood)) {
      const pushed = readFileSync(f.lastGood, 'utf8');
      const text = composeForNode(pushed, local.text);
      writeAtomically(f.running, text);
      source = { file: f.running, text, baseDir: local.baseDir };
      running = hashText(pushed);
    }
  }
  return { local, stateDir, source, running };
}

/** The host of a data plane that runs one gateway in this process. */
function gatewayHost(gateway: Gateway): PlaneHost {
  return {
    logger: gateway.logger,
    reload: (by, from) => gateway.reload(by, from),
    state: () => gatewayState(gateway),
    shutdown: () => gateway.shutdown(),
  };
}

/** A data plane that runs its gateway in this process (DataPlane.start). */
export type GatewayPlane = DataPlane & { readonly gateway: Gateway };

export class DataPlane {
  /** The gateway, when the node is one process (DataPlane.start); a node of workers has none here. */
  gateway: Gateway | undefined;
  /** The hash of the pushed version running now, when one is. */
  running: string | undefined;
  /** Config requests made since start: what a test reads to see the poll wait rather than spin. */
  polls = 0;
  /** The last version refused, with its issues (reported, and not tried again). */
  private refused: { hash: string; issues: string[] } | undefined;
  private tls: ClientTls;
  private agent: Agent;
  private stopped = false;
  private swapping = false;
  private reportTimer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private lastProblem: string | undefined;
  private readonly startedAt = new Date().toISOString();
  private readonly base: URL;

  private constructor(
    private readonly host: PlaneHost,
    private local: SourceText,
    private readonly settings: FleetConfig,
    private readonly stateDir: string,
    running: string | undefined,
  ) {
    this.running = running;
    const f = files(stateDir);
    const ca = readFileSync(resolve(local.baseDir, settings.ca!.cert), 'utf8');
    this.tls = existsSync(f.cert) && existsSync(f.key) ? { ca, cert: readFileSync(f.cert, 'utf8'), key: readFileSync(f.key, 'utf8') } : { ca };
    this.agent = fleetAgent(this.tls);
    this.base = new URL(settings.control_plane!);
  }

  /**
   * Starts the gateway from the last good version (or, on a first start,
   * from the local file alone: it then serves its listeners with no route
   * until the first version arrives), and begins syncing.
   */
  static async start(options: DataPlaneOptions): Promise<GatewayPlane> {
    const env = options.env ?? process.env;
    const begin = planeStart(options.configFile, env);
    const gateway = await Gateway.start({ configFile: options.configFile, source: begin.source, env, logDestination: options.logDestination, watch: false });
    let plane: DataPlane;
    try {
      plane = DataPlane.follow(gatewayHost(gateway), begin, gateway.snapshot.config.fleet, options.configFile);
    } catch (err) {
      await gateway.shutdown({ quiet: true });
      throw err;
    }
    gateway.fleetView = { role: 'data_plane', controlPlane: plane.base.origin, current: () => (plane.running ? { hash: plane.running } : {}), nodes: () => [] };
    return Object.assign(plane, { gateway });
  }

  /**
   * Begins syncing a node that already serves `begin`'s document: the one
   * client of the node (its long poll, its reports, its certificate).
   * `settings`: the running config's fleet section.
   */
  static follow(host: PlaneHost, begin: PlaneStart, settings: FleetConfig, configFile: string): DataPlane {
    if (settings.role !== 'data_plane' || !begin.stateDir) throw new Error(`${configFile}: fleet.role is not data_plane`);
    const plane = new DataPlane(host, begin.local, settings, begin.stateDir, begin.running);
    if (begin.running) host.logger.info({ hash: begin.running.slice(0, 12) }, 'fleet: started from the last good config version on disk');
    host.running?.(plane.base.origin, plane.running);
    plane.loop = plane.sync();
    const every = parseDuration(settings.report_interval);
    plane.reportTimer = setInterval(() => void plane.tick(), every);
    plane.reportTimer.unref();
    return plane;
  }

  /**
   * Re-reads the local file (its listeners, admin, fleet) and applies it with
   * the running version: what SIGHUP does on a data plane (a plain reload
   * would read the local file alone and drop the pushed config).
   */
  async reloadLocal(): Promise<ReloadResult> {
    const by = { kind: 'signal', signal: 'SIGHUP' } as const;
    try {
      this.local = readSource(this.local.file);
    } catch (err) {
      return { ok: false, issues: [{ file: this.local.file, line: 0, path: '(file)', message: (err as Error).message }] };
    }
    const f = files(this.stateDir);
    const refusedBefore = this.refused;
    const result = existsSync(f.lastGood) ? await this.apply(readFileSync(f.lastGood, 'utf8'), by) : await this.host.reload(by);
    // A version refused before may run with the new local sections: ask for it again.
    if (result.ok && refusedBefore) {
      this.refused = undefined;
      this.reconnect();
    } else if (!result.ok && refusedBefore) {
      // The local file does not fit: keep waiting past the pushed version refused before, not past the one running.
      this.refused = refusedBefore;
    }
    return result;
  }

  /** One long poll after another, for as long as the node runs. */
  private async sync(): Promise<void> {
    let backoff = BACKOFF_MIN_MS;
    while (!this.stopped) {
      try {
        if (!this.tls.cert) await this.enrol();
        this.polls++;
        const answer = await call(this.agent, this.base, 'GET', PATHS.config, {
          // The latest version seen: a refused one is not asked for again until the control plane has another.
          headers: (this.refused?.hash ?? this.running) ? { 'if-none-match': `"${this.refused?.hash ?? this.running}"` } : {},
          timeoutMs: POLL_DEADLINE_MS,
          limit: MAX_CONFIG_BYTES,
        });
        if (answer.status === 200) {
          const text = answer.body.toString('utf8');
          const hash = hashText(text);
          if (answer.headers.etag !== `"${hash}"`) throw new Error('the pushed config does not match its ETag');
          // Back to the version running here (a rollback past a refused one): nothing to apply, and nothing refused is pending.
          if (hash === this.running) this.refused = undefined;
          else if (hash !== this.refused?.hash) {
            const applied = await this.apply(text, { kind: 'process', name: 'control plane' });
            // Not refused for good: polled again (at once, as the version is not running) after the backoff.
            if (!applied.ok && 'transient' in applied) throw new Error(`the node could not apply version ${hash.slice(0, 12)} now (${applied.issues.map((i) => i.message).join('; ')}); trying again`);
          }
        } else if (answer.status !== 304) {
          throw new Error(`the control plane answered ${answer.status}: ${answer.body.toString('utf8').slice(0, 200)}`);
        }
        this.recovered();
        this.swapping = false;
        backoff = BACKOFF_MIN_MS;
      } catch (err) {
        if (this.stopped) break;
        if (this.swapping) {
          this.swapping = false;
          continue;
        }
        this.problem((err as Error).message);
        await new Promise((done) => setTimeout(done, backoff).unref());
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      }
    }
  }

  /** Logs a sync problem once, not once per retry. */
  private problem(message: string): void {
    if (message === this.lastProblem) return;
    this.lastProblem = message;
    this.host.logger.warn({ err: message, control_plane: this.base.origin }, 'fleet: control plane unreachable or refusing; the running config keeps serving');
  }

  private recovered(): void {
    if (this.lastProblem === undefined) return;
    this.lastProblem = undefined;
    this.host.logger.info({ control_plane: this.base.origin }, 'fleet: control plane reached again');
  }

  /** Applies a pushed version: the gateway validates it; a refusal keeps the running one and is reported. */
  private async apply(pushed: string, by: AuditActor): Promise<HostReloadResult> {
    const hash = hashText(pushed);
    const f = files(this.stateDir);
    let result: HostReloadResult;
    let text: string | undefined;
    try {
      text = composeForNode(pushed, this.local.text);
      result = await this.host.reload(by, { file: f.running, text, baseDir: this.local.baseDir });
    } catch (err) {
      result = { ok: false, issues: [{ file: f.running, line: 0, path: '(fleet)', message: (err as Error).message }] };
    }
    if (result.ok && text !== undefined) {
      // Written once it serves: what is on disk is always a version this node ran.
      writeAtomically(f.lastGood, pushed);
      writeAtomically(f.lastGoodMeta, JSON.stringify({ hash, applied_at: new Date().toISOString(), gateway_version: result.version }) + '\n');
      writeAtomically(f.running, text);
      this.running = hash;
      this.refused = undefined;
      this.host.running?.(this.base.origin, hash);
      this.host.logger.info({ hash: hash.slice(0, 12), version: result.version }, 'fleet: applied a config version from the control plane');
    } else if (!result.ok && !('transient' in result)) {
      const issues = result.issues.map((i) => `${i.file}:${i.line}: ${i.path}: ${i.message}`);
      this.refused = { hash, issues };
      this.host.logger.error({ hash: hash.slice(0, 12), issues }, 'fleet: refused a config version from the control plane; the running one keeps serving');
    }
    void this.report();
    return result;
  }

  private async enrol(): Promise<void> {
    const token = this.settings.enrolment_token;
    if (!token) throw new Error('no node certificate in state_dir and no fleet.enrolment_token to enrol with');
    const name = this.nodeName();
    const request = await makeRequest(name);
    const answer = await call(this.agent, this.base, 'POST', PATHS.enrol, {
      body: JSON.stringify({ token, name, csr: request.csrPem }),
      timeoutMs: CALL_TIMEOUT_MS,
      limit: MAX_CREDENTIALS_BYTES,
    });
    if (answer.status !== 200) throw new Error(`enrolment refused (${answer.status}): ${answer.body.toString('utf8').slice(0, 200)}`);
    this.store(JSON.parse(answer.body.toString('utf8')) as Credentials, request.keyPem);
    this.host.logger.info({ node: name }, 'fleet: enrolled with the control plane');
  }

  private nodeName(): string {
    return this.settings.name ?? (hostname().replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64) || 'node');
  }

  /** Keeps a new certificate and its key (0600) and uses them for the next connection. */
  private store(credentials: Credentials, keyPem: string): void {
    const f = files(this.stateDir);
    // Refuse what is not a certificate of our key before it replaces a working one.
    if (!new X509Certificate(credentials.cert).checkPrivateKey(createPrivateKey(keyPem))) throw new Error('the control plane answered a certificate for another key');
    writeAtomically(f.key, keyPem);
    writeAtomically(f.cert, credentials.cert, 0o644);
    this.tls = { ca: this.tls.ca, cert: credentials.cert, key: keyPem };
    this.reconnect();
  }

  /** Ends the poll in progress and polls again at once, on new connections (new credentials, or a refusal forgotten). */
  private reconnect(): void {
    const old = this.agent;
    this.agent = fleetAgent(this.tls);
    this.swapping = true;
    old.destroy();
  }

  /** Reports, and renews the node certificate past two thirds of its life. */
  private async tick(): Promise<void> {
    await this.report();
    if (!this.tls.cert) return;
    try {
      const cert = new X509Certificate(this.tls.cert);
      const from = Date.parse(cert.validFrom);
      const to = Date.parse(cert.validTo);
      if (Date.now() < from + ((to - from) * 2) / 3) return;
      const request = await makeRequest(this.nodeName());
      const answer = await call(this.agent, this.base, 'POST', PATHS.renew, { body: JSON.stringify({ csr: request.csrPem }), timeoutMs: CALL_TIMEOUT_MS, limit: MAX_CREDENTIALS_BYTES });
      if (answer.status !== 200) throw new Error(`renewal refused (${answer.status})`);
      this.store(JSON.parse(answer.body.toString('utf8')) as Credentials, request.keyPem);
      this.host.logger.info('fleet: node certificate renewed');
    } catch (err) {
      this.host.logger.warn({ err: (err as Error).message }, 'fleet: node certificate renewal failed; tried again at the next report');
    }
  }

  /** The node's state, sent to the control plane (at report_interval and after each version). */
  async report(): Promise<void> {
    if (this.stopped || !this.tls.cert) return;
    const state = await this.host.state();
    const body: NodeReport = {
      ...(this.running ? { hash: this.running } : {}),
      version: state.version,
      ready: state.ready,
      reasons: state.reasons,
      requests: state.requests,
      ...(this.refused ? { refused: this.refused } : {}),
      started_at: this.startedAt,
      software: softwareVersion(),
    };
    try {
      await call(this.agent, this.base, 'POST', PATHS.report, { body: JSON.stringify(body), timeoutMs: CALL_TIMEOUT_MS, limit: 4096 });
    } catch {
      // The poll loop says when the control plane is away; reports are simply sent again later.
    }
  }

  /** Stops syncing and reporting; the node keeps running (stop it with shutdown()). */
  async stopSync(): Promise<void> {
    this.stopped = true;
    clearInterval(this.reportTimer);
    this.agent.destroy();
    await this.loop;
  }

  async shutdown(): Promise<void> {
    await this.stopSync();
    await this.host.shutdown();
  }
}

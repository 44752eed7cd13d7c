/**
 * Keeps the admin listener and the metrics in line with the config: opens,
 * moves or closes the listener (admin.address), creates or drops the metrics
 * (telemetry.metrics), at start and on each reload. The gateway calls
 * reconcile() and close(); routes hang on the AdminServer, so the admin API
 * (issue 17) adds its own beside /metrics and the probes (/healthz, /livez,
 * /readyz).
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { metricsEnabled } from '../config/telemetry/metrics.js';
import type { Telemetry } from '../telemetry/hub.js';
import { GatewayMetrics, type MetricsSettings, type ScrapeSources } from '../telemetry/metrics/index.js';
import type { SourceText } from '../config/load.js';
import type { AuditActor } from '../telemetry/audit/index.js';
import { AdminServer, answer, type AdminTls } from './server.js';
import type { AdminTlsConfig } from '../config/admin.js';
import { metricsRoute } from './metrics-route.js';
import { AdminApi, type GatewayLink } from './api/index.js';
import { openApiDocument, type PlainRoute } from './api/openapi.js';
import { API_ROUTES } from './api/table.js';
import { dashboardRoutes } from './dashboard-route.js';

export interface AdminDeps {
  readonly telemetry: Telemetry;
  readonly sources: ScrapeSources;
  readonly logger: Logger;
  /** The store registry's round-trip reporting (stores/registry.ts). */
  readonly storeTiming: (observe: ((kind: string, seconds: number) => void) | undefined) => void;
  /** The gateway's readiness (src/readiness.ts), for /readyz; what is not ready is said here, never on a traffic listener. */
  readonly readiness?: () => Promise<{ readonly ready: boolean; readonly status: string; readonly checks: object }>;
  /** What the admin API reads and changes of the gateway (admin.api). */
  readonly link?: GatewayLink;
}

/** The listener's routes outside the API table, as the OpenAPI document describes them. */
const PLAIN_ROUTES: readonly PlainRoute[] = [
  { method: 'GET', path: '/healthz', summary: 'Liveness (kept for probes written before /livez)', type: 'application/json', auth: 'none' },
  { method: 'GET', path: '/livez', summary: 'Liveness: the process answers', type: 'application/json', auth: 'none' },
  { method: 'GET', path: '/readyz', summary: 'Readiness: 503 while draining or while the store or a provider is missing', type: 'application/json', auth: 'none' },
  { method: 'GET', path: '/metrics', summary: 'Prometheus metrics (admin.metrics_token when set)', type: 'text/plain', auth: 'metrics-token' },
  { method: 'GET', path: '/openapi.json', summary: 'This document', type: 'application/json', auth: 'none' },
  ...dashboardRoutes.map((d) => ({ method: 'GET' as const, path: d.path, summary: d.summary, type: d.type, auth: 'none' as const })),
];

export class AdminControl {
  private server: AdminServer | undefined;
  /** Hex SHA-256 of the metrics token, when one is required. */
  private tokenDigest: string | undefined;
  /** The admin API, when admin.api is configured. */
  private api: AdminApi | undefined;
  private apiConfig = '';
  private dashboard = false;

  constructor(private readonly deps: AdminDeps) {}

  /** The admin listener's base URL, when it is open. */
  get url(): string | undefined {
    return this.server?.url;
  }

  /**
   * Applies `config`: the listener first (the one step that can fail: a
   * reload is then refused and nothing changed here), then the metrics.
   */
  async reconcile(config: Config): Promise<void> {
    const admin = config.admin;
    const tls = admin?.tls && readTls(admin.tls);
    if (admin === undefined) {
      await this.closeServer();
    } else if (this.server?.address !== admin.address || this.server.secure !== (tls !== undefined) || this.server.asksForCertificates !== (tls?.ca !== undefined)) {
      // The same address from HTTP to HTTPS (or back), or client certificates asked for or no longer:
      // a new listener, and the old one must let go of the port first.
      if (this.server?.address === admin.address) await this.closeServer();
      const next = await AdminServer.open(admin.address, this.deps.logger, tls);
      this.addRoutes(next);
      await this.closeServer();
      this.server = next;
      this.deps.logger.info({ url: next.url }, 'admin listener open');
    } else if (tls) {
      // Read again at every reload: a renewed certificate on disk is served from then on.
      this.server.updateTls(tls);
    }
    this.tokenDigest = admin?.metrics_token_sha256?.toLowerCase();
    this.reconcileApi(config);
    this.reconcileMetrics(config);
  }

  async close(): Promise<void> {
    await this.closeServer();
    this.api?.close();
    this.api = undefined;
    this.dropMetrics();
  }

  /** Every route the listener serves, as `METHOD path` (for the OpenAPI test). */
  served(): string[] {
    return this.server?.served() ?? [];
  }

  /** The OpenAPI document of the listener. */
  openApi(): Record<string, unknown> {
    return openApiDocument(API_ROUTES, PLAIN_ROUTES, '1');
  }

  /** A config started or was swapped in: the API stores it as a version. */
  applied(source: SourceText, actor: AuditActor): void {
    this.api?.applied(source, actor);
  }

  /** What a reload that reads the file runs instead (source_of_truth: api), or undefined: the file. */
  fileSource(): SourceText | undefined {
    return this.api?.fileSource();
  }

  private reconcileApi(config: Config): void {
    const api = config.admin?.api;
    this.dashboard = api?.dashboard ?? false;
    const text = JSON.stringify(api ?? null);
    if (text === this.apiConfig && (this.api !== undefined) === (api !== undefined)) return;
    const previous = this.api;
    this.api = api && this.deps.link ? new AdminApi(this.deps.link, api, this.deps.logger, previous) : undefined;
    previous?.close();
    this.apiConfig = text;
  }

  private addRoutes(server: AdminServer): void {
    // Liveness: the process answers. /healthz is kept for probes written before /livez existed.
    const alive: Parameters<AdminServer['route']>[2] = (_req, res) => answer(res, 200, { status: 'ok' });
    server.route('GET', '/healthz', alive);
    server.route('GET', '/livez', alive);
    server.route('GET', '/readyz', async (_req, res) => {
      const readiness = this.deps.readiness;
      if (!readiness) return answer(res, 200, { status: 'ok' });
      const report = await readiness();
      answer(res, report.ready ? 200 : 503, { status: report.status, checks: report.checks });
    });
    server.route('GET', '/openapi.json', (_req, res) => answer(res, 200, this.openApi()));
    for (const d of dashboardRoutes) server.route('GET', d.path, (req, res) => (this.dashboard ? d.serve(req, res) : answer(res, 404, { error: 'not_found' })));
    AdminApi.mount(server, () => this.api);
    server.route(
      'GET',
      '/metrics',
      metricsRoute(
        () => this.deps.telemetry.metrics,
        () => this.tokenDigest,
      ),
    );
  }

  private reconcileMetrics(config: Config): void {
    const telemetry = this.deps.telemetry;
    if (!metricsEnabled(config)) {
      this.dropMetrics();
      return;
    }
    const m = config.telemetry.metrics;
    const settings: MetricsSettings = { latencyBuckets: m.latency_buckets, consumerLabels: m.consumer_labels };
    const current = telemetry.metrics;
    if (current && sameNumbers(current.buckets, settings.latencyBuckets)) {
      current.configure(settings);
      return;
    }
    // New buckets cannot be mixed into the old histograms: the metrics start over.
    this.dropMetrics();
    const metrics = new GatewayMetrics(settings, this.deps.sources, telemetry.events);
    telemetry.metrics = metrics;
    this.deps.storeTiming((kind, seconds) => metrics.storeOperation(kind, seconds));
  }

  private dropMetrics(): void {
    const telemetry = this.deps.telemetry;
    telemetry.metrics?.close();
    telemetry.metrics = undefined;
    this.deps.storeTiming(undefined);
  }

  private async closeServer(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await server?.close();
  }
}

/** admin.tls as PEM text (the snapshot holds absolute paths; checkAdminTls tried them at load). */
function readTls(tls: AdminTlsConfig): AdminTls {
  return {
    cert: readFileSync(tls.cert, 'utf8'),
    key: readFileSync(tls.key, 'utf8'),
    ...(tls.passphrase === undefined ? {} : { passphrase: tls.passphrase }),
    ...(tls.client_ca === undefined ? {} : { ca: readFileSync(tls.client_ca, 'utf8') }),
    minVersion: tls.min_version,
  };
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

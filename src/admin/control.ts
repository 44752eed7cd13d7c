/**
 * Keeps the admin listener and the metrics in line with the config: opens,
 * moves or closes the listener (admin.address), creates or drops the metrics
 * (telemetry.metrics), at start and on each reload. The gateway calls
 * reconcile() and close(); routes hang on the AdminServer, so the admin API
 * (issue 17) adds its own beside /metrics and the probes (/healthz, /livez,
 * /readyz).
 */
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { metricsEnabled } from '../config/telemetry/metrics.js';
import type { Telemetry } from '../telemetry/hub.js';
import { GatewayMetrics, type MetricsSettings, type ScrapeSources } from '../telemetry/metrics/index.js';
import { AdminServer, answer } from './server.js';
import { metricsRoute } from './metrics-route.js';

export interface AdminDeps {
  readonly telemetry: Telemetry;
  readonly sources: ScrapeSources;
  readonly logger: Logger;
  /** The store registry's round-trip reporting (stores/registry.ts). */
  readonly storeTiming: (observe: ((kind: string, seconds: number) => void) | undefined) => void;
  /** The gateway's readiness (src/readiness.ts), for /readyz; what is not ready is said here, never on a traffic listener. */
  readonly readiness?: () => Promise<{ readonly ready: boolean; readonly status: string; readonly checks: object }>;
  /** More routes on the admin listener (automatic defense's /defense/actions). */
  readonly routes?: (server: AdminServer) => void;
}

export class AdminControl {
  private server: AdminServer | undefined;
  /** Hex SHA-256 of the metrics token, when one is required. */
  private tokenDigest: string | undefined;

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
    if (admin === undefined) {
      await this.closeServer();
    } else if (this.server?.address !== admin.address) {
      const next = await AdminServer.open(admin.address, this.deps.logger);
      this.addRoutes(next);
      await this.closeServer();
      this.server = next;
      this.deps.logger.info({ url: next.url }, 'admin listener open');
    }
    this.tokenDigest = admin?.metrics_token_sha256?.toLowerCase();
    this.reconcileMetrics(config);
  }

  async close(): Promise<void> {
    await this.closeServer();
    this.dropMetrics();
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
    server.route(
      'GET',
      '/metrics',
      metricsRoute(
        () => this.deps.telemetry.metrics,
        () => this.tokenDigest,
      ),
    );
    this.deps.routes?.(server);
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

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The gateway's Prometheus metrics: one prom-client Registry of its own (not
 * prom-client's global one), the families the request path feeds (through
 * pre-resolved per-route cells: route-cells.ts), those counted from the event
 * bus (events.ts), those read at scrape time (scrape.ts), and Node's default
 * process metrics. The admin listener serves render().
 *
 * Created when metrics are on (telemetry.metrics, on by default with an admin
 * listener) and hung on the Telemetry hub; when off there is no object, and
 * the request path pays one property read.
 */
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';
import type { RequestContext } from '../../pipeline/context.js';
import type { EventBus } from '../event.js';
import { EventCounters } from './events.js';
import { CellHistogram, HistogramCell } from './histogram.js';
import { ConsumerTable, METHODS, methodIndex, RouteTable, STATUS_CLASSES, statusClassIndex } from './route-cells.js';
import { registerScrapeFamilies } from './scrape.js';
import type { ScrapeSources } from './sources.js';

export type { ScrapeSources } from './sources.js';

export interface MetricsSettings {
  readonly latencyBuckets: readonly number[];
  readonly consumerLabels: { readonly enabled: boolean; readonly max: number };
}

/** State store round trips (Redis), in seconds. */
const STORE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly buckets: readonly number[];
  private readonly routes: RouteTable;
  private consumers: ConsumerTable | undefined;
  private readonly storeCells = new Map<string, HistogramCell>();
  private readonly reloads: Counter<'outcome'>;
  private readonly unsubscribe: () => void;

  constructor(settings: MetricsSettings, sources: ScrapeSources, bus: EventBus) {
    this.buckets = [...settings.latencyBuckets];
    this.routes = new RouteTable(this.buckets);
    this.configure(settings);
    const registry = this.registry;
    const routes = this.routes;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client binds `this` in collect() to the metric
    const self = this;

    new Counter({
      name: 'portcullis_requests_total',
      help: 'Requests answered, by route, service, method and status class; route="_none" for requests that matched no route',
      labelNames: ['route', 'service', 'method', 'status_class'],
      registers: [registry],
      collect() {
        this.reset();
        for (const cells of routes.cells()) {
          const counts = cells.requests;
          for (let m = 0; m < METHODS.length; m++) {
            for (let c = 0; c < STATUS_CLASSES.length; c++) {
              const n = counts[m * STATUS_CLASSES.length + c]!;
              if (n > 0) this.inc({ route: cells.route, service: cells.service, method: METHODS[m], status_class: STATUS_CLASSES[c] }, n);
            }
          }
        }
      },
    });
    const perRoute = (name: string, help: string, read: (cells: ReturnType<RouteTable['cellsFor']>) => number) =>
      new Counter({
        name,
        help,
        labelNames: ['route', 'service'],
        registers: [registry],
        collect() {
          this.reset();
          for (const cells of routes.cells()) {
            const n = read(cells);
            if (n > 0) this.inc(cells.labels, n);
          }
        },
      });
    perRoute('portcullis_request_bytes_total', 'Request body bytes received and forwarded, by route (declared or read lengths; WebSocket bytes from the client)', (c) => c.requestBytes);
    perRoute('portcullis_response_bytes_total', 'Response body bytes sent to clients, by route (WebSocket bytes to the client included)', (c) => c.responseBytes);
    perRoute('portcullis_upstream_retries_total', 'Upstream attempts retried on another target (or the same one), by route and service', (c) => c.retries);

    new CellHistogram(
      { name: 'portcullis_request_duration_seconds', help: 'Time from the request\'s arrival to the end of its response, by route', labelNames: ['route', 'service'], buckets: this.buckets, registry },
      function* () {
        for (const cells of routes.cells()) yield cells.duration;
      },
    );
    new CellHistogram(
      { name: 'portcullis_upstream_duration_seconds', help: 'Time from the first upstream attempt to the upstream\'s response head (retries included), by route', labelNames: ['route', 'service'], buckets: this.buckets, registry },
      function* () {
        for (const cells of routes.cells()) yield cells.upstream;
      },
    );
    new CellHistogram(
      { name: 'portcullis_store_operation_duration_seconds', help: 'Round trips to the Redis state store that it answered', labelNames: ['store'], buckets: STORE_BUCKETS, registry },
      () => this.storeCells.values(),
    );
    new Counter({
      name: 'portcullis_consumer_requests_total',
      help: 'Requests by consumer and status class, when telemetry.metrics.consumer_labels is on (capped: later names count as "_other"; no consumer is "_none")',
      labelNames: ['consumer', 'status_class'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [consumer, counts] of self.consumers?.entries() ?? []) {
          for (let c = 0; c < counts.length; c++) if (counts[c]! > 0) this.inc({ consumer, status_class: STATUS_CLASSES[c] }, counts[c]);
        }
      },
    });
    this.reloads = new Counter({
      name: 'portcullis_config_reloads_total',
      help: 'Config reloads by outcome: success (swapped in) or failure (refused; the running config kept serving)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.reloads.inc({ outcome: 'success' }, 0);
    this.reloads.inc({ outcome: 'failure' }, 0);

    const events = new EventCounters(registry);
    this.unsubscribe = bus.subscribe(events.listener);
    registerScrapeFamilies(registry, sources);
    collectDefaultMetrics({ register: registry });
  }

  /** Consumer labels may be switched on, off or recapped by a reload; counts kept so far stay. */
  configure(settings: MetricsSettings): void {
    if (!settings.consumerLabels.enabled) this.consumers = undefined;
    else if (this.consumers) this.consumers.max = settings.consumerLabels.max;
    else this.consumers = new ConsumerTable(settings.consumerLabels.max);
  }

  /** The request path: called once per request when its response is over. Allocates nothing. */
  requestEnded(ctx: RequestContext, status: number): void {
    const cells = this.routes.cellsFor(ctx.routeName, ctx.serviceName);
    const statusClass = statusClassIndex(status);
    cells.requests[methodIndex(ctx.method) * STATUS_CLASSES.length + statusClass]!++;
    cells.duration.observe((performance.now() - ctx.startTime) / 1000);
    if (ctx.upstreamLatencyMs >= 0) cells.upstream.observe(ctx.upstreamLatencyMs / 1000);
    cells.responseBytes += ctx.bytesSent;
    cells.requestBytes += ctx.bytesReceived + requestBodyBytes(ctx);
    if (ctx.upstreamRetries > 0) cells.retries += ctx.upstreamRetries;
    this.consumers?.add(ctx.consumer?.name, statusClass);
  }

  /** A reload ended: swapped in, or refused. */
  reloaded(ok: boolean): void {
    this.reloads.inc({ outcome: ok ? 'success' : 'failure' });
  }

  /** A state store round trip that was answered (stores/ reports it). */
  storeOperation(kind: string, seconds: number): void {
    let cell = this.storeCells.get(kind);
    if (cell === undefined) {
      cell = new HistogramCell(STORE_BUCKETS, { store: kind });
      this.storeCells.set(kind, cell);
    }
    cell.observe(seconds);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Set in a cluster worker: /metrics answers for every worker of the node,
   * gathered by the supervisor (src/cluster/workers/metrics.ts), not for the
   * worker that happened to take the scrape.
   */
  static gather: ((own: GatewayMetrics) => Promise<string>) | undefined = undefined;

  render(): Promise<string> {
    return GatewayMetrics.gather ? GatewayMetrics.gather(this) : this.registry.metrics();
  }

  close(): void {
    this.unsubscribe();
  }
}

/**
 * The request body as the gateway forwarded it: what a policy read, else the
 * declared Content-Length once the request went upstream. A chunked body
 * streamed straight through is not counted (counting it would mean reading it).
 */
function requestBodyBytes(ctx: RequestContext): number {
  if (ctx.bufferedBody !== undefined) return ctx.bufferedBody.length;
  if (ctx.upstreamTarget === undefined) return 0;
  const declared = ctx.headers['content-length'];
  if (declared === undefined) return 0;
  const n = Number(declared);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

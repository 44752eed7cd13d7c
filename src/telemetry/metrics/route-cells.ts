/**
 * The per-request counters, resolved once per route: a route's cells are
 * found by its name (a string from the config, so the lookup hashes nothing
 * new) and every later request of that route adds to plain numbers. Nothing
 * is allocated per request. Labels are bounded by the config: route and
 * service names, a fixed list of methods and five status classes; requests
 * that matched no route count under route="_none".
 */
import { HistogramCell } from './histogram.js';

export const NONE = '_none';
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE', 'OTHER'] as const;
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** Routes renamed over many reloads leave their series behind; past this many, new ones share one. */
const MAX_ROUTE_CELLS = 10_000;

export function methodIndex(method: string): number {
  switch (method) {
    case 'GET':
      return 0;
    case 'HEAD':
      return 1;
    case 'POST':
      return 2;
    case 'PUT':
      return 3;
    case 'PATCH':
      return 4;
    case 'DELETE':
      return 5;
    case 'OPTIONS':
      return 6;
    case 'CONNECT':
      return 7;
    case 'TRACE':
      return 8;
    default:
      return 9;
  }
}

/** 0 for 1xx … 4 for 5xx; anything outside 100-599 counts as 5xx. */
export function statusClassIndex(status: number): number {
  const c = (status / 100) | 0;
  return c >= 1 && c <= 5 ? c - 1 : 4;
}

export class RouteCells {
  /** [method × status class] request counts. */
  readonly requests = new Float64Array(METHODS.length * STATUS_CLASSES.length);
  requestBytes = 0;
  responseBytes = 0;
  retries = 0;
  readonly duration: HistogramCell;
  readonly upstream: HistogramCell;
  readonly labels: Readonly<Record<string, string>>;

  constructor(
    readonly route: string,
    readonly service: string,
    bounds: readonly number[],
  ) {
    this.labels = { route, service };
    this.duration = new HistogramCell(bounds, this.labels);
    this.upstream = new HistogramCell(bounds, this.labels);
  }
}

export class RouteTable {
  /** The cells last used for a route name: the fast path. */
  private readonly byRoute = new Map<string, RouteCells>();
  /** Every route × service seen, so a reload that moves a route keeps both series. */
  private readonly all = new Map<string, RouteCells>();
  private readonly none: RouteCells;
  private overflow: RouteCells | undefined;

  constructor(private readonly bounds: readonly number[]) {
    this.none = new RouteCells(NONE, NONE, bounds);
    this.all.set(`${NONE}\n${NONE}`, this.none);
  }

  cellsFor(route: string | undefined, service: string | undefined): RouteCells {
    if (route === undefined) return this.none;
    const cells = this.byRoute.get(route);
    if (cells !== undefined && cells.service === service) return cells;
    return this.slowCellsFor(route, service ?? NONE);
  }

  cells(): Iterable<RouteCells> {
    return this.all.values();
  }

  private slowCellsFor(route: string, service: string): RouteCells {
    const key = `${route}\n${service}`;
    let cells = this.all.get(key);
    if (cells === undefined) {
      if (this.all.size >= MAX_ROUTE_CELLS) {
        this.overflow ??= new RouteCells('_other', '_other', this.bounds);
        this.all.set('_other\n_other', this.overflow);
        return this.overflow;
      }
      cells = new RouteCells(route, service, this.bounds);
      this.all.set(key, cells);
    }
    if (this.byRoute.size < MAX_ROUTE_CELLS) this.byRoute.set(route, cells);
    return cells;
  }
}

/**
 * Requests per consumer (only when telemetry.metrics.consumer_labels is on).
 * Consumer names can come from an identity provider, so they are capped: the
 * first `max` names seen get a series each, later ones count under "_other";
 * requests without a consumer count under "_none".
 */
export class ConsumerTable {
  private readonly byName = new Map<string, Float64Array>();
  private named = 0;

  constructor(public max: number) {}

  add(consumer: string | undefined, statusClass: number): void {
    const name = consumer ?? NONE;
    let counts = this.byName.get(name);
    if (counts === undefined) counts = this.create(name, consumer !== undefined);
    counts[statusClass]!++;
  }

  entries(): Iterable<[string, Float64Array]> {
    return this.byName.entries();
  }

  private create(name: string, isConsumer: boolean): Float64Array {
    let key = name;
    if (isConsumer) {
      if (this.named >= this.max) key = '_other';
      else this.named++;
    }
    let counts = this.byName.get(key);
    if (counts === undefined) {
      counts = new Float64Array(STATUS_CLASSES.length);
      this.byName.set(key, counts);
    }
    return counts;
  }
}

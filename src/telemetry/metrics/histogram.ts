/**
 * Histograms the request path can afford. prom-client's Histogram builds a
 * label hash and validates labels on every observe() (about a microsecond);
 * here each label set gets a cell once (plain numbers in a typed array) and
 * observe() is a short scan of the bounds and three additions. At scrape time
 * CellHistogram hands the cells to prom-client's registry in its own format,
 * so the text exposition is prom-client's.
 */
import { Histogram, type Registry } from 'prom-client';

export class HistogramCell {
  /** Per bucket, not cumulative; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly bounds: readonly number[],
    readonly labels: Readonly<Record<string, string>>,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName: string;
}

/** A prom-client Histogram whose values come from cells; `cells()` lists them at scrape time. */
export class CellHistogram extends Histogram<string> {
  constructor(
    options: { name: string; help: string; labelNames: readonly string[]; buckets: readonly number[]; registry: Registry },
    private readonly cells: () => Iterable<HistogramCell>,
  ) {
    super({ name: options.name, help: options.help, labelNames: options.labelNames, buckets: [...options.buckets], registers: [options.registry] });
  }

  // prom-client's registry reads getForPromString() when a metric has one, get() otherwise (JSON).
  getForPromString(): Promise<{ name: string; help: string; type: 'histogram'; values: Sample[]; aggregator: 'sum' }> {
    return Promise.resolve({ name: this.metricName(), help: this.metricHelp(), type: 'histogram', values: this.samples(), aggregator: 'sum' });
  }

  override get(): ReturnType<Histogram<string>['get']> {
    return this.getForPromString() as unknown as ReturnType<Histogram<string>['get']>;
  }

  // Metric's constructor sets `name` and `help` as instance fields (untyped in prom-client's d.ts).
  private metricName(): string {
    return (this as unknown as { name: string }).name;
  }

  private metricHelp(): string {
    return (this as unknown as { help: string }).help;
  }

  private samples(): Sample[] {
    const base = this.metricName();
    const out: Sample[] = [];
    for (const cell of this.cells()) {
      if (cell.count === 0) continue;
      let acc = 0;
      for (let i = 0; i < cell.bounds.length; i++) {
        acc += cell.counts[i]!;
        out.push({ value: acc, labels: { ...cell.labels, le: cell.bounds[i]! }, metricName: `${base}_bucket` });
      }
      out.push({ value: cell.count, labels: { ...cell.labels, le: '+Inf' }, metricName: `${base}_bucket` });
      out.push({ value: cell.sum, labels: { ...cell.labels }, metricName: `${base}_sum` });
      out.push({ value: cell.count, labels: { ...cell.labels }, metricName: `${base}_count` });
    }
    return out;
  }
}

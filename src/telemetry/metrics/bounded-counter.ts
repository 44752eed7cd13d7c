/**
 * A counter family whose series are capped: label values that come from
 * events (policy names, codes, reason tokens) are few by design, but a cap
 * makes that a guarantee, so a bug or a new reason can never grow the scrape
 * without bound. Past `max` series, new label sets are counted under "_other"
 * in every label. Values are kept here and handed to prom-client at scrape.
 */
import { Counter, type Registry } from 'prom-client';

export const OTHER = '_other';

interface Series {
  readonly labels: Record<string, string>;
  value: number;
}

export class BoundedCounter {
  private readonly series = new Map<string, Series>();
  private readonly labelNames: readonly string[];

  constructor(
    options: { name: string; help: string; labelNames: readonly string[]; registry: Registry },
    private readonly max: number,
  ) {
    this.labelNames = options.labelNames;
    const series = this.series;
    new Counter({
      name: options.name,
      help: options.help,
      labelNames: options.labelNames,
      registers: [options.registry],
      collect() {
        this.reset();
        for (const s of series.values()) this.inc(s.labels, s.value);
      },
    });
  }

  /** `values` in the order of labelNames. */
  inc(values: readonly string[], by = 1): void {
    let key = values.join('\u0001');
    let series = this.series.get(key);
    if (series === undefined) {
      if (this.series.size >= this.max) {
        key = this.labelNames.map(() => OTHER).join('\u0001');
        series = this.series.get(key);
      }
      if (series === undefined) {
        const overflow = this.series.size >= this.max;
        const labels: Record<string, string> = {};
        this.labelNames.forEach((name, i) => (labels[name] = overflow ? OTHER : values[i]!));
        series = { labels, value: 0 };
        this.series.set(key, series);
      }
    }
    series.value += by;
  }
}

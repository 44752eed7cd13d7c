/**
 * Reads Prometheus text exposition (0.0.4) the way a scraper does: families
 * from # TYPE lines, samples with their labels and values. Strict enough for
 * tests: a line it cannot read fails the test rather than being skipped.
 */
import { Client } from 'undici';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Scrape {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly text: string;
  /** Family name → type. */
  readonly families: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
  /** The sum of the samples named `name` whose labels include `match`. */
  value(name: string, match?: Readonly<Record<string, string>>): number;
  /** Whether any sample is named `name` with labels including `match`. */
  has(name: string, match?: Readonly<Record<string, string>>): boolean;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/y;

export function parsePrometheus(text: string): Pick<Scrape, 'families' | 'samples'> {
  const families = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      families.set(name!, type!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`unreadable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const l = LABEL.exec(body);
      if (!l) throw new Error(`unreadable labels: ${line}`);
      labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { families, samples };
}

function includes(labels: Readonly<Record<string, string>>, match: Readonly<Record<string, string>>): boolean {
  return Object.entries(match).every(([k, v]) => labels[k] === v);
}

export async function scrape(base: string, headers: Record<string, string> = {}): Promise<Scrape> {
  const client = new Client(base);
  try {
    const res = await client.request({ path: '/metrics', method: 'GET', headers });
    const text = await res.body.text();
    const parsed = res.statusCode === 200 ? parsePrometheus(text) : { families: new Map<string, string>(), samples: [] };
    const ct = res.headers['content-type'];
    return {
      status: res.statusCode,
      contentType: Array.isArray(ct) ? ct[0] : ct,
      text,
      ...parsed,
      value: (name, match = {}) => parsed.samples.filter((s) => s.name === name && includes(s.labels, match)).reduce((a, s) => a + s.value, 0),
      has: (name, match = {}) => parsed.samples.some((s) => s.name === name && includes(s.labels, match)),
    };
  } finally {
    await client.close();
  }
}

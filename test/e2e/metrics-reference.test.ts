/**
 * What users read about the metrics matches what the gateway exports: every
 * family in a real scrape is in docs/observability.md's metrics reference and
 * every family documented there is in the scrape; and every PromQL query of
 * the Grafana dashboard (examples/grafana/portcullis.json) parses (with the
 * Prometheus project's own PromQL grammar) and names only metrics the scrape
 * has, a histogram's _bucket/_sum/_count series included.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parser } from '@prometheus-io/lezer-promql';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { scrape, type Scrape } from '../helpers/prometheus.js';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

/** The family names of the "## Metrics" section's tables: the first cell of each row, in backquotes. */
function documentedFamilies(markdown: string): Set<string> {
  const start = markdown.indexOf('\n## Metrics');
  const end = markdown.indexOf('\n## ', start + 1);
  assert.ok(start >= 0, 'docs/observability.md has a "## Metrics" section');
  const section = markdown.slice(start, end < 0 ? undefined : end);
  return new Set([...section.matchAll(/^\| `([a-zA-Z_:][a-zA-Z0-9_:]*)` \|/gm)].map((m) => m[1]!));
}

interface DashboardPanel {
  targets?: Array<{ expr?: unknown }>;
  panels?: DashboardPanel[];
}
interface Dashboard {
  panels?: DashboardPanel[];
  templating?: { list?: Array<{ type?: string; query?: string | { query?: string } }> };
}

/** Every PromQL expression of a Grafana dashboard: panel targets (nested rows too) and query variables. */
function dashboardQueries(dashboard: Dashboard): string[] {
  const out: string[] = [];
  const panels = (list: DashboardPanel[] | undefined) => {
    for (const p of list ?? []) {
      for (const t of p.targets ?? []) if (typeof t.expr === 'string') out.push(t.expr);
      panels(p.panels);
    }
  };
  panels(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = (typeof v.query === 'string' ? v.query : v.query?.query) ?? '';
    // label_values(metric, label) is Grafana's, not PromQL: its selector is.
    const m = /^label_values\((.+),\s*\w+\)$/.exec(q);
    out.push(m ? m[1]! : q);
  }
  return out;
}

/** Grafana replaces its variables before the query is sent; do the same with plausible values. */
function withGrafanaVariables(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$(\w+)/g, '$1');
}

/** The metric names a query selects, or the grammar's complaint. */
function metricNames(expr: string): { names: string[]; error?: string } {
  const names: string[] = [];
  let error: string | undefined;
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError) error ??= `cannot parse near "${expr.slice(node.from, node.from + 20)}"`;
      if (node.name === 'VectorSelector') {
        const id = node.node.getChild('Identifier');
        if (id) names.push(expr.slice(id.from, id.to));
      }
    },
  });
  return { names, error };
}

function exported(s: Scrape, name: string): boolean {
  if (s.families.has(name)) return true;
  const m = /^(.+)_(bucket|sum|count)$/.exec(name);
  return m !== null && s.families.get(m[1]!) === 'histogram';
}

describe('metrics reference and Grafana dashboard', () => {
  let gw: TestGateway;
  let m: Scrape;

  before(async () => {
    gw = await startGateway(`
admin: { address: "127.0.0.1:0" }
telemetry: { metrics: { consumer_labels: { enabled: true } } }
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes: [{ name: r, service: s, public: true, match: { paths: [/] } }]
`);
    m = await scrape(gw.gateway.admin.url!);
    assert.equal(m.status, 200);
  });
  after(() => gw.close());

  it('documents every family the gateway exports, and only those', () => {
    const documented = documentedFamilies(read('docs/observability.md'));
    const scraped = [...m.families.keys()];
    assert.ok(scraped.length > 40);
    assert.deepEqual(scraped.filter((f) => !documented.has(f)), [], 'exported but not in docs/observability.md');
    assert.deepEqual([...documented].filter((f) => !m.families.has(f)), [], 'in docs/observability.md but not exported');
  });

  it('has a dashboard whose every query parses and names only exported metrics', () => {
    const dashboard = JSON.parse(read('examples/grafana/portcullis.json')) as Dashboard;
    const queries = dashboardQueries(dashboard);
    assert.ok(queries.length >= 25, `${queries.length} queries`);
    const used = new Set<string>();
    for (const q of queries) {
      const { names, error } = metricNames(withGrafanaVariables(q));
      assert.equal(error, undefined, `${error}: ${q}`);
      assert.ok(names.length > 0, `a query that selects no metric: ${q}`);
      for (const n of names) {
        assert.ok(exported(m, n), `the dashboard queries ${n}, which the gateway does not export: ${q}`);
        used.add(n.replace(/_(bucket|sum|count)$/, ''));
      }
    }
    // What the issue asks the dashboard to show.
    for (const f of ['portcullis_requests_total', 'portcullis_request_duration_seconds', 'portcullis_upstream_target_up', 'portcullis_refusals_total', 'portcullis_auth_failures_total', 'portcullis_waf_hits_total', 'portcullis_store_errors_total', 'portcullis_certificate_expiry_days', 'portcullis_sink_spooled', 'portcullis_sink_dropped_total']) {
      assert.ok(used.has(f), `the dashboard shows ${f}`);
    }
  });

  it('catches a query naming a metric that does not exist', () => {
    const { names } = metricNames(withGrafanaVariables('sum(rate(portcullis_requests_totl{route=~"$route"}[$__rate_interval]))'));
    assert.deepEqual(names, ['portcullis_requests_totl']);
    assert.equal(exported(m, 'portcullis_requests_totl'), false);
    assert.equal(exported(m, 'portcullis_requests_total_bucket'), false, 'a counter has no buckets');
    assert.ok(metricNames('sum(rate(x[5m]').error, 'an unbalanced query does not parse');
  });
});

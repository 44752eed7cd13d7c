/**
 * The bounds that keep the scrape small whatever happens: the series cap of
 * the event-fed families, reason labels that never carry free text, the
 * histogram cells as prom-client writes them out. (The families a user
 * queries are tested over HTTP in test/e2e/metrics.test.ts.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { parsePrometheus } from '../../../test/helpers/prometheus.js';
import type { TelemetryEvent } from '../event.js';
import { BoundedCounter } from './bounded-counter.js';
import { reasonLabel } from './events.js';
import { CellHistogram, HistogramCell } from './histogram.js';
import { methodIndex, RouteTable, statusClassIndex } from './route-cells.js';

const event = (type: string, reason?: string) => ({ type, reason }) as TelemetryEvent;

describe('metrics bounds', () => {
  it('caps a counter family: label sets past the cap count under "_other"', async () => {
    const registry = new Registry();
    const c = new BoundedCounter({ name: 'x_total', help: 'x', labelNames: ['policy', 'code'], registry }, 3);
    for (let i = 0; i < 10; i++) c.inc([`p${i}`, 'c']);
    c.inc(['p0', 'c']);
    const { samples } = parsePrometheus(await registry.metrics());
    assert.deepEqual(
      samples.map((s) => [s.labels.policy, s.labels.code, s.value]),
      [
        ['p0', 'c', 2],
        ['p1', 'c', 1],
        ['p2', 'c', 1],
        ['_other', '_other', 7],
      ],
    );
  });

  it('takes a reason label only when it is a stable token, else the event type\'s last part', () => {
    assert.equal(reasonLabel(event('auth.invalid_credentials', 'wrong_issuer')), 'wrong_issuer');
    assert.equal(reasonLabel(event('auth.invalid_credentials', 'jwt: signature verification failed for kid "abc"')), 'invalid_credentials');
    assert.equal(reasonLabel(event('auth.missing_credentials', 'no API key')), 'missing_credentials');
    assert.equal(reasonLabel(event('auth.x', 'x'.repeat(100))), 'x');
    assert.equal(reasonLabel(event('Weird Type!')), 'unknown');
  });

  it('writes histogram cells as Prometheus histograms: cumulative buckets, +Inf, _sum, _count', async () => {
    const registry = new Registry();
    const cell = new HistogramCell([0.1, 1], { route: 'r' });
    for (const v of [0.05, 0.1, 0.5, 3]) cell.observe(v);
    new CellHistogram({ name: 'h_seconds', help: 'h', labelNames: ['route'], buckets: [0.1, 1], registry }, () => [cell, new HistogramCell([0.1, 1], { route: 'empty' })]);
    const text = await registry.metrics();
    assert.match(text, /# TYPE h_seconds histogram/);
    const { samples } = parsePrometheus(text);
    assert.deepEqual(
      samples.map((s) => `${s.name}{${Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(',')}} ${s.value}`),
      ['h_seconds_bucket{route=r,le=0.1} 2', 'h_seconds_bucket{route=r,le=1} 3', 'h_seconds_bucket{route=r,le=+Inf} 4', 'h_seconds_sum{route=r} 3.65', 'h_seconds_count{route=r} 4'],
      'a cell with no observation writes nothing',
    );
  });

  it('labels requests only with bounded values: methods, status classes, route names', () => {
    assert.equal(methodIndex('GET'), 0);
    assert.equal(methodIndex('PROPFIND'), methodIndex('OTHER'));
    assert.equal(statusClassIndex(204), 1);
    assert.equal(statusClassIndex(599), 4);
    assert.equal(statusClassIndex(0), 4, 'no status at all counts as a server error');
    const table = new RouteTable([1]);
    assert.equal(table.cellsFor(undefined, undefined).route, '_none');
    const a = table.cellsFor('api', 'v1');
    assert.equal(table.cellsFor('api', 'v1'), a, 'the same cells every time');
    assert.notEqual(table.cellsFor('api', 'v2'), a, 'a route moved to another service by a reload keeps both series');
    assert.equal(table.cellsFor('api', 'v1'), a);
  });
});

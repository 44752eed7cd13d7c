/**
 * HTTP sinks against real HTTP receivers (test/helpers/collector.ts): Splunk
 * HEC batches with the token checked (a wrong token's 403 keeps the records
 * in the spool until a reload brings the right one), and Elasticsearch _bulk
 * NDJSON with ids that make a retried batch harmless.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { startCollector } from '../../../test/helpers/collector.js';
import { numberedEvent, sinkKit, until } from './test-kit.js';

describe('http sinks against real receivers', () => {
  it('sends Splunk HEC batches with the token; a wrong token (403) loses nothing: records wait in the spool until the token is fixed', async () => {
    const hec = await startCollector('splunk-hec', 'right-token');
    const kit = sinkKit();
    const sink = (token: string) => ({
      name: 'splunk',
      kind: 'http',
      preset: 'splunk-hec',
      format: 'json',
      url: `${hec.url}/services/collector/event`,
      token,
      index: 'security',
      spool: { dir: join(kit.dir, 'spool') },
      batch: { max_records: 10, interval: '20ms' },
      retry: { initial: '20ms', max: '100ms' },
    });
    try {
      kit.apply({ events: [sink('wrong-token')] });
      const status = () => kit.telemetry.sinkStatus().find((s) => s.name === 'splunk')!;
      for (let n = 1; n <= 25; n++) kit.telemetry.events.emit(numberedEvent(n));
      await until(() => status().failures > 0 && status().spooled === 25, () => JSON.stringify(status()));
      assert.ok(hec.statuses.every((s) => s === 403));
      assert.equal(hec.records.length, 0);
      assert.doesNotMatch(kit.output(), /wrong-token|right-token/, 'tokens never reach a log line');
      kit.apply({ events: [sink('right-token')] }); // a reload: same sink, new token, its spool kept
      for (let n = 26; n <= 30; n++) kit.telemetry.events.emit(numberedEvent(n));
      // sent counts a batch once its answer is read, which can come after the collector has recorded it.
      await until(() => hec.records.length >= 30 && status().spooled === 0 && status().queued === 0 && status().sent === 30, () => `${hec.records.length} ${JSON.stringify(status())}`);
      assert.deepEqual(hec.records.map((r) => r.event.request.id), Array.from({ length: 30 }, (_, i) => numberedEvent(i + 1).request!.id));
      const first = hec.records[0]!;
      assert.equal(first.sourcetype, 'portcullis:events:json');
      assert.equal(first.index, 'security');
      assert.equal(first.host, 'node-1');
      assert.equal(first.time, Date.parse(numberedEvent(1).time) / 1000);
      assert.deepEqual(first.event, numberedEvent(1));
      assert.equal(status().sent, 30);
      assert.equal(status().dropped, 0);
    } finally {
      await kit.sinks.close(1000);
      await hec.close();
    }
  });

  it('sends Elasticsearch _bulk NDJSON (ECS documents) with content ids, so a repeated batch indexes nothing twice', async () => {
    const es = await startCollector('elasticsearch-bulk');
    const kit = sinkKit();
    try {
      kit.apply({ events: [{ name: 'es', kind: 'http', preset: 'elasticsearch-bulk', format: 'ecs', url: `${es.url}/_bulk`, batch: { max_records: 4, interval: '20ms' } }] });
      for (let n = 1; n <= 10; n++) kit.telemetry.events.emit(numberedEvent(n));
      const status = () => kit.telemetry.sinkStatus().find((s) => s.name === 'es')!;
      await until(() => status().sent === 10, () => JSON.stringify(status()));
      // The same events again (as a retry after a lost answer would send them): all 409, none indexed twice, none failed.
      for (let n = 1; n <= 10; n++) kit.telemetry.events.emit(numberedEvent(n));
      await until(() => status().sent === 20, () => JSON.stringify(status()));
      assert.equal(es.records.length, 10);
      assert.equal(status().failures, 0);
      assert.deepEqual(es.records.map((r) => r.http.request.id), Array.from({ length: 10 }, (_, i) => numberedEvent(i + 1).request!.id));
      assert.equal(es.records[0]!._index, 'portcullis-events');
      assert.equal(es.records[0]!.event.kind, 'alert');
      assert.equal(es.records[0]!.rule.id, 'waf.sqli');
    } finally {
      await kit.sinks.close(1000);
      await es.close();
    }
  });
});

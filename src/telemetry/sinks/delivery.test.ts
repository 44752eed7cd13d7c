/**
 * Delivery limits: a full spool drops and counts (one log line when it starts,
 * one with the count when it ends), and no spool means a bounded memory queue;
 * the spool keeps records across a restart and skips a torn last line.
 */
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startCollector } from '../../../test/helpers/collector.js';
import { DiskSpool } from './spool.js';
import { numberedEvent, sinkKit, until } from './test-kit.js';

describe('sink delivery limits', () => {
  it('drops and counts what a full spool cannot take, says so once per incident, and delivers the rest in order', async () => {
    const down = await startCollector('splunk-hec', 't');
    const downUrl = down.url;
    await down.close();
    const hec = await startCollector('splunk-hec', 't');
    const kit = sinkKit();
    const sink = (url: string) => ({
      name: 'hec',
      kind: 'http',
      preset: 'splunk-hec',
      url,
      token: 't',
      spool: { dir: join(kit.dir, 'spool'), max_size: '64KiB' },
      batch: { max_records: 50, interval: '10ms' },
      retry: { initial: '20ms', max: '50ms' },
    });
    try {
      kit.apply({ events: [sink(downUrl)] });
      const status = () => kit.telemetry.sinkStatus()[0]!;
      const total = 400; // about 200 KiB of JSON: more than the spool holds
      for (let n = 1; n <= total; n++) kit.telemetry.events.emit(numberedEvent(n));
      await until(() => status().queued === 0 && status().spooled + status().dropped === total, () => JSON.stringify(status()));
      assert.ok(status().dropped > 0 && status().spooled > 0, JSON.stringify(status()));
      const full = kit.output().split('\n').filter((l) => l.includes('the spool is full'));
      assert.equal(full.length, 1, 'one log line for the incident');
      const kept = status().spooled;
      kit.apply({ events: [sink(`${hec.url}/services/collector/event`)] });
      await until(() => status().spooled === 0 && hec.records.length === kept, () => `${hec.records.length} ${JSON.stringify(status())}`);
      const ids = hec.records.map((r) => Number((r.event.request.id as string).slice(4)));
      assert.deepEqual(ids, Array.from({ length: kept }, (_, i) => i + 1), 'the oldest records were kept, in order');
      assert.match(kit.output(), new RegExp(`sink hec: recovered; ${status().dropped} records were dropped`));
    } finally {
      await kit.sinks.close(1000);
      await hec.close();
    }
  });

  it('without a spool, holds at most `queue` records while the receiver is away and counts the rest', async () => {
    const down = await startCollector('splunk-hec', 't');
    await down.close();
    const kit = sinkKit();
    try {
      kit.apply({ events: [{ name: 'hec', kind: 'http', preset: 'splunk-hec', url: down.url, token: 't', queue: 10, batch: { max_records: 5, interval: '10ms' }, retry: { initial: '1s', max: '1s' } }] });
      const status = () => kit.telemetry.sinkStatus()[0]!;
      for (let n = 1; n <= 30; n++) kit.telemetry.events.emit(numberedEvent(n));
      await until(() => status().failures > 0, () => JSON.stringify(status()));
      assert.ok(status().queued <= 15, 'the queue bound plus one batch in retry');
      assert.equal(status().queued + status().dropped, 30);
      assert.match(kit.output(), /sink hec: the memory queue is full; records are dropped and counted/);
    } finally {
      await kit.sinks.close(0);
    }
  });

  it('keeps spooled records across a restart, in order, and skips a torn last line', async () => {
    const kit = sinkKit();
    const dir = join(kit.dir, 'spool');
    const first = DiskSpool.open(dir, 1024 * 1024);
    assert.equal(await first.append(['one', 'two\nlines', 'three']), 3);
    await first.commit(await first.read(1, 1024));
    await first.close();
    appendFileSync(join(dir, '000000000001.seg'), '"torn'); // a crash mid-append
    const second = DiskSpool.open(dir, 1024 * 1024);
    assert.equal(second.count, 2);
    const read = await second.read(10, 1024 * 1024);
    assert.deepEqual(read.units, ['two\nlines', 'three']);
    await second.commit(read);
    assert.equal(await second.append(['four']), 1);
    assert.deepEqual((await second.read(10, 1024)).units, ['four']);
    await second.close();
  });
});

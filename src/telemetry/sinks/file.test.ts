/**
 * The file sink: rotation by size (FILE.1 newest, at most `keep`), and reopen
 * after logrotate renamed the file (what SIGUSR1 triggers), losing no line.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { numberedEvent, sinkKit, until } from './test-kit.js';

const idsIn = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { request: { id: string } }).request.id) : []);

describe('file sink', () => {
  it('rotates by size, keeping `keep` files, newest first, every line whole', async () => {
    const kit = sinkKit();
    const path = join(kit.dir, 'events.log');
    kit.apply({ events: [{ name: 'file', kind: 'file', path: 'events.log', rotate: { max_size: '4KiB', keep: 3 }, batch: { max_records: 5, interval: '10ms' } }] });
    const status = () => kit.telemetry.sinkStatus().find((s) => s.name === 'file')!;
    for (let n = 1; n <= 40; n++) kit.telemetry.events.emit(numberedEvent(n));
    await until(() => status().sent === 40, () => JSON.stringify(status()));
    await kit.sinks.close(1000);
    const files = [`${path}.3`, `${path}.2`, `${path}.1`, path];
    assert.equal(existsSync(`${path}.4`), false, 'no more than keep rotated files');
    for (const f of files) assert.ok(readFileSync(f).length <= 4096, `${f} within max_size`);
    const kept = files.flatMap(idsIn);
    const last = kept.map((id) => Number(id.slice(4)));
    assert.deepEqual(last, Array.from({ length: last.length }, (_, i) => 40 - last.length + 1 + i), 'the newest lines, in order, none cut');
  });

  it('rotates by time at the first write after the interval', async () => {
    const kit = sinkKit();
    const path = join(kit.dir, 'timed.log');
    kit.apply({ events: [{ name: 'file', kind: 'file', path, rotate: { interval: '1s', keep: 2 }, batch: { max_records: 1, interval: '10ms' } }] });
    const status = () => kit.telemetry.sinkStatus().find((s) => s.name === 'file')!;
    kit.telemetry.events.emit(numberedEvent(1));
    await until(() => status().sent === 1, () => JSON.stringify(status()));
    await new Promise((r) => setTimeout(r, 1100)); // the interval passes (a lower bound: waiting longer changes nothing)
    kit.telemetry.events.emit(numberedEvent(2));
    await until(() => status().sent === 2, () => JSON.stringify(status()));
    await kit.sinks.close(1000);
    assert.deepEqual(idsIn(`${path}.1`), ['evt-000001']);
    assert.deepEqual(idsIn(path), ['evt-000002']);
  });

  it('reopens the file after logrotate renamed it, losing no line', async () => {
    const kit = sinkKit();
    const path = join(kit.dir, 'access.log');
    kit.apply({ events: [{ name: 'file', kind: 'file', path, batch: { max_records: 1, interval: '10ms' } }] });
    const status = () => kit.telemetry.sinkStatus().find((s) => s.name === 'file')!;
    for (let n = 1; n <= 5; n++) kit.telemetry.events.emit(numberedEvent(n));
    await until(() => status().sent === 5, () => JSON.stringify(status()));
    renameSync(path, `${path}.rotated`); // what logrotate does before it signals
    kit.sinks.reopen();
    for (let n = 6; n <= 10; n++) kit.telemetry.events.emit(numberedEvent(n));
    await until(() => status().sent === 10, () => JSON.stringify(status()));
    await kit.sinks.close(1000);
    assert.deepEqual(idsIn(`${path}.rotated`).concat(idsIn(path)), Array.from({ length: 10 }, (_, i) => numberedEvent(i + 1).request!.id));
    assert.equal(idsIn(path)[0], 'evt-000006', 'the new file starts where the renamed one stopped');
  });
});

/**
 * The trail on real files, without a gateway: how it takes up a file whose
 * tail it cannot vouch for (a write cut short by a crash, a head file gone, a
 * file emptied), and that verify then reports the break once, at the right
 * line, and checks every record after it as usual.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../logger.js';
import { EventBus, type TelemetryEvent } from '../event.js';
import { signingKey } from './keys.js';
import { AuditTrail } from './trail.js';
import { verifyAuditText } from './verify.js';
import type { SignedHead } from './record.js';

const KEY = signingKey('t'.repeat(32));

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-trail-'));
  const file = join(dir, 'trail.jsonl');
  const logs: Array<{ level: string; msg: string; reason?: string }> = [];
  const { logger } = createLogger({ destination: { write: (line: string) => void logs.push(JSON.parse(line) as (typeof logs)[number]) } });
  const events: TelemetryEvent[] = [];
  const bus = new EventBus('node-1');
  bus.subscribe((e) => events.push(e));
  const open = () => AuditTrail.open({ file, key: KEY, checkpointEvery: 100, events: bus, logger });
  const verify = () =>
    verifyAuditText({ text: readFileSync(file, 'utf8'), keys: [KEY.verifier], head: JSON.parse(readFileSync(`${file}.head`, 'utf8')) as SignedHead, headName: `${file}.head` });
  const write = (trail: AuditTrail, n: number) => {
    for (let i = 0; i < n; i++) trail.refused([`issue ${i}`], 1, { kind: 'process' });
  };
  return { file, logs, events, open, verify, write };
}

describe('audit trail: taking up a file', () => {
  it('continues an intact file: seq and prev go on from its last record', () => {
    const t = setup();
    const first = t.open();
    t.write(first, 2);
    first.close();
    const second = t.open();
    t.write(second, 1);
    const report = t.verify();
    assert.deepEqual(report.problems, []);
    assert.equal(report.lastSeq, 4);
  });

  it('a write cut short (no newline at the end): a segment on a line of its own, the break reported once', () => {
    const t = setup();
    const first = t.open();
    t.write(first, 2);
    appendFileSync(t.file, '{"v":1,"seq":3,"ti'); // a crash mid-write
    const second = t.open();
    const log = t.logs.find((l) => l.msg.startsWith('the audit trail is broken'));
    assert.equal(log?.level, 'error');
    assert.match(log?.reason ?? '', /the last line is incomplete/);
    // Held until the gateway has started (its sinks subscribe during the start), then emitted before the load's own.
    assert.equal(t.events.length, 0);
    second.loaded(undefined, 1, { kind: 'start' });
    assert.deepEqual(t.events.map((e) => e.type), ['audit.chain_broken', 'audit.config_load']);
    assert.equal(t.events[0]!.severity, 'critical');
    t.write(second, 1);
    const report = t.verify();
    assert.deepEqual(
      report.problems.map((p) => `${p.line}: ${p.message}`),
      ['3: not a record (not JSON, or fields missing): modified or damaged', '4: the gateway found the trail broken at line 3 and started a new segment here: the last line is incomplete (a write cut short, or the file cut)'],
    );
    assert.equal(report.lastSeq, 5);
  });

  it('a head file gone: a segment, since a cut tail could not be ruled out', () => {
    const t = setup();
    const first = t.open();
    t.write(first, 1);
    rmSync(`${t.file}.head`);
    t.write(t.open(), 1);
    const report = t.verify();
    assert.deepEqual(
      report.problems.map((p) => `${p.line}: seq ${p.seq}: ${p.message}`),
      [`2: seq 2: the gateway found the trail broken at line 1 and started a new segment here: ${t.file}.head is missing: a cut tail could not be ruled out`],
    );
  });

  it('a file emptied while its head remains: a segment that numbers on from the head', () => {
    const t = setup();
    const first = t.open();
    t.write(first, 3);
    writeFileSync(t.file, '');
    t.write(t.open(), 1);
    const report = t.verify();
    assert.equal(report.problems.length, 1);
    assert.match(report.problems[0]!.message, /the file is empty or gone, but its signed head names seq 3/);
    assert.equal(report.problems[0]!.seq, 4);
  });
});

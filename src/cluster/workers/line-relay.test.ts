/**
 * One log stream for the node: the supervisor passes each worker's output on
 * in whole lines, so two workers writing at once never mix inside a line,
 * however their writes are cut. Real streams (PassThrough), no process.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { MAX_LINE, relayLines } from './line-relay.js';

function sink() {
  const writes: string[] = [];
  const to = new Writable({
    write(chunk: Buffer, _enc, done) {
      writes.push(chunk.toString());
      done();
    },
  });
  return { to, writes };
}

describe('the line relay', () => {
  it('passes whole lines only, whatever the pieces two workers write in', async () => {
    const { to, writes } = sink();
    const a = new PassThrough();
    const b = new PassThrough();
    relayLines(a, to);
    relayLines(b, to);
    a.write('{"w":"a","n":1');
    b.write('{"w":"b","n":1}\n{"w":"b"');
    a.write('}\n{"w":"a","n":2}\n');
    b.write(',"n":2}\n');
    await new Promise((r) => setImmediate(r));
    // Every write the relay made is one or more whole lines.
    for (const w of writes) assert.ok(w.endsWith('\n'), JSON.stringify(w));
    const lines = writes.join('').split('\n').filter(Boolean);
    assert.deepEqual(lines.map((l) => JSON.parse(l) as unknown).length, 4);
  });

  it('ends a worker\'s last unfinished line when its output ends', async () => {
    const { to, writes } = sink();
    const a = new PassThrough();
    relayLines(a, to);
    a.end('cut short');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(writes, ['cut short\n']);
  });

  it('cuts a line longer than the bound into whole pieces', async () => {
    const { to, writes } = sink();
    const a = new PassThrough();
    relayLines(a, to);
    a.write('x'.repeat(MAX_LINE + 10));
    a.end('\n');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(writes.map((w) => w.length), [MAX_LINE + 1, 11]);
  });
});

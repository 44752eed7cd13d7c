import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { boundedTracestate, formatTraceparent, parseTraceparent } from './trace-context.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('traceparent (W3C Trace Context)', () => {
  it('reads a valid version-00 value and its sampled flag', () => {
    assert.deepEqual(parseTraceparent(`00-${TRACE}-${SPAN}-01`), { traceId: TRACE, parentId: SPAN, sampled: true });
    assert.deepEqual(parseTraceparent(`00-${TRACE}-${SPAN}-00`), { traceId: TRACE, parentId: SPAN, sampled: false });
    // Flags other than sampled are read past, and never passed on (formatTraceparent writes 00 or 01).
    assert.equal(parseTraceparent(`00-${TRACE}-${SPAN}-03`)?.sampled, true);
    assert.equal(parseTraceparent(`00-${TRACE}-${SPAN}-02`)?.sampled, false);
  });

  it('ignores every value the spec says to ignore', () => {
    const invalid = [
      undefined,
      '',
      `00-${TRACE}-${SPAN}`,
      `00-${TRACE}-${SPAN}-01-`, // version 00 has exactly four fields
      `00-${TRACE}-${SPAN}-1`,
      `00-${TRACE.toUpperCase()}-${SPAN}-01`, // lower-case hex only
      `00-${TRACE}-${SPAN.toUpperCase()}-01`,
      `00-${TRACE}-${SPAN}-0A`,
      `0A-${TRACE}-${SPAN}-01`,
      `ff-${TRACE}-${SPAN}-01`, // version ff is invalid
      `00-${'0'.repeat(32)}-${SPAN}-01`, // all-zero ids
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      `00-${TRACE.slice(1)}g-${SPAN}-01`,
      `00_${TRACE}-${SPAN}-01`,
      `00-${TRACE}_${SPAN}-01`,
      `00-${TRACE}-${SPAN}_01`,
      ` 00-${TRACE}-${SPAN}-01`,
      `00-${TRACE}-${SPAN}-01, 00-${TRACE}-${SPAN}-01`, // two headers, joined by Node
      [`00-${TRACE}-${SPAN}-01`, `00-${TRACE}-${SPAN}-01`],
      `01-${TRACE}-${SPAN}-01x`, // a future version: after the flags, the end or a dash
      `01-${TRACE}-${SPAN}`,
    ];
    for (const value of invalid) assert.equal(parseTraceparent(value), undefined, String(value));
  });

  it('reads a future version by the version-00 fields', () => {
    assert.deepEqual(parseTraceparent(`01-${TRACE}-${SPAN}-01`), { traceId: TRACE, parentId: SPAN, sampled: true });
    assert.deepEqual(parseTraceparent(`cc-${TRACE}-${SPAN}-00-what-the-future-holds`), { traceId: TRACE, parentId: SPAN, sampled: false });
  });

  it('writes version 00 with only the sampled flag', () => {
    assert.equal(formatTraceparent(TRACE, SPAN, true), `00-${TRACE}-${SPAN}-01`);
    assert.equal(formatTraceparent(TRACE, SPAN, false), `00-${TRACE}-${SPAN}-00`);
  });
});

describe('tracestate', () => {
  it('passes a valid list on, without the optional white space and empty members', () => {
    assert.equal(boundedTracestate('congo=t61rcWkgMzE, rojo=00f067aa0ba902b7', 512), 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7');
    assert.equal(boundedTracestate('a=1,, ,b=2', 512), 'a=1,b=2');
    assert.equal(boundedTracestate(['a=1', 'b=2'], 512), 'a=1,b=2');
    assert.equal(boundedTracestate('tenant1@vendor=x y', 512), 'tenant1@vendor=x y');
  });

  it('drops a list that does not parse, repeats a key, or has more than 32 members', () => {
    const invalid = ['A=1', '1a=1', 'a', '=1', 'a=', 'a=1=2', 'a=x,a=y', 'a=\u00e9', 'a=x\ty', `a@${'v'.repeat(15)}=1`];
    for (const value of invalid) assert.equal(boundedTracestate(value, 512), undefined, value);
    const members = (n: number) => Array.from({ length: n }, (_, i) => `k${i}=v`).join(',');
    assert.equal(boundedTracestate(members(32), 512), members(32));
    assert.equal(boundedTracestate(members(33), 512), undefined);
    assert.equal(boundedTracestate(undefined, 512), undefined);
  });

  it('cuts a long list the way the spec says: long members first, then from the end', () => {
    const long = `big=${'x'.repeat(200)}`;
    assert.equal(boundedTracestate(`a=1,${long},b=2`, 64), 'a=1,b=2');
    assert.equal(boundedTracestate('a=1111,b=2222,c=3333', 13), 'a=1111,b=2222');
    assert.equal(boundedTracestate('a=1111', 3), undefined);
  });

  it('does not read a header far past the bound', () => {
    assert.equal(boundedTracestate(`a=${'x'.repeat(250)},`.repeat(40), 512), undefined);
  });
});

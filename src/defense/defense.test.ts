/**
 * The pure parts of automatic defense: the deny list's fast path agrees with
 * its parse, escalation grows as configured and stops at max, and what
 * arrives from outside (pub/sub, store, admin API) is checked.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DynamicDenyList } from './deny-list.js';
import { escalate } from './engine.js';
import { parseAction } from './actions.js';

describe('the dynamic deny list', () => {
  it('matches any spelling of a denied address, and no look-alike', () => {
    const list = new DynamicDenyList();
    list.add('203.0.113.7', 60_000);
    list.add('2001:db8::1', 60_000);
    for (const ip of ['203.0.113.7', '::ffff:203.0.113.7', '2001:db8:0:0:0:0:0:1', '2001:DB8::1']) assert.equal(list.has(ip), true, ip);
    for (const ip of ['203.0.113.70', '203.0.113.07', '203.0.113', '1203.0.113.7', '203.0.113.7.', '', 'x']) assert.equal(list.has(ip), false, ip);
  });

  it('matches addresses inside a denied network', () => {
    const list = new DynamicDenyList();
    list.add('198.51.100.0/24', 60_000);
    assert.equal(list.has('198.51.100.200'), true);
    assert.equal(list.has('198.51.101.1'), false);
  });
});

describe('escalation', () => {
  const max = 86_400_000;
  it('doubles with factor 2, never past max', () => {
    const p = { factor: 2, steps: undefined, maxMs: 3_600_000 };
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((s) => escalate(600_000, s, p)), [600_000, 1_200_000, 2_400_000, 3_600_000, 3_600_000, 3_600_000, 3_600_000]);
  });
  it('takes each strike\'s step, the last one repeating', () => {
    const p = { factor: undefined, steps: [60_000, 600_000, 3_600_000], maxMs: max };
    assert.deepEqual([1, 2, 3, 4].map((s) => escalate(1000, s, p)), [60_000, 600_000, 3_600_000, 3_600_000]);
  });
});

describe('an action from outside', () => {
  const base = { id: '0123456789abcdef', kind: 'block', scope: 'ip', target: '203.0.113.7', createdAt: 1_000_000, expiresAt: 1_060_000, by: 'admin', reason: 'test' };
  it('is accepted when well formed, its target canonical', () => {
    const a = parseAction({ ...base, target: '::ffff:203.0.113.7' });
    assert.equal(typeof a, 'object');
    assert.equal((a as { target: string }).target, '203.0.113.7');
  });
  it('is refused when anything is off', () => {
    for (const bad of [
      { ...base, id: 'x' },
      { ...base, kind: 'nuke' },
      { ...base, scope: 'consumer' },
      { ...base, target: '0.0.0.0/0' },
      { ...base, target: '10.0.0.0/4' },
      { ...base, expiresAt: base.createdAt },
      { ...base, expiresAt: base.createdAt + 31 * 86_400_000 },
      { ...base, reason: 'x'.repeat(500) },
      { ...base, kind: 'tighten', scope: 'ip' },
      { ...base, kind: 'require', scope: 'ip', policy: 'captcha' },
    ]) {
      assert.equal(typeof parseAction(bad), 'string', JSON.stringify(bad));
    }
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomRequestId } from './request-id.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('randomRequestId', () => {
  it('gives version 4 UUIDs in lower-case hex, as crypto.randomUUID does', () => {
    for (let i = 0; i < 2000; i++) assert.match(randomRequestId(), UUID_V4);
  });

  it('never repeats, across many refills of its random pool', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50_000; i++) seen.add(randomRequestId());
    assert.equal(seen.size, 50_000);
  });

  it('uses every hex digit in every free position (the bytes are random, not a counter)', () => {
    const ids = Array.from({ length: 4000 }, randomRequestId);
    for (const pos of [0, 7, 9, 15, 20, 35]) {
      const digits = new Set(ids.map((id) => id[pos]));
      assert.equal(digits.size, 16, `position ${pos}`);
    }
  });
});

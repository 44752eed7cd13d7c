import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pathSegmentReadings, readPair } from './query.js';

/** What a pair's sides decode to when decodeURIComponent reads them (the reading the ASCII fast path must match). */
function reference(side: string): string {
  return decodeURIComponent(side.replaceAll('+', ' '));
}

describe('query pairs: "+" and ASCII escapes', () => {
  it('reads every %00-%7F escape, in upper and lower case hex, as decodeURIComponent does', () => {
    for (let b = 0; b < 0x80; b++) {
      for (const hex of [b.toString(16).padStart(2, '0'), b.toString(16).padStart(2, '0').toUpperCase()]) {
        const pair = `a%${hex}b=x+%${hex}+y`;
        const reading = readPair(pair, 'latin1');
        assert.equal(reading.name.text, reference(`a%${hex}b`), pair);
        assert.equal(reading.value?.text, reference(`x+%${hex}+y`), pair);
        assert.equal(reading.value?.irregular, false, pair);
      }
    }
  });

  it('decodes an escaped "%" once and an escaped "+" to "+"', () => {
    assert.equal(readPair('q=100%2525+off', 'latin1').value?.text, '100%25 off');
    assert.equal(readPair('q=a%2Bb+c', 'latin1').value?.text, 'a+b c');
    assert.equal(readPair('q=blue%20running%20shoes', 'latin1').value?.text, 'blue running shoes');
  });

  it('leaves escapes of bytes over 0x7f and malformed escapes to the general reading', () => {
    assert.equal(readPair('q=caf%C3%A9', 'latin1').value?.text, 'café');
    const malformed = readPair('q=50%+off%zz', 'latin1');
    assert.equal(malformed.value?.text, '50% off%zz');
    assert.equal(malformed.value?.irregular, true);
    const truncated = readPair('q=ab%2', 'latin1');
    assert.equal(truncated.value?.irregular, true);
    assert.deepEqual(pathSegmentReadings('a%2fb+c'), ['a/b+c']);
  });
});

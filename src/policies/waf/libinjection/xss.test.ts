/**
 * The XSS detector against the real libinjection: every input in testdata/
 * must get libinjection 3.9.2's libinjection_xss verdict (expected values
 * from the C library, bench/libinjection-oracle/).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { detectXSS } from './index.js';
import { readVectors, vectorFiles } from './testdata/vectors.js';

describe('libinjection XSS: agreement with libinjection 3.9.2', () => {
  for (const file of vectorFiles()) {
    it(`${file}: every verdict as the C library gives it`, () => {
      const vectors = readVectors(file);
      const wrong = vectors.filter((v) => detectXSS(v.input) !== v.xss).map((v) => `${JSON.stringify(v.input)}: want ${v.xss}`);
      assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} of ${vectors.length} differ`);
    });
  }
});

describe('libinjection XSS: what it flags and what it lets through', () => {
  it('flags script and other executable tags, event handlers and script URLs', () => {
    for (const s of [
      '<script>alert(1)</script>',
      '<img src=x onerror=alert(1)>',
      '<a href="javascript:alert(1)">x</a>',
      '<a href="&#106;avascript:alert(1)">x</a>',
      '<svg/onload=alert(1)>',
      '<x:script xmlns:x="http://www.w3.org/1999/xhtml" src="data:,alert(1)" />',
      '"><iframe src=//evil>',
      '<!DOCTYPE html>',
      '<!--[if gte IE 4]><script>alert(1)</script><![endif]-->',
    ]) {
      assert.equal(detectXSS(s), true, s);
    }
  });

  it('lets text, markup-free punctuation and harmless tags through', () => {
    for (const s of ['', 'hello world', 'a < b and c > d', '<b>bold</b>', '<a href="https://example.com/">x</a>', 'x=1&y=2', 'I <3 tea', "it's <fine>"]) {
      assert.equal(detectXSS(s), false, s);
    }
  });

  it('answers on inputs that chain thousands of tokenizer states (no stack overflow)', () => {
    // Verdicts of the C library for the same inputs (its states tail-call each other).
    assert.equal(detectXSS('</>'.repeat(30_000)), false);
    // "</>" leaves libinjection's is_close flag set, so the <script> after it reads as a closing tag.
    assert.equal(detectXSS('</>'.repeat(30_000) + '<script>'), false);
    assert.equal(detectXSS('<a ' + '/'.repeat(100_000) + 'onload=x>'), true);
    assert.equal(detectXSS('<a ' + '/'.repeat(100_000)), false);
    assert.equal(detectXSS('<a x=1' + '/'.repeat(100_000) + '>'), false);
  });
});

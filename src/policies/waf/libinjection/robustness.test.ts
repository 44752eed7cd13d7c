/**
 * The detectors never throw, whatever string they get: bytes as latin1 (what
 * the engine hands them) and also characters above 0xFF, which a caller
 * could pass by mistake (they read as word characters, as bytes from 0x80 do).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { detectSQLi, detectXSS } from './index.js';

const fragments = fc.constantFrom(..."'\"`()[]{},.;:-+*/%=<>!&|^~#@$\\? \t\n\0\xa0\xff".split(''), '--', '/*', '*/', '/*!', '$$', '$a$', "N'", "q'[", "U&'", '@@', '<a ', '</', '<!--', '-->', '<!', '<?', '<%', '&#x6a;', 'javascript:', 'select', 'union', 'or', 'user', 'onerror=', 'href=', '\u0627', '\u{1F600}', '\uFF07');
const strings = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.array(fragments, { maxLength: 60 }).map((a) => a.join('')));

describe('libinjection port: total on any input', () => {
  it('detectSQLi returns a verdict and a fingerprint of at most five token types, or X', () => {
    fc.assert(
      fc.property(strings, (s) => {
        const r = detectSQLi(s);
        assert.equal(typeof r.detected, 'boolean');
        assert.ok(r.detected ? r.fingerprint.length >= 1 && r.fingerprint.length <= 5 : r.fingerprint === '');
      }),
      { numRuns: 3000 },
    );
  });

  it('detectXSS returns a verdict', () => {
    fc.assert(
      fc.property(strings, (s) => {
        assert.equal(typeof detectXSS(s), 'boolean');
      }),
      { numRuns: 3000 },
    );
  });
});

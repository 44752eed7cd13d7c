/**
 * The SQL injection detector against the real libinjection: every input in
 * testdata/ (attack and false-positive lists, naughty strings, seeded fuzz)
 * must get libinjection 3.9.2's verdict, the fingerprint ModSecurity reports
 * as TX.0, and the same fingerprint under each of the five contexts
 * libinjection_is_sqli tries. The expected values come from the C library
 * itself (bench/libinjection-oracle/); nothing here is mocked.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { detectSQLi } from './index.js';
import { sqliFingerprint } from './sqli.js';
import { FLAG_QUOTE_DOUBLE, FLAG_QUOTE_NONE, FLAG_QUOTE_SINGLE, FLAG_SQL_ANSI, FLAG_SQL_MYSQL } from './sqli-tokenizer.js';
import { readVectors, vectorFiles } from './testdata/vectors.js';

const CONTEXTS = [
  FLAG_QUOTE_NONE | FLAG_SQL_ANSI,
  FLAG_QUOTE_NONE | FLAG_SQL_MYSQL,
  FLAG_QUOTE_SINGLE | FLAG_SQL_ANSI,
  FLAG_QUOTE_SINGLE | FLAG_SQL_MYSQL,
  FLAG_QUOTE_DOUBLE | FLAG_SQL_MYSQL,
];

describe('libinjection SQLi: agreement with libinjection 3.9.2', () => {
  for (const file of vectorFiles()) {
    it(`${file}: every verdict and fingerprint as the C library gives them`, () => {
      const vectors = readVectors(file);
      assert.ok(vectors.length > 1000, `${file} holds ${vectors.length} vectors`);
      const wrong: string[] = [];
      for (const v of vectors) {
        const got = detectSQLi(v.input);
        const contexts = CONTEXTS.map((flags) => sqliFingerprint(v.input, flags));
        if (got.detected !== v.sqli || got.fingerprint !== v.fingerprint || contexts.join(' ') !== v.contexts.join(' ')) {
          wrong.push(`${JSON.stringify(v.input)}: want ${v.sqli} ${v.fingerprint} [${v.contexts.join(' ')}], got ${got.detected} ${got.fingerprint} [${contexts.join(' ')}]`);
        }
      }
      assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} of ${vectors.length} differ`);
    });
  }
});

describe('libinjection SQLi: what ModSecurity users know from its logs', () => {
  it('reports the fingerprint of the context that matched', () => {
    assert.deepEqual(detectSQLi("1' or '1'='1"), { detected: true, fingerprint: 's&sos' });
    assert.deepEqual(detectSQLi('1 UNION SELECT password FROM users--'), { detected: true, fingerprint: '1UEnk' });
    assert.deepEqual(detectSQLi("admin'--"), { detected: true, fingerprint: 'sc' });
  });

  it('lets ordinary text, numbers and names through', () => {
    for (const s of ['', 'hello world', "O'Reilly", '1234', 'jane.doe@example.com', 'select a plan', 'rock & roll', '2024-01-01']) {
      assert.deepEqual(detectSQLi(s), { detected: false, fingerprint: '' }, s);
    }
  });

  it('reads MySQL executable comments and nested comments as evil (X)', () => {
    assert.deepEqual(detectSQLi('1 /*!UNION*/ SELECT 1'), { detected: true, fingerprint: 'X' });
    assert.deepEqual(detectSQLi('1 /* a /* b */ 2'), { detected: true, fingerprint: 'X' });
  });

  it('folds "word) op (word" away as the C library does (Arabic text after CRS 942100\'s transformations is not SQL)', () => {
    // verdicts from bench/libinjection-oracle/oracle.c on Debian's libmodsecurity3 and checked on mod_security2 2.9.7:
    // "فقوسة - بنسلامة" becomes "ABH3) - (F3D'E)" after t:utf8toUnicode,t:urlDecodeUni (the low byte of each code point)
    assert.deepEqual(detectSQLi("ABH3) - (F3D'E)"), { detected: false, fingerprint: '' });
    assert.deepEqual(detectSQLi('a) - (b'), { detected: false, fingerprint: '' });
    // the fold is for words only: numbers and keyword operators still read as SQL
    assert.deepEqual(detectSQLi('1) - (b'), { detected: true, fingerprint: '1)o(n' });
    assert.deepEqual(detectSQLi('a) or (b'), { detected: true, fingerprint: 'n)&(n' });
  });

  it('reads the input as bytes: latin1 0xA0 is white space, other high bytes are word characters', () => {
    assert.equal(detectSQLi('1\xa0or\xa01=1').detected, detectSQLi('1 or 1=1').detected);
    assert.equal(detectSQLi('1\xe9or 1=1').detected, false);
  });
});

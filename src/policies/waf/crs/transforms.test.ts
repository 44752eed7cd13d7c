/**
 * Transformations where ModSecurity's output was checked against a real
 * mod_security2 2.9.7 (bench/crs-modsec-compare.ts): values are byte strings
 * (latin1), as the engine hands them over.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TRANSFORMS, transformsFor } from './transforms.js';

const utf8 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
const uni = (s: string) => TRANSFORMS.urldecodeuni!(TRANSFORMS.utf8tounicode!(utf8(s)));
const LOW_BYTE = transformsFor('low-byte');
const lowByte = (s: string) => LOW_BYTE.urldecodeuni!(LOW_BYTE.utf8tounicode!(utf8(s)));

describe('urlDecodeUni reads %uHHHH through the code page 20127 table, as ModSecurity with its recommended config', () => {
  it('decodes the look-alikes attackers use to their ASCII (what CRS 930110 then sees as "..")', () => {
    assert.equal(TRANSFORMS.urldecodeuni!('%u2026/'), './');
    assert.equal(uni('\\…..\\'), '\\...\\');
    assert.equal(uni('l’avis “x”'), 'l\'avis "x"');
    assert.equal(uni('Café Ünïcödé'), 'Cafe Unicode');
  });

  it('with unmapped_unicode: low-byte, keeps the low byte of a code point the table lacks, as ModSecurity and Coraza', () => {
    // Arabic letters have no entry: "صلاح" keeps the low bytes 35 44 27 2d, as mod_security2 logs them
    assert.equal(lowByte('صلاح'), "5D'-");
    assert.equal(LOW_BYTE.urldecodeuni!('%uFF1Cscript%uFF1E'), '<script>');
    assert.equal(LOW_BYTE.urldecodeuni!('%u4e27'), "'");
  });

  it('by default reads a code point the table lacks as the letter x: Arabic, Hangul, Cyrillic, CJK hold no quote or dash', () => {
    // what made 942100 (libinjection) read Arabic names as SQL: U+0627 (alef) was an apostrophe, U+062D a dash
    assert.equal(uni('صلاح'), 'xxxx');
    assert.equal(uni('فقوسة - بنسلامة'), 'xxxxx - xxxxxxx');
    assert.equal(uni('김민준 Ёлка 异常'), 'xxx xxxx xx');
    assert.equal(TRANSFORMS.urldecodeuni!('%u4e27%u0627'), 'xx');
    // emoji: utf8toUnicode keeps 16 bits (U+1F62D is %uF62D), whose low byte was "-"
    assert.equal(uni('ok 😭👍'), 'ok xx');
    assert.equal(lowByte('ok 😭'), 'ok -');
  });

  it('reads the Unicode spaces the table lacks as a space and zero-width characters as nothing, where the low byte read noise', () => {
    // JavaScript's \s holds U+2028 and U+3000; sanitizers strip U+200B (the low byte read "(" and a NUL, and VT)
    assert.equal(TRANSFORMS.urldecodeuni!('alert%u2028(1)%u3000x'), 'alert (1) x');
    assert.equal(uni('un\u200bion\u2060 sel\u200dect'), 'union select');
    assert.equal(LOW_BYTE.urldecodeuni!('alert%u2028(1)un%u200bion'), 'alert((1)un\x0bion');
  });

  it('by default reads a compatibility form by its ASCII NFKC and the slashes iconv folds, which the low byte and x both missed', () => {
    // an upstream that NFKC-normalizes (Python unicodedata) sees <script>alert(1) here; the low byte read "dscripte", x "xscriptx"
    assert.equal(uni('\ufe64script\ufe65alert\ufe591\ufe5a'), '<script>alert(1)');
    assert.equal(uni('\u2024\u2024\u2215etc\u2215passwd \u2216 \u2044 \u207d\u207e'), '..' + '/etc/passwd \\ / ()');
    assert.equal(lowByte('\ufe64script\ufe65'), 'dscripte');
    // letters of other scripts have no ASCII NFKC and stay x (U+FDFA, one code point, is 18 Arabic letters to NFKC)
    assert.equal(uni('\ufdfa\u0627\u3392'), 'xxMHz');
  });

  it('keeps what has a reading either way: full-width ASCII, the table, and U+0000-U+00FF as themselves', () => {
    for (const t of [TRANSFORMS, LOW_BYTE]) {
      assert.equal(t.urldecodeuni!('%uFF1Cscript%uFF1E'), '<script>');
      assert.equal(t.urldecodeuni!('%uff07 or 1=1--'), "' or 1=1--");
      assert.equal(t.urldecodeuni!('%u0027%u003c%u00d7'), "'<\xd7");
      assert.equal(t.urldecodeuni!('%u02bc%u2019'), "''");
      assert.equal(t.urldecodeuni!('%27%3C'), "'<");
    }
  });

  it('leaves jsDecode alone: \\uHHHH there is low byte or full-width only (ModSecurity reads no table in it)', () => {
    assert.equal(TRANSFORMS.jsdecode!('\\u2026'), '\x26');
    assert.equal(TRANSFORMS.jsdecode!('\\uff1c'), '<');
  });
});

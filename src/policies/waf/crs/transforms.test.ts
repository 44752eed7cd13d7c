/**
 * Transformations where ModSecurity's output was checked against a real
 * mod_security2 2.9.7 (bench/crs-modsec-compare.ts): values are byte strings
 * (latin1), as the engine hands them over.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TRANSFORMS } from './transforms.js';

const utf8 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
const uni = (s: string) => TRANSFORMS.urldecodeuni!(TRANSFORMS.utf8tounicode!(utf8(s)));

describe('urlDecodeUni reads %uHHHH through the code page 20127 table, as ModSecurity with its recommended config', () => {
  it('decodes the look-alikes attackers use to their ASCII (what CRS 930110 then sees as "..")', () => {
    assert.equal(TRANSFORMS.urldecodeuni!('%u2026/'), './');
    assert.equal(uni('\\…..\\'), '\\...\\');
    assert.equal(uni('l’avis “x”'), 'l\'avis "x"');
    assert.equal(uni('Café Ünïcödé'), 'Cafe Unicode');
  });

  it('keeps the low byte of a code point the table lacks, and full-width ASCII becomes ASCII', () => {
    // Arabic letters have no entry: "صلاح" keeps the low bytes 35 44 27 2d, as mod_security2 logs them
    assert.equal(uni('صلاح'), "5D'-");
    assert.equal(TRANSFORMS.urldecodeuni!('%uFF1Cscript%uFF1E'), '<script>');
  });

  it('leaves jsDecode alone: \\uHHHH there is low byte or full-width only (ModSecurity reads no table in it)', () => {
    assert.equal(TRANSFORMS.jsdecode!('\\u2026'), '\x26');
    assert.equal(TRANSFORMS.jsdecode!('\\uff1c'), '<');
  });
});

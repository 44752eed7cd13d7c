/**
 * Word and fingerprint look-ups over libinjection's vendored table
 * (sqli-data.ts). libinjection compares with an ASCII-only upper-casing
 * (cstrcasecmp), so latin1 letters never match a keyword: toUpperCase() would
 * turn "ÿ" into "Ÿ" and "ß" into "SS", so it is not used here.
 */
import { FINGERPRINT_TABLE, KEYWORD_TABLE } from './sqli-data.js';

const KEYWORDS = new Map<string, string>();
let longest = 0;
for (const line of KEYWORD_TABLE) {
  const tab = line.indexOf('\t');
  if (tab <= 0) continue;
  KEYWORDS.set(line.slice(0, tab), line.slice(tab + 1));
  longest = Math.max(longest, tab);
}
const FINGERPRINTS = new Set(FINGERPRINT_TABLE);

/** s with a-z upper-cased and every other character as it is. */
export function asciiUpper(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 127) return asciiUpperSlow(s);
  }
  return s.toUpperCase(); // on ASCII, toUpperCase changes a-z only
}

function asciiUpperSlow(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 97 && c <= 122 ? String.fromCharCode(c - 32) : s[i];
  }
  return out;
}

/** The token type libinjection's keyword table gives word, or '' when the word is not in it. */
export function lookupWord(word: string): string {
  const n = word.length;
  if (n === 0 || n > longest) return '';
  // Every keyword is ASCII: a word with a byte from 0x80 is none of them.
  for (let i = 0; i < n; i++) if (word.charCodeAt(i) > 127) return '';
  return KEYWORDS.get(word.toUpperCase()) ?? '';
}

/** Whether a fingerprint (token types, any case) is in libinjection's blacklist. */
export function isBlacklistedFingerprint(fingerprint: string): boolean {
  return FINGERPRINTS.has(asciiUpper(fingerprint));
}

/** Case-insensitive (ASCII) equality with an upper-case word, as cstrcasecmp(word, val, len) == 0. */
export function ciEquals(upperWord: string, val: string): boolean {
  return val.length === upperWord.length && asciiUpper(val) === upperWord;
}

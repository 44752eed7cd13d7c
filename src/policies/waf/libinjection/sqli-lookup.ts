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

const isWordStart = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;

/**
 * The keywords that do not start with a letter or '_' are all two-character
 * operators (&&, <=, ::, ...): kept apart under a numeric key, so the
 * tokenizer's many operator look-ups make no string.
 */
const OPERATORS = new Map<number, string>();
for (const [word, type] of KEYWORDS) {
  if (isWordStart(word.charCodeAt(0))) continue;
  if (word.length !== 2) throw new Error(`libinjection table: unexpected keyword ${word}`);
  OPERATORS.set(word.charCodeAt(0) * 256 + word.charCodeAt(1), type);
}

const upperCode = (c: number): number => (c >= 97 && c <= 122 ? c - 32 : c);

/** A word's shape: its length and its first and last characters (upper case), as one number. */
export const shapeOf = (len: number, first: number, last: number): number => len * 65536 + upperCode(first) * 256 + upperCode(last);

/**
 * The shapes of the keywords: most words of ordinary text have a shape no
 * keyword has, and are rejected without building an upper-case copy.
 */
const SHAPES = new Set<number>();
for (const word of KEYWORDS.keys()) SHAPES.add(shapeOf(word.length, word.charCodeAt(0), word.charCodeAt(word.length - 1)));

/** Whether some keyword has this shape. */
export const hasKeywordShape = (shape: number): boolean => SHAPES.has(shape);

/** The type of the two characters at s[pos], s[pos+1] when they are a two-character operator, else ''. */
export function lookupOperator(s: string, pos: number): string {
  return OPERATORS.get(s.charCodeAt(pos) * 256 + s.charCodeAt(pos + 1)) ?? '';
}

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
  const c0 = word.charCodeAt(0);
  if (!isWordStart(c0)) return n === 2 ? (OPERATORS.get(c0 * 256 + word.charCodeAt(1)) ?? '') : '';
  if (!SHAPES.has(shapeOf(n, c0, word.charCodeAt(n - 1)))) return '';
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

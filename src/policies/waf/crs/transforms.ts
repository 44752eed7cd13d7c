/**
 * SecLang transformations (t:...). Values are byte strings: every char is one
 * byte (0-255), as ModSecurity sees them, so a decode keeps only the low
 * byte of what it decodes, as ModSecurity does without a unicode map, except
 * urlDecodeUni's %uHHHH: the best-fit table, then UnmappedUnicode.
 */
import { createHash } from 'node:crypto';
import { unicodeMap } from './unicode-map.js';

export type Transform = (s: string) => string;

const HEX = (c: number): number => (c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1);

function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12 || c === 0xa0;
}

function lowercase(s: string): string {
  // ASCII only, as C tolower in the "C" locale
  if (!/[A-Z]/.test(s)) return s;
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

function uppercase(s: string): string {
  if (!/[a-z]/.test(s)) return s;
  return s.replace(/[a-z]+/g, (m) => m.toUpperCase());
}

/**
 * How urlDecodeUni reads a %uHHHH whose code point the best-fit table lacks
 * and that is not full-width ASCII. 'low-byte': its low byte, as ModSecurity
 * and Coraza do (U+0627, Arabic alef, reads as an apostrophe). 'letter': the
 * letter x, as Microsoft's fork of ModSecurity does, since no
 * backend reads U+0627 as an apostrophe (spaces, zero-width characters and
 * forms whose NFKC is short ASCII apart: unmappedReading); code points below U+0100 are themselves either way. docs/policies/waf.md has the figures.
 */
export type UnmappedUnicode = 'letter' | 'low-byte';

/**
 * With 'letter', what is not a letter keeps a reading: the Unicode spaces the
 * table lacks (JavaScript's \s holds them all) read as a space, and the
 * zero-width characters (which sanitizers and normalizers strip) as nothing,
 * so `un<ZWSP>ion` reads `union` and `alert<U+2028>(1)` `alert (1)`.
 */
function unmappedReading(code: number): string {
  if (code === 0x1680 || (code >= 0x2007 && code <= 0x200a) || code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f || code === 0x3000 || code === 0xfeff) return ' ';
  if ((code >= 0x200b && code <= 0x200d) || code === 0x2060) return '';
  return compatReading(code) ?? 'x';
}

const COMPAT = new Map<number, string | null>();

/**
 * A compatibility form whose NFKC is ASCII reads as that ASCII (U+FE64 small
 * `﹤` is `<`, U+FE59 `﹙` `(`, U+207D superscript `⁽` `(`, U+2024 `․` `.`),
 * and the slashes iconv //TRANSLIT and Windows best-fit fold (U+2215 `∕`,
 * U+2044 `⁄` to `/`, U+2216 `∖` to `\`): an upstream that NFKC-normalizes
 * (Python's unicodedata, Django's usernames) or transliterates (PHP
 * iconv slugs) sees `<script>` in `﹤script﹥`, which the low byte read as
 * `dscripte` and `x` as `xscriptx` (red team, session 8). Letters of other
 * scripts have no ASCII NFKC and stay `x`. Memoized: at most the BMP.
 */
function compatReading(code: number): string | null {
  let r = COMPAT.get(code);
  if (r !== undefined) return r;
  r = code === 0x2215 || code === 0x2044 ? '/' : code === 0x2216 ? '\\' : null;
  if (r === null) {
    const n = String.fromCharCode(code).normalize('NFKC');
    // a short ASCII reading only: NFKC of U+FDFA is 18 Arabic letters, of U+3392 "MHz"
    if (n.length <= 4 && /^[\x20-\x7e]+$/.test(n)) r = n;
  }
  COMPAT.set(code, r);
  return r;
}

function fullWidthOrLow(code: number): number {
  // ModSecurity maps full-width ASCII (U+FF01..U+FF5E) to ASCII, everything else to its low byte
  if (code >= 0xff01 && code <= 0xff5e) return code - 0xfee0;
  return code & 0xff;
}

function fallback(code: number, unmapped: UnmappedUnicode): string {
  // full-width ASCII keeps its ASCII reading (an evasion backends do fold); U+0000-U+00FF are themselves
  if (unmapped === 'letter' && code > 0xff && !(code >= 0xff01 && code <= 0xff5e)) return unmappedReading(code);
  return String.fromCharCode(fullWidthOrLow(code));
}

function urlDecodeCore(s: string, unicode: boolean, unmapped: UnmappedUnicode = 'letter'): string {
  if (s.indexOf('%') === -1 && s.indexOf('+') === -1) return s;
  let out = '';
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c !== 43 && c !== 37) {
      // a run without "%" or "+" is copied in one slice (a char at a time was most of a 64 KB value's cost)
      let j = i + 1;
      while (j < n && s.charCodeAt(j) !== 37 && s.charCodeAt(j) !== 43) j++;
      out += s.slice(i, j);
      i = j - 1;
      continue;
    }
    if (c === 43) {
      out += ' ';
      continue;
    }
    if (c === 37) {
      if (unicode && (s[i + 1] === 'u' || s[i + 1] === 'U') && i + 5 < n) {
        const a = HEX(s.charCodeAt(i + 2)), b = HEX(s.charCodeAt(i + 3)), d = HEX(s.charCodeAt(i + 4)), e = HEX(s.charCodeAt(i + 5));
        if (a >= 0 && b >= 0 && d >= 0 && e >= 0) {
          // urlDecodeUni alone reads the best-fit table (ModSecurity's recommended SecUnicodeMapFile, code page 20127)
          const code = (a << 12) | (b << 8) | (d << 4) | e;
          const mapped = unicodeMap(code);
          out += mapped !== -1 ? String.fromCharCode(mapped) : fallback(code, unmapped);
          i += 5;
          continue;
        }
      }
      if (i + 2 < n) {
        const a = HEX(s.charCodeAt(i + 1)), b = HEX(s.charCodeAt(i + 2));
        if (a >= 0 && b >= 0) {
          out += String.fromCharCode((a << 4) | b);
          i += 2;
          continue;
        }
      }
    }
    out += s[i];
  }
  return out;
}

const NAMED: Record<string, string> = { quot: '"', amp: '&', lt: '<', gt: '>', nbsp: '\xa0', apos: "'" };

function htmlEntityDecode(s: string): string {
  if (s.indexOf('&') === -1) return s;
  let out = '';
  const n = s.length;
  let i = 0;
  while (i < n) {
    if (s[i] !== '&') {
      const j = s.indexOf('&', i);
      const end = j === -1 ? n : j;
      out += s.slice(i, end);
      i = end;
      continue;
    }
    let j = i + 1;
    if (s[j] === '#') {
      j++;
      let hex = false;
      if (s[j] === 'x' || s[j] === 'X') {
        hex = true;
        j++;
      }
      const start = j;
      while (j < n && (hex ? HEX(s.charCodeAt(j)) >= 0 : s.charCodeAt(j) >= 48 && s.charCodeAt(j) <= 57)) j++;
      if (j > start) {
        const code = parseInt(s.slice(start, Math.min(j, start + 8)), hex ? 16 : 10);
        out += String.fromCharCode(code & 0xff);
        if (s[j] === ';') j++;
        i = j;
        continue;
      }
      out += s[i++];
      continue;
    }
    const start = j;
    while (j < n && /[a-zA-Z]/.test(s[j]!)) j++;
    const name = s.slice(start, j).toLowerCase();
    const value = NAMED[name];
    if (value !== undefined) {
      out += value;
      if (s[j] === ';') j++;
      i = j;
      continue;
    }
    out += s[i++];
  }
  return out;
}

const JS_ESCAPES: Readonly<Record<string, string>> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

function jsDecode(s: string): string {
  if (s.indexOf('\\') === -1) return s;
  let out = '';
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      const j = s.indexOf('\\', i);
      const end = j === -1 ? n : j;
      out += s.slice(i, end);
      i = end - 1;
      continue;
    }
    if (i + 1 >= n) {
      out += c;
      continue;
    }
    const d = s[i + 1]!;
    if ((d === 'u' || d === 'U') && i + 5 < n) {
      const a = HEX(s.charCodeAt(i + 2)), b = HEX(s.charCodeAt(i + 3)), e = HEX(s.charCodeAt(i + 4)), f = HEX(s.charCodeAt(i + 5));
      if (a >= 0 && b >= 0 && e >= 0 && f >= 0) {
        out += String.fromCharCode(fullWidthOrLow((a << 12) | (b << 8) | (e << 4) | f));
        i += 5;
        continue;
      }
    }
    if ((d === 'x' || d === 'X') && i + 3 < n) {
      const a = HEX(s.charCodeAt(i + 2)), b = HEX(s.charCodeAt(i + 3));
      if (a >= 0 && b >= 0) {
        out += String.fromCharCode((a << 4) | b);
        i += 3;
        continue;
      }
    }
    if (d >= '0' && d <= '7') {
      let j = i + 1;
      let v = 0;
      while (j < n && j < i + 4 && s[j]! >= '0' && s[j]! <= '7') v = v * 8 + (s.charCodeAt(j++) - 48);
      out += String.fromCharCode(v & 0xff);
      i = j - 1;
      continue;
    }
    out += JS_ESCAPES[d] ?? d;
    i++;
  }
  return out;
}

function cssDecode(s: string): string {
  if (s.indexOf('\\') === -1) return s;
  let out = '';
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      const j = s.indexOf('\\', i);
      const end = j === -1 ? n : j;
      out += s.slice(i, end);
      i = end - 1;
      continue;
    }
    if (i + 1 >= n) break; // a lone trailing backslash is dropped
    let j = i + 1;
    let v = 0;
    let digits = 0;
    while (j < n && digits < 6 && HEX(s.charCodeAt(j)) >= 0) {
      v = v * 16 + HEX(s.charCodeAt(j));
      j++;
      digits++;
    }
    if (digits > 0) {
      out += String.fromCharCode(fullWidthOrLow(v));
      if (j < n && isWs(s.charCodeAt(j))) j++;
      i = j - 1;
      continue;
    }
    if (s[i + 1] === '\n') {
      i++;
      continue;
    }
    out += s[i + 1];
    i++;
  }
  return out;
}

function cmdLine(s: string): string {
  // as ModSecurity's loop, in native passes: drop \ " ' ^; a run of space , ; \t \r \n becomes one space; a space
  // before "/" or "(" goes; lower case. (Dropped characters do not end a run, so removing them first is the same.)
  return lowercase(
    s
      .replace(/["'\\^]+/g, '')
      .replace(/[ ,;\t\r\n]+/g, ' ')
      .replace(/ (?=[/(])/g, ''),
  );
}

// isWs's characters: space, \t \n \v \f \r and 0xa0
function compressWhitespace(s: string): string {
  return s.replace(/[\t-\r \xa0]+/g, ' ');
}

function removeWhitespace(s: string): string {
  return s.replace(/[\t-\r \xa0]+/g, '');
}

function replaceComments(s: string): string {
  if (s.indexOf('/*') === -1) return s;
  let out = '';
  let i = 0;
  while (i < s.length) {
    const open = s.indexOf('/*', i);
    if (open === -1) {
      out += s.slice(i);
      break;
    }
    out += s.slice(i, open) + ' ';
    const close = s.indexOf('*/', open + 2);
    if (close === -1) break;
    i = close + 2;
  }
  return out;
}

function removeComments(s: string): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    if (s.startsWith('/*', i)) {
      const close = s.indexOf('*/', i + 2);
      if (close === -1) break;
      i = close + 2;
    } else if (s.startsWith('<!--', i)) {
      const close = s.indexOf('-->', i + 4);
      if (close === -1) break;
      i = close + 3;
    } else if (s.startsWith('--', i) || s[i] === '#') {
      break;
    } else out += s[i++];
  }
  return out;
}

function removeCommentsChar(s: string): string {
  return s.replace(/\/\*|\*\/|--|#/g, '');
}

function normalizePath(s: string, win: boolean): string {
  let p = win ? s.replace(/\\/g, '/') : s;
  if (p === '') return p;
  const absolute = p.startsWith('/');
  const trailing = p.endsWith('/') || p.endsWith('/.') || p.endsWith('/..');
  const parts = p.split('/');
  const out: string[] = [];
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!absolute) out.push('..');
      continue;
    }
    out.push(part);
  }
  p = (absolute ? '/' : '') + out.join('/');
  if (trailing && out.length > 0) p += '/';
  return p;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Int16Array(256).fill(-1);
for (let i = 0; i < 64; i++) B64_VALUE[B64.charCodeAt(i)] = i;
B64_VALUE['-'.charCodeAt(0)] = 62;
B64_VALUE['_'.charCodeAt(0)] = 63;

function base64(s: string, skipInvalid: boolean): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c < 256 ? B64_VALUE[c]! : -1;
    if (v < 0) {
      if (c === 61) break; // padding ends the data
      if (skipInvalid) continue;
      break;
    }
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((acc >> bits) & 0xff);
    }
  }
  return out;
}

function hexEncode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += (s.charCodeAt(i) & 0xff).toString(16).padStart(2, '0');
  return out;
}

function hexDecode(s: string): string {
  let out = '';
  for (let i = 0; i + 1 < s.length; i += 2) {
    const a = HEX(s.charCodeAt(i)), b = HEX(s.charCodeAt(i + 1));
    if (a < 0 || b < 0) break;
    out += String.fromCharCode((a << 4) | b);
  }
  return out;
}

function escapeSeqDecode(s: string): string {
  if (s.indexOf('\\') === -1) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\' || i + 1 >= s.length) {
      out += c;
      continue;
    }
    const d = s[i + 1]!;
    const esc: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '?': '?', "'": "'", '"': '"' };
    if (esc[d] !== undefined) {
      out += esc[d];
      i++;
      continue;
    }
    if ((d === 'x' || d === 'X') && i + 3 < s.length + 1) {
      const a = HEX(s.charCodeAt(i + 2)), b = HEX(s.charCodeAt(i + 3));
      if (a >= 0 && b >= 0) {
        out += String.fromCharCode((a << 4) | b);
        i += 3;
        continue;
      }
    }
    if (d >= '0' && d <= '7') {
      let j = i + 1;
      let v = 0;
      while (j < s.length && j < i + 4 && s[j]! >= '0' && s[j]! <= '7') v = v * 8 + (s.charCodeAt(j++) - 48);
      out += String.fromCharCode(v & 0xff);
      i = j - 1;
      continue;
    }
    out += c;
  }
  return out;
}

/** UTF-8 sequences in the bytes become %uHHHH, which a later urlDecodeUni reads through the best-fit table (see UnmappedUnicode for the rest). */
function utf8toUnicode(s: string): string {
  let out = '';
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      out += s[i];
      continue;
    }
    let len = 0;
    let code = 0;
    if ((c & 0xe0) === 0xc0) {
      len = 2;
      code = c & 0x1f;
    } else if ((c & 0xf0) === 0xe0) {
      len = 3;
      code = c & 0x0f;
    } else if ((c & 0xf8) === 0xf0) {
      len = 4;
      code = c & 0x07;
    }
    let ok = len > 0 && i + len <= n;
    for (let k = 1; ok && k < len; k++) {
      const cc = s.charCodeAt(i + k);
      if ((cc & 0xc0) !== 0x80) ok = false;
      else code = (code << 6) | (cc & 0x3f);
    }
    if (!ok) {
      out += s[i];
      continue;
    }
    out += '%u' + (code & 0xffff).toString(16).padStart(4, '0');
    i += len - 1;
  }
  return out;
}

function sqlHexDecode(s: string): string {
  return s.replace(/0x((?:[0-9a-fA-F]{2})+)/g, (_m, hex: string) => hexDecode(hex));
}

function urlEncode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 32) out += '+';
    else if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 42 || c === 45 || c === 46 || c === 95) out += s[i];
    else out += '%' + c.toString(16).padStart(2, '0');
  }
  return out;
}

function digest(alg: string): Transform {
  return (s) => createHash(alg).update(Buffer.from(s, 'latin1')).digest().toString('latin1');
}

/** Lower-cased names: SecLang transformation names are case-insensitive. urldecodeuni reads unmapped code points as a letter here (transformsFor). */
export const TRANSFORMS: Readonly<Record<string, Transform>> = {
  lowercase,
  uppercase,
  urldecode: (s) => urlDecodeCore(s, false),
  urldecodeuni: (s) => urlDecodeCore(s, true),
  urlencode: urlEncode,
  htmlentitydecode: htmlEntityDecode,
  jsdecode: jsDecode,
  cssdecode: cssDecode,
  cmdline: cmdLine,
  compresswhitespace: compressWhitespace,
  removewhitespace: removeWhitespace,
  removenulls: (s) => (s.indexOf('\0') === -1 ? s : s.replace(/\0/g, '')),
  replacenulls: (s) => (s.indexOf('\0') === -1 ? s : s.replace(/\0/g, ' ')),
  replacecomments: replaceComments,
  removecomments: removeComments,
  removecommentschar: removeCommentsChar,
  normalizepath: (s) => normalizePath(s, false),
  normalisepath: (s) => normalizePath(s, false),
  normalizepathwin: (s) => normalizePath(s, true),
  normalisepathwin: (s) => normalizePath(s, true),
  base64decode: (s) => base64(s, false),
  base64decodeext: (s) => base64(s, true),
  base64encode: (s) => Buffer.from(s, 'latin1').toString('base64'),
  hexencode: hexEncode,
  hexdecode: hexDecode,
  sqlhexdecode: sqlHexDecode,
  escapeseqdecode: escapeSeqDecode,
  utf8tounicode: utf8toUnicode,
  length: (s) => String(s.length),
  sha1: digest('sha1'),
  md5: digest('md5'),
  trim: (s) => trimRight(trimLeft(s)),
  trimleft: trimLeft,
  trimright: trimRight,
  parityeven7bit: (s) => s,
  parityodd7bit: (s) => s,
  parityzero7bit: (s) => s.replace(/[\x80-\xff]/g, (c) => String.fromCharCode(c.charCodeAt(0) & 0x7f)),
};

const LOW_BYTE: Readonly<Record<string, Transform>> = { ...TRANSFORMS, urldecodeuni: (s) => urlDecodeCore(s, true, 'low-byte') };

/** The transformations for a rule set: urldecodeuni differs by how it reads unmapped code points. */
export function transformsFor(unmapped: UnmappedUnicode): Readonly<Record<string, Transform>> {
  return unmapped === 'low-byte' ? LOW_BYTE : TRANSFORMS;
}

/** ModSecurity's whitespace for trim: space, \t, \n, \r, \f, \v (no Unicode spaces). Loops, not a regex: `\s+$` is quadratic on a long run. */
function isTrimSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

function trimLeft(s: string): string {
  let start = 0;
  while (start < s.length && isTrimSpace(s.charCodeAt(start))) start++;
  return s.slice(start);
}

function trimRight(s: string): string {
  let end = s.length;
  while (end > 0 && isTrimSpace(s.charCodeAt(end - 1))) end--;
  return s.slice(0, end);
}

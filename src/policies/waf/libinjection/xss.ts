/**
 * libinjection's XSS test (libinjection_xss.c, v3.9.2): the input is tokenized
 * as HTML5 from five starting points (text, and inside an unquoted, single-,
 * double- and back-quoted attribute value), and is XSS when any pass meets a
 * doctype, a blacklisted tag, an event-handler or other dangerous attribute,
 * a URL attribute whose value starts with a javascript:, vbscript:, data: or
 * view-source: scheme (HTML entities decoded), or a comment that IE executes.
 */
import { H5Start, H5State, H5Type } from './html5.js';
import { asciiUpper } from './sqli-lookup.js';

// Imports bound to module constants once: run under tsx (tests, bench) every
// use of an imported name is a getter call, and these are on the hot path.
const H5Start_ = H5Start;
const H5State_ = H5State;
const H5Type_ = H5Type;
const asciiUpper_ = asciiUpper;

const enum Attr {
  NONE,
  BLACK,
  URL,
  STYLE,
  INDIRECT,
}

const BLACK_ATTRS = new Map<string, Attr>([
  ['ACTION', Attr.URL], // form
  ['ATTRIBUTENAME', Attr.INDIRECT], // SVG names an attribute in a value
  ['BY', Attr.URL], // SVG
  ['BACKGROUND', Attr.URL], // IE6, O11
  ['DATAFORMATAS', Attr.BLACK], // IE
  ['DATASRC', Attr.BLACK], // IE
  ['DYNSRC', Attr.URL], // obsolete img attribute
  ['FILTER', Attr.STYLE], // Opera, SVG inline style
  ['FORMACTION', Attr.URL], // HTML5
  ['FOLDER', Attr.URL], // A, IE only
  ['FROM', Attr.URL], // SVG
  ['HANDLER', Attr.URL], // SVG Tiny, Opera
  ['HREF', Attr.URL],
  ['LOWSRC', Attr.URL], // obsolete img attribute
  ['POSTER', Attr.URL], // Opera 10, 11
  ['SRC', Attr.URL],
  ['STYLE', Attr.STYLE],
  ['TO', Attr.URL], // SVG
  ['VALUES', Attr.URL], // SVG
  ['XLINK:HREF', Attr.URL],
]);

const BLACK_TAGS = new Set([
  'APPLET',
  'BASE',
  'COMMENT', // IE
  'EMBED',
  'FRAME',
  'FRAMESET',
  'HANDLER', // Opera SVG, a script tag in effect
  'IFRAME',
  'IMPORT',
  'ISINDEX',
  'LINK',
  'LISTENER',
  'META',
  'NOSCRIPT',
  'OBJECT',
  'SCRIPT',
  'STYLE',
  'VMLFRAME',
  'XML',
  'XSS',
]);

/** Listed words by length, for a comparison that builds no string. */
function byLength(words: Iterable<string>): string[][] {
  const out: string[][] = [];
  for (const w of words) (out[w.length] ??= []).push(w);
  return out;
}
const ATTRS_BY_LENGTH = byLength(BLACK_ATTRS.keys());
const TAGS_BY_LENGTH = byLength(BLACK_TAGS);

/** The listed word s[start, start+len) is (a-z upper-cased), or undefined; for spans without NUL. */
function listedWord(s: string, start: number, len: number, index: string[][]): string | undefined {
  const candidates = index[len];
  if (!candidates) return undefined;
  next: for (const w of candidates) {
    for (let k = 0; k < len; k++) {
      const c = s.charCodeAt(start + k);
      if ((c >= 97 && c <= 122 ? c - 32 : c) !== w.charCodeAt(k)) continue next;
    }
    return w;
  }
  return undefined;
}

/**
 * s[start, start+len) with NUL bytes dropped and a-z upper-cased: the C
 * code's cstrcasecmp_with_null compares its word with exactly this. Only
 * called on short spans (longer ones cannot equal a listed word).
 */
function squeeze(s: string, start: number, len: number): string {
  const span = s.substr(start, len);
  if (!span.includes('\0')) return asciiUpper_(span);
  let out = '';
  for (let i = start; i < start + len; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) continue;
    out += c >= 97 && c <= 122 ? String.fromCharCode(c - 32) : s[i];
  }
  return out;
}

/** The longest listed word (ATTRIBUTENAME): a longer span without NULs cannot be one. */
const MAX_WORD = 13;

function isBlackTag(s: string, start: number, len: number): boolean {
  if (len < 3) return false;
  if (len <= MAX_WORD && listedWord(s, start, len, TAGS_BY_LENGTH) !== undefined) return true;
  // NULs inside a name are skipped by the C comparison: only then is the slow path needed.
  if (s.substr(start, len).includes('\0') && BLACK_TAGS.has(squeeze(s, start, len))) return true;
  // Any SVG or XSL(T) element; the C code reads the first three bytes as they are.
  return startsWithCi(s, start, 'SVG') || startsWithCi(s, start, 'XSL');
}

function isBlackAttr(s: string, start: number, len: number): Attr {
  if (len < 2) return Attr.NONE;
  if (len >= 5) {
    const c0 = s.charCodeAt(start) | 0x20;
    const c1 = s.charCodeAt(start + 1) | 0x20;
    if (c0 === 0x6f && c1 === 0x6e) return Attr.BLACK; // on* event handlers
    // xmlns and xlink can make arbitrary tags.
    if (startsWithCi(s, start, 'XMLNS') || startsWithCi(s, start, 'XLINK')) return Attr.BLACK;
    if (s.substr(start, 5).includes('\0')) {
      // The C comparison skips NULs within the five characters it reads.
      const head = squeeze(s, start, 5);
      if (head === 'XMLNS' || head === 'XLINK') return Attr.BLACK;
    }
  }
  if (len <= MAX_WORD) {
    const word = listedWord(s, start, len, ATTRS_BY_LENGTH);
    if (word !== undefined) return BLACK_ATTRS.get(word)!;
  }
  if (s.substr(start, len).includes('\0')) return BLACK_ATTRS.get(squeeze(s, start, len)) ?? Attr.NONE;
  return Attr.NONE;
}

/**
 * html_decode_char_at: the character at i with a numeric entity (&#65; &#x41;)
 * decoded; named entities are left as '&'. Reads past the span as the C code
 * does (the rest of the input; NUL past its end). How many characters it
 * read is left in `consumed` (no object per character).
 */
let consumed = 0;

function decoded(ch: number, n: number): number {
  consumed = n;
  return ch;
}

function decodeCharAt(s: string, i: number, len: number): number {
  if (len === 0) return decoded(-1, 0);
  if (byteAt(s, i) !== 38 || len < 2) return decoded(byteAt(s, i), 1);
  if (byteAt(s, i + 1) !== 35) return decoded(38, 1);
  let val: number;
  let k: number;
  if (byteAt(s, i + 2) === 120 || byteAt(s, i + 2) === 88) {
    const d = hexValue(byteAt(s, i + 3));
    if (d < 0) return decoded(38, 1);
    val = d;
    for (k = 4; k < len; k++) {
      const c = byteAt(s, i + k);
      if (c === 59) return decoded(val, k + 1);
      const h = hexValue(c);
      if (h < 0) return decoded(val, k);
      val = val * 16 + h;
      if (val > 0x1000ff) return decoded(38, 1);
    }
    return decoded(val, k);
  }
  const d0 = byteAt(s, i + 2);
  if (d0 < 48 || d0 > 57) return decoded(38, 1);
  val = d0 - 48;
  for (k = 3; k < len; k++) {
    const c = byteAt(s, i + k);
    if (c === 59) return decoded(val, k + 1);
    if (c < 48 || c > 57) return decoded(val, k);
    val = val * 10 + (c - 48);
    if (val > 0x1000ff) return decoded(38, 1);
  }
  return decoded(val, k);
}

/** The byte at i, or the C string's NUL past the end. */
function byteAt(s: string, i: number): number {
  return i < s.length ? s.charCodeAt(i) : 0;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** htmlencode_startswith: does the HTML-encoded span start with prefix (upper case), ignoring leading controls, NULs and newlines? */
function htmlStartsWith(prefix: string, s: string, start: number, len: number): boolean {
  let a = 0;
  let i = start;
  let n = len;
  let first = true;
  while (n > 0) {
    if (a === prefix.length) return true;
    const ch = decodeCharAt(s, i, n);
    i += consumed;
    // An entity read past the span leaves the C code's size_t count wrapped:
    // it goes on reading the rest of the input.
    n = consumed > n ? s.length - i : n - consumed;
    let cb = ch;
    if (first && cb <= 32) continue;
    first = false;
    if (cb === 0 || cb === 10) continue;
    if (cb >= 97 && cb <= 122) cb -= 32;
    // The C code compares as char: code points wrap to their low byte.
    if (prefix.charCodeAt(a) !== (cb & 0xff)) return false;
    a += 1;
  }
  return a === prefix.length;
}

function isBlackUrl(s: string, start: number, len: number): boolean {
  // Skip leading controls, spaces and bytes from 0x7F (read as signed char, <= 32 or >= 127).
  while (len > 0) {
    const c = s.charCodeAt(start);
    if (c > 32 && c < 127) break;
    start++;
    len--;
  }
  return (
    htmlStartsWith('DATA', s, start, len) ||
    htmlStartsWith('VIEW-SOURCE', s, start, len) ||
    htmlStartsWith('JAVA', s, start, len) || // JAVA, JAVASCRIPT
    htmlStartsWith('VBSCRIPT', s, start, len)
  );
}

function startsWithCi(s: string, start: number, word: string): boolean {
  for (let k = 0; k < word.length; k++) {
    const c = s.charCodeAt(start + k);
    const u = c >= 97 && c <= 122 ? c - 32 : c;
    if (u !== word.charCodeAt(k)) return false;
  }
  return true;
}

function isXssFrom(s: string, start: H5Start): boolean {
  const h5 = new H5State_(s, start);
  let attr = Attr.NONE;
  while (h5.next()) {
    const type = h5.tokenType;
    const ts = h5.tokenStart;
    const tl = h5.tokenLen;
    if (type !== H5Type_.ATTR_VALUE) attr = Attr.NONE;
    if (type === H5Type_.DOCTYPE) return true;
    if (type === H5Type_.TAG_NAME_OPEN) {
      if (isBlackTag(s, ts, tl)) return true;
    } else if (type === H5Type_.ATTR_NAME) {
      attr = isBlackAttr(s, ts, tl);
    } else if (type === H5Type_.ATTR_VALUE) {
      switch (attr) {
        case Attr.NONE:
          break;
        case Attr.BLACK:
        case Attr.STYLE:
          return true;
        case Attr.URL:
          if (isBlackUrl(s, ts, tl)) return true;
          break;
        case Attr.INDIRECT:
          if (isBlackAttr(s, ts, tl) !== Attr.NONE) return true;
          break;
      }
      attr = Attr.NONE;
    } else if (type === H5Type_.TAG_COMMENT) {
      const c = s.substr(ts, tl);
      if (c.includes('`')) return true; // IE ends a tag at a backquote
      if (tl > 3 && (startsWithCi(s, ts, '[IF') || startsWithCi(s, ts, 'XML'))) return true; // IE conditional comments, XML
      if (tl > 5 && (squeeze(s, ts, 6) === 'IMPORT' || squeeze(s, ts, 6) === 'ENTITY')) return true; // <?import, entity definitions
    }
  }
  return false;
}

/** Whether ModSecurity's @detectXSS matches input (bytes read as latin1). */
export function detectXSS(input: string): boolean {
  return (
    isXssFrom(input, H5Start_.DATA_STATE) ||
    isXssFrom(input, H5Start_.VALUE_NO_QUOTE) ||
    isXssFrom(input, H5Start_.VALUE_SINGLE_QUOTE) ||
    isXssFrom(input, H5Start_.VALUE_DOUBLE_QUOTE) ||
    isXssFrom(input, H5Start_.VALUE_BACK_QUOTE)
  );
}

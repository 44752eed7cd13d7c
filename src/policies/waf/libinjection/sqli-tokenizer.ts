/**
 * libinjection's SQL tokenizer (libinjection_sqli.c, v3.9.2), in TypeScript.
 *
 * The input is a string of bytes read as latin1 (char codes 0-255), as
 * ModSecurity hands values to libinjection. Every quirk of the C code that
 * changes a fingerprint is kept on purpose, since CRS rule 942100 and its
 * tests assume them: a token's value keeps at most 31 characters, a NUL byte
 * ends a word and is accepted by every "span of these characters" scan (C's
 * strchr finds the terminator), bytes from 0x80 count as below 33 where the
 * C code compares a signed char, and a comment left open is
 * never nested. Each parser reads forward only: the work is linear
 * in the input.
 */
import { lookupOperator, lookupWord } from './sqli-lookup.js';

// Imports bound to module constants once: run under tsx (tests, bench) every
// use of an imported name is a getter call, and these are on the hot path.
const lookupWord_ = lookupWord;
const lookupOperator_ = lookupOperator;

export const FLAG_QUOTE_NONE = 1;
export const FLAG_QUOTE_SINGLE = 2;
export const FLAG_QUOTE_DOUBLE = 4;
export const FLAG_SQL_ANSI = 8;
export const FLAG_SQL_MYSQL = 16;

/** Token types, as libinjection's one-character codes ('' is none). */
export const T = {
  NONE: '',
  KEYWORD: 'k',
  UNION: 'U',
  GROUP: 'B',
  EXPRESSION: 'E',
  SQLTYPE: 't',
  FUNCTION: 'f',
  BAREWORD: 'n',
  NUMBER: '1',
  VARIABLE: 'v',
  STRING: 's',
  OPERATOR: 'o',
  LOGIC_OPERATOR: '&',
  COMMENT: 'c',
  COLLATE: 'A',
  LEFTPARENS: '(',
  RIGHTPARENS: ')',
  LEFTBRACE: '{',
  RIGHTBRACE: '}',
  DOT: '.',
  COMMA: ',',
  COLON: ':',
  SEMICOLON: ';',
  TSQL: 'T',
  UNKNOWN: '?',
  EVIL: 'X',
  BACKSLASH: '\\',
} as const;

/** The most characters of a token's value kept (libinjection's val[32] less the NUL). */
export const TOKEN_VALUE_MAX = 31;

export interface Token {
  type: string;
  pos: number;
  len: number;
  val: string;
  /** The quote that opened a string ('' when the context supplied it). */
  strOpen: string;
  /** The quote that closed it ('' when the input ended first). */
  strClose: string;
}

export function newToken(): Token {
  return { type: '', pos: 0, len: 0, val: '', strOpen: '', strClose: '' };
}

export function clearToken(t: Token): void {
  t.type = '';
  t.pos = 0;
  t.len = 0;
  t.val = '';
  t.strOpen = '';
  t.strClose = '';
}

export function copyToken(dest: Token, src: Token): void {
  dest.type = src.type;
  dest.pos = src.pos;
  dest.len = src.len;
  dest.val = src.val;
  dest.strOpen = src.strOpen;
  dest.strClose = src.strClose;
}

export class SqliState {
  pos = 0;
  current: Token;
  readonly tokenvec: Token[] = [newToken(), newToken(), newToken(), newToken(), newToken(), newToken(), newToken(), newToken()];
  fingerprint = '';
  statsCommentDdx = 0;
  statsCommentHash = 0;
  statsTokens = 0;
  statsFolds = 0;

  constructor(
    public s: string,
    public flags: number,
  ) {
    this.current = this.tokenvec[0]!;
  }

  /** libinjection_sqli_reset: everything but the input cleared, under new flags. */
  reset(flags: number): void {
    this.flags = flags === 0 ? FLAG_QUOTE_NONE | FLAG_SQL_ANSI : flags;
    this.pos = 0;
    for (const t of this.tokenvec) clearToken(t);
    this.current = this.tokenvec[0]!;
    this.fingerprint = '';
    this.statsCommentDdx = 0;
    this.statsCommentHash = 0;
    this.statsTokens = 0;
    this.statsFolds = 0;
  }
}

function assign(st: Token, type: string, pos: number, len: number, s: string, from: number): void {
  const last = len < TOKEN_VALUE_MAX + 1 ? len : TOKEN_VALUE_MAX;
  st.type = type;
  st.pos = pos;
  st.len = last;
  st.val = s.substr(from, last);
}

function assignChar(st: Token, type: string, pos: number, value: string): void {
  st.type = type;
  st.pos = pos;
  st.len = 1;
  st.val = value;
}

/** A 256-entry membership table; NUL is always a member (C's strchr finds the terminator). */
function charSet(chars: string): Uint8Array {
  const t = new Uint8Array(256);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  t[0] = 1;
  return t;
}
const inSet = (set: Uint8Array, c: number): boolean => c < 256 && set[c] === 1;

const WHITE = charSet(' \t\n\v\f\r\xa0');
const WORD_END = charSet(' []{}<>:\\?=@!#~+-*/&|^%(),\';\t\n\v\f\r"\xa0');
const VAR_END = charSet(' <>:\\?=@!#~+-*/&|^%(),\';\t\n\v\f\r\'`"');
const BINARY = charSet('01');
const HEX = charSet('0123456789ABCDEFabcdef');
const MONEY = charSet('0123456789.,');
const LETTERS = charSet('abcdefghjiklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ');

const isWhite = (c: number): boolean => inSet(WHITE, c);
const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** strlenspn: how many characters from pos are in set, up to end. */
function spanIn(s: string, pos: number, end: number, set: Uint8Array): number {
  let i = pos;
  while (i < end && inSet(set, s.charCodeAt(i))) i++;
  return i - pos;
}

/** strlencspn: how many characters from pos are not in set, up to end. */
function spanOut(s: string, pos: number, end: number, set: Uint8Array): number {
  let i = pos;
  while (i < end && !inSet(set, s.charCodeAt(i))) i++;
  return i - pos;
}

/** memchr2: the first index i in [start, start+len-1) with s[i] = c0 and s[i+1] = c1, or -1. */
function memchr2(s: string, start: number, len: number, pair: string): number {
  if (len < 2) return -1;
  const i = s.indexOf(pair, start);
  return i >= 0 && i + 1 < start + len ? i : -1;
}

/** Whether c0 c1 occur together with c0 in [from, to - 1): a search bounded at both ends. */
function hasPair(s: string, from: number, to: number, c0: number, c1: number): boolean {
  for (let i = from; i + 1 < to; i++) if (s.charCodeAt(i) === c0 && s.charCodeAt(i + 1) === c1) return true;
  return false;
}

type Parser = (sf: SqliState) => number;

function parseWhite(sf: SqliState): number {
  return sf.pos + 1;
}

function parseOperator1(sf: SqliState): number {
  assignChar(sf.current, T.OPERATOR, sf.pos, sf.s[sf.pos]!);
  return sf.pos + 1;
}

function parseOther(sf: SqliState): number {
  assignChar(sf.current, T.UNKNOWN, sf.pos, sf.s[sf.pos]!);
  return sf.pos + 1;
}

function parseChar(sf: SqliState): number {
  const ch = sf.s[sf.pos]!;
  assignChar(sf.current, ch, sf.pos, ch);
  return sf.pos + 1;
}

function parseEolComment(sf: SqliState): number {
  const { s, pos } = sf;
  const end = s.indexOf('\n', pos);
  if (end < 0) {
    assign(sf.current, T.COMMENT, pos, s.length - pos, s, pos);
    return s.length;
  }
  assign(sf.current, T.COMMENT, pos, end - pos, s, pos);
  return end + 1;
}

/** '#' is an operator in ANSI SQL and an end-of-line comment in MySQL. */
function parseHash(sf: SqliState): number {
  sf.statsCommentHash += 1;
  if (sf.flags & FLAG_SQL_MYSQL) {
    sf.statsCommentHash += 1;
    return parseEolComment(sf);
  }
  assignChar(sf.current, T.OPERATOR, sf.pos, '#');
  return sf.pos + 1;
}

/** '--' followed by white space or the end is a comment everywhere; '--x' only in ANSI (MySQL reads two minus signs). */
function parseDash(sf: SqliState): number {
  const { s, pos } = sf;
  const slen = s.length;
  const next = s.charCodeAt(pos + 1);
  if (pos + 2 < slen && next === 45 && isWhite(s.charCodeAt(pos + 2))) return parseEolComment(sf);
  if (pos + 2 === slen && next === 45) return parseEolComment(sf);
  if (pos + 1 < slen && next === 45 && sf.flags & FLAG_SQL_ANSI) {
    sf.statsCommentDdx += 1;
    return parseEolComment(sf);
  }
  assignChar(sf.current, T.OPERATOR, pos, '-');
  return pos + 1;
}

/** A C comment; one holding a nested opener, or MySQL's executable form, is evil (unparsable). */
function parseSlash(sf: SqliState): number {
  const { s, pos } = sf;
  const slen = s.length;
  if (pos + 1 === slen || s.charCodeAt(pos + 1) !== 42) return parseOperator1(sf);
  const end = memchr2(s, pos + 2, slen - (pos + 2), '*/');
  const clen = end < 0 ? slen - pos : end + 2 - pos;
  let ctype: string = T.COMMENT;
  if (end >= 0 && hasPair(s, pos + 2, end + 1, 47, 42)) ctype = T.EVIL;
  else if (pos + 2 < slen && s.charCodeAt(pos + 2) === 33) ctype = T.EVIL; // "/*!" MySQL conditional comment
  assign(sf.current, ctype, pos, clen, s, pos);
  return pos + clen;
}

/** "\N" is MySQL's NULL; any other backslash is its own token. */
function parseBackslash(sf: SqliState): number {
  const { s, pos } = sf;
  if (pos + 1 < s.length && s.charCodeAt(pos + 1) === 78) {
    assign(sf.current, T.NUMBER, pos, 2, s, pos);
    return pos + 2;
  }
  assignChar(sf.current, T.BACKSLASH, pos, '\\');
  return pos + 1;
}

function parseOperator2(sf: SqliState): number {
  const { s, pos } = sf;
  const slen = s.length;
  if (pos + 1 >= slen) return parseOperator1(sf);
  if (pos + 2 < slen && s[pos] === '<' && s[pos + 1] === '=' && s[pos + 2] === '>') {
    assign(sf.current, T.OPERATOR, pos, 3, s, pos);
    return pos + 3;
  }
  const ch = lookupOperator_(s, pos);
  if (ch !== '') {
    assign(sf.current, ch, pos, 2, s, pos);
    return pos + 2;
  }
  if (s[pos] === ':') {
    assign(sf.current, T.COLON, pos, 1, s, pos);
    return pos + 1;
  }
  return parseOperator1(sf);
}

/** An odd run of backslashes ending at end (reading back no further than start) escapes the next character. */
function isBackslashEscaped(s: string, end: number, start: number): boolean {
  let p = end;
  while (p >= start && s.charCodeAt(p) === 92) p--;
  return ((end - p) & 1) === 1;
}

/**
 * A string from pos (offset 1: after its opening quote; 0: the quote was
 * supplied by the context) to the next delimiter that is neither escaped by a
 * backslash nor doubled.
 */
export function parseStringCore(s: string, pos: number, st: Token, delim: string, offset: number): number {
  const len = s.length;
  let q = s.indexOf(delim, pos + offset);
  st.strOpen = offset > 0 ? delim : '';
  for (;;) {
    if (q < 0) {
      assign(st, T.STRING, pos + offset, len - pos - offset, s, pos + offset);
      st.strClose = '';
      return len;
    } else if (isBackslashEscaped(s, q - 1, pos + offset)) {
      q = s.indexOf(delim, q + 1);
    } else if (q + 1 < len && s[q + 1] === s[q]) {
      q = s.indexOf(delim, q + 2);
    } else {
      assign(st, T.STRING, pos + offset, q - (pos + offset), s, pos + offset);
      st.strClose = delim;
      return q + 1;
    }
  }
}

function parseString(sf: SqliState): number {
  return parseStringCore(sf.s, sf.pos, sf.current, sf.s[sf.pos]!, 1);
}

/** E'...' (PostgreSQL escaped string) and N'...' (national character set). */
function parseEstring(sf: SqliState): number {
  const { s, pos } = sf;
  if (pos + 2 >= s.length || s[pos + 1] !== "'") return parseWord(sf);
  return parseStringCore(s, pos, sf.current, "'", 2);
}

/** U&'...' (unicode escaped string). */
function parseUstring(sf: SqliState): number {
  const { s, pos } = sf;
  if (pos + 2 < s.length && s[pos + 1] === '&' && s[pos + 2] === "'") {
    sf.pos += 2;
    const next = parseString(sf);
    sf.current.strOpen = 'u';
    if (sf.current.strClose === "'") sf.current.strClose = 'u';
    return next;
  }
  return parseWord(sf);
}

/** Oracle's q'Xstring X' quoting, where X is the chosen delimiter (brackets pair). */
function parseQstringCore(sf: SqliState, offset: number): number {
  const s = sf.s;
  const slen = s.length;
  const pos = sf.pos + offset;
  if (pos >= slen || (s[pos] !== 'q' && s[pos] !== 'Q') || pos + 2 >= slen || s[pos + 1] !== "'") return parseWord(sf);
  const code = s.charCodeAt(pos + 2);
  // The C code compares a signed char: bytes from 0x80 are below 33 too.
  if (code < 33 || code > 127) return parseWord(sf);
  let ch = s[pos + 2]!;
  if (ch === '(') ch = ')';
  else if (ch === '[') ch = ']';
  else if (ch === '{') ch = '}';
  else if (ch === '<') ch = '>';
  const end = memchr2(s, pos + 3, slen - pos - 3, ch + "'");
  if (end < 0) {
    assign(sf.current, T.STRING, pos + 3, slen - pos - 3, s, pos + 3);
    sf.current.strOpen = 'q';
    sf.current.strClose = '';
    return slen;
  }
  assign(sf.current, T.STRING, pos + 3, end - pos - 3, s, pos + 3);
  sf.current.strOpen = 'q';
  sf.current.strClose = 'q';
  return end + 2;
}

function parseQstring(sf: SqliState): number {
  return parseQstringCore(sf, 0);
}

/** N'...' (MySQL) or nq'X...X' (Oracle). */
function parseNqstring(sf: SqliState): number {
  if (sf.pos + 2 < sf.s.length && sf.s[sf.pos + 1] === "'") return parseEstring(sf);
  return parseQstringCore(sf, 1);
}

/** b'0101' and x'beef' literals are numbers. */
function parseDigitString(sf: SqliState, digits: Uint8Array): number {
  const { s, pos } = sf;
  const slen = s.length;
  if (pos + 2 >= slen || s[pos + 1] !== "'") return parseWord(sf);
  const wlen = spanIn(s, pos + 2, slen, digits);
  if (pos + 2 + wlen >= slen || s[pos + 2 + wlen] !== "'") return parseWord(sf);
  assign(sf.current, T.NUMBER, pos, wlen + 3, s, pos);
  return pos + 2 + wlen + 1;
}

const parseBstring: Parser = (sf) => parseDigitString(sf, BINARY);
const parseXstring: Parser = (sf) => parseDigitString(sf, HEX);

/** SQL Server's [bracketed words]. */
function parseBword(sf: SqliState): number {
  const { s, pos } = sf;
  const end = s.indexOf(']', pos);
  if (end < 0) {
    assign(sf.current, T.BAREWORD, pos, s.length - pos, s, pos);
    return s.length;
  }
  assign(sf.current, T.BAREWORD, pos, end - pos + 1, s, pos);
  return end + 1;
}

export function parseWord(sf: SqliState): number {
  const { s, pos } = sf;
  const wlen = spanOut(s, pos, s.length, WORD_END);
  const cur = sf.current;
  assign(cur, T.BAREWORD, pos, wlen, s, pos);
  // "SELECT.1" or "SELECT`col`": a keyword before '.' or '`' is a token of its own.
  for (let i = 0; i < cur.len; i++) {
    const delim = cur.val[i];
    if (delim === '.' || delim === '`') {
      const ch = lookupWord_(cur.val.slice(0, i));
      if (ch !== '' && ch !== T.BAREWORD) {
        clearToken(cur);
        assign(cur, ch, pos, i, s, pos);
        return pos + i;
      }
    }
  }
  if (wlen < TOKEN_VALUE_MAX + 1) {
    const ch = lookupWord_(cur.val);
    cur.type = ch === '' ? T.BAREWORD : ch;
  }
  return pos + wlen;
}

/** MySQL `backticks`: a bare word, or a function when the quoted name is one. */
function parseTick(sf: SqliState): number {
  const next = parseStringCore(sf.s, sf.pos, sf.current, '`', 1);
  sf.current.type = lookupWord_(sf.current.val) === T.FUNCTION ? T.FUNCTION : T.BAREWORD;
  return next;
}

/** @var, @@var, @@`var`, @'var'. */
function parseVar(sf: SqliState): number {
  const s = sf.s;
  const slen = s.length;
  let pos = sf.pos + 1;
  if (pos < slen && s[pos] === '@') pos += 1;
  if (pos < slen) {
    if (s[pos] === '`') {
      sf.pos = pos;
      const next = parseTick(sf);
      sf.current.type = T.VARIABLE;
      return next;
    } else if (s[pos] === "'" || s[pos] === '"') {
      sf.pos = pos;
      const next = parseString(sf);
      sf.current.type = T.VARIABLE;
      return next;
    }
  }
  const xlen = spanOut(s, pos, slen, VAR_END);
  assign(sf.current, T.VARIABLE, pos, xlen, s, pos);
  return pos + xlen;
}

/** $1,000.00 is a number; $$...$$ and $tag$...$tag$ are PostgreSQL strings. */
function parseMoney(sf: SqliState): number {
  const s = sf.s;
  const slen = s.length;
  const pos = sf.pos;
  if (pos + 1 === slen) {
    assignChar(sf.current, T.BAREWORD, pos, '$');
    return slen;
  }
  let xlen = spanIn(s, pos + 1, slen, MONEY);
  if (xlen === 0) {
    if (s[pos + 1] === '$') {
      const end = memchr2(s, pos + 2, slen - pos - 2, '$$');
      if (end < 0) {
        assign(sf.current, T.STRING, pos + 2, slen - (pos + 2), s, pos + 2);
        sf.current.strOpen = '$';
        sf.current.strClose = '';
        return slen;
      }
      assign(sf.current, T.STRING, pos + 2, end - (pos + 2), s, pos + 2);
      sf.current.strOpen = '$';
      sf.current.strClose = '$';
      return end + 2;
    }
    xlen = spanIn(s, pos + 1, slen, LETTERS);
    if (xlen === 0 || pos + xlen + 1 === slen || s[pos + xlen + 1] !== '$') {
      assignChar(sf.current, T.BAREWORD, pos, '$');
      return pos + 1;
    }
    // $tag$ ... $tag$
    const tag = s.substr(pos, xlen + 2);
    const end = s.indexOf(tag, pos + xlen + 2);
    const start = pos + xlen + 2;
    if (end < 0) {
      assign(sf.current, T.STRING, start, slen - start, s, start);
      sf.current.strOpen = '$';
      sf.current.strClose = '';
      return slen;
    }
    assign(sf.current, T.STRING, start, end - start, s, start);
    sf.current.strOpen = '$';
    sf.current.strClose = '$';
    return end + xlen + 2;
  }
  if (xlen === 1 && s[pos + 1] === '.') return parseWord(sf); // "$." is a word
  assign(sf.current, T.NUMBER, pos, 1 + xlen, s, pos);
  return pos + 1 + xlen;
}

function parseNumber(sf: SqliState): number {
  const s = sf.s;
  const slen = s.length;
  let pos = sf.pos;
  if (s[pos] === '0' && pos + 1 < slen) {
    const x = s[pos + 1];
    const digits = x === 'X' || x === 'x' ? HEX : x === 'B' || x === 'b' ? BINARY : undefined;
    if (digits) {
      const xlen = spanIn(s, pos + 2, slen, digits);
      if (xlen === 0) {
        assign(sf.current, T.BAREWORD, pos, 2, s, pos);
        return pos + 2;
      }
      assign(sf.current, T.NUMBER, pos, 2 + xlen, s, pos);
      return pos + 2 + xlen;
    }
  }
  const start = pos;
  let haveE = false;
  let haveExp = false;
  while (pos < slen && isDigit(s.charCodeAt(pos))) pos++;
  if (pos < slen && s[pos] === '.') {
    pos++;
    while (pos < slen && isDigit(s.charCodeAt(pos))) pos++;
    if (pos - start === 1) {
      assignChar(sf.current, T.DOT, start, '.'); // a lone "."
      return pos;
    }
  }
  if (pos < slen && (s[pos] === 'E' || s[pos] === 'e')) {
    haveE = true;
    pos++;
    if (pos < slen && (s[pos] === '+' || s[pos] === '-')) pos++;
    while (pos < slen && isDigit(s.charCodeAt(pos))) {
      haveExp = true;
      pos++;
    }
  }
  // Oracle's float/double suffixes: "1.2f", "1d ", and "1fUNION" read as "1f UNION".
  if (pos < slen && (s[pos] === 'd' || s[pos] === 'D' || s[pos] === 'f' || s[pos] === 'F')) {
    if (pos + 1 === slen) pos++;
    else if (isWhite(s.charCodeAt(pos + 1)) || s[pos + 1] === ';') pos++;
    else if (s[pos + 1] === 'u' || s[pos + 1] === 'U') pos++;
  }
  // "1234.e", "10.10E" and "5E" are words, not numbers.
  assign(sf.current, haveE && !haveExp ? T.BAREWORD : T.NUMBER, start, pos - start, s, start);
  return pos;
}

/** libinjection's char_parse_map for the ASCII range; bytes from 0x80 are words except 0xA0 (white). */
const PARSERS: Parser[] = (() => {
  const map: Parser[] = new Array<Parser>(128).fill(parseWord);
  for (let c = 0; c <= 32; c++) map[c] = parseWhite;
  map[127] = parseWhite;
  const set = (chars: string, p: Parser) => {
    for (const ch of chars) map[ch.charCodeAt(0)] = p;
  };
  set('!&*:<=>|', parseOperator2);
  set('"\'', parseString);
  set('#', parseHash);
  set('$', parseMoney);
  set('%+^~', parseOperator1);
  set('(),;{}', parseChar);
  set('-', parseDash);
  set('.0123456789', parseNumber);
  set('/', parseSlash);
  set('?]', parseOther);
  set('@', parseVar);
  set('Bb', parseBstring);
  set('Ee', parseEstring);
  set('Nn', parseNqstring);
  set('Qq', parseQstring);
  set('Uu', parseUstring);
  set('Xx', parseXstring);
  set('[', parseBword);
  set('\\', parseBackslash);
  set('`', parseTick);
  return map;
})();

/** The next token into sf.current; false at the end of the input. */
export function tokenize(sf: SqliState): boolean {
  const s = sf.s;
  const slen = s.length;
  if (slen === 0) return false;
  const current = sf.current;
  clearToken(current);
  if (sf.pos === 0 && sf.flags & (FLAG_QUOTE_SINGLE | FLAG_QUOTE_DOUBLE)) {
    // In a quote context the input is read as if it began with that quote.
    sf.pos = parseStringCore(s, 0, current, sf.flags & FLAG_QUOTE_SINGLE ? "'" : '"', 0);
    sf.statsTokens += 1;
    return true;
  }
  while (sf.pos < slen) {
    const ch = s.charCodeAt(sf.pos);
    const parser = ch > 127 ? (ch === 160 ? parseWhite : parseWord) : PARSERS[ch]!;
    sf.pos = parser(sf);
    if (current.type !== '') {
      sf.statsTokens += 1;
      return true;
    }
  }
  return false;
}

/**
 * SQL injection detection by tokenizing, not by pattern lists: the parameter
 * is lexed as SQL in each context it could have been pasted into (bare, after
 * a single quote, after a double quote), folded, and read by a small SQL
 * grammar (see grammar.ts). Returns the paranoia level at which the value
 * counts as SQL injection: 1, 2, or 0 for not at all.
 */
import { Folder } from './fold.js';
import { Flag, Grammar } from './grammar.js';
import { Kind } from './keywords.js';
import { Lexer, MAX_TOKENS, type QuoteContext, type Token } from './lexer.js';

export type SqliLevel = 0 | 1 | 2;

/** What makes a boolean tail SQL rather than "salt and pepper". */
const BOOLEAN_EVIDENCE = Flag.Compare | Flag.Function | Flag.Variable | Flag.Subquery | Flag.Case;

export class SqliDetector {
  private readonly lexer = new Lexer();
  private readonly folder = new Folder(MAX_TOKENS);
  private readonly grammar = new Grammar();
  /** Reading a derived form (a hex literal's text, words rejoined): it is not derived from again. */
  private derived = false;

  check(value: string): SqliLevel {
    let best: SqliLevel = this.checkIn(value, 0);
    if (best === 1) return 1;
    if (value.includes("'")) {
      const level = this.checkIn(value, 0x27);
      if (level === 1) return 1;
      best ||= level;
    }
    if (value.includes('"')) {
      const level = this.checkIn(value, 0x22);
      if (level === 1) return 1;
      best ||= level;
    }
    if (!this.derived && (this.hexLiteralIsSql(value) || this.rejoinedIsSql(value))) return 1;
    return best;
  }

  /** Reads a form derived from the value; only a clear injection (level 1) counts. */
  private checkDerived(text: string): boolean {
    this.derived = true;
    try {
      return this.check(text) === 1;
    } finally {
      this.derived = false;
    }
  }

  /**
   * UN/**\/ION SEL/**\/ECT: to SQL the comment splits the word in two, but a filter or application that strips
   * comments before the query is built joins it again. A value that is an injection once rejoined is one.
   */
  private rejoinedIsSql(value: string): boolean {
    if (!value.includes('/*')) return false;
    const joined = rejoinSplitWords(value);
    return joined !== value && this.checkDerived(joined);
  }

  /**
   * SQL's own encoding layer: DECLARE @s ... SET @s=0x77616974...; EXEC(@s) hides the statement in a hex literal
   * that MSSQL and MySQL turn back into text (ASCII or UTF-16LE). A literal whose text is itself SQL injection is
   * the attack's payload; ordinary hex (hashes, colours, addresses) is not printable text.
   */
  private hexLiteralIsSql(value: string): boolean {
    // Only literals that decode to text count against the limit: "a0x" or "0xff" decoys must not use it up.
    let decoded = 0;
    for (let from = nextHexStart(value, 0); from !== -1 && decoded < MAX_HEX_LITERALS; from = nextHexStart(value, from + 2)) {
      const text = hexLiteralText(value, from);
      if (text === undefined) continue;
      if (this.checkDerived(text)) return true;
      decoded++;
    }
    return false;
  }

  private checkIn(value: string, quote: QuoteContext): SqliLevel {
    const level = this.read(value, quote);
    if (level === 1 || !this.lexer.sawNestedComment) return level;
    // PostgreSQL nests /* comments */ where MySQL does not: read it both ways
    this.lexer.nestComments = true;
    try {
      return this.read(value, quote) || level;
    } finally {
      this.lexer.nestComments = false;
    }
  }

  private read(value: string, quote: QuoteContext): SqliLevel {
    const raw = this.lexer.run(value, quote);
    const n = this.folder.run(this.lexer.tokens, raw);
    // a view of exactly n tokens: the pool behind it holds stale ones past the end
    const tokens = this.folder.tokens.slice(0, n);
    if (this.grammar.anywhere(tokens, n)) return 1;
    const flags = this.grammar.tail(tokens, n, this.lexer.truncated);
    if (flags === 0) return 0;
    if (quote === 0) return bareLevel(flags, tokens);
    if (closesTheString(tokens, n, this.lexer.blankTrailingComment)) return 1;
    return quotedLevel(flags);
  }
}

function isLetter(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

/** Removes the inline comments that sit inside a word (letters on both sides): sel/**\/ect → select. */
export function rejoinSplitWords(value: string): string {
  let out = '';
  let last = 0;
  let end = -1; // the first "*\/" after the current "/*", found once per run of openings: linear overall
  for (let at = value.indexOf('/*'); at !== -1; at = value.indexOf('/*', at + 2)) {
    if (at === 0 || !isLetter(value.charCodeAt(at - 1)) || value.charCodeAt(at + 2) === 0x21 /* ! executable */) continue;
    if (end < at + 2) end = value.indexOf('*/', at + 2);
    if (end === -1) break;
    if (!isLetter(value.charCodeAt(end + 2))) continue;
    out += value.slice(last, at);
    last = end + 2;
    at = end;
  }
  return last === 0 ? value : out + value.slice(last);
}

/** Hex literals decoded to text per value, at most: each is read once more as SQL. */
const MAX_HEX_LITERALS = 4;
/** The shortest literal worth reading: 4 bytes of text. */
const MIN_HEX_DIGITS = 8;

function nextHexStart(value: string, from: number): number {
  for (let i = value.indexOf('0', from); i !== -1 && i + 1 < value.length; i = value.indexOf('0', i + 1)) {
    if ((value.charCodeAt(i + 1) | 0x20) === 0x78) return i;
  }
  return -1;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x57 : -1;
}

/** The printable text of the hex literal "0x..." at `at` (ASCII, or UTF-16LE as NVARCHAR holds it), or undefined. */
export function hexLiteralText(value: string, at: number): string | undefined {
  if (at > 0) {
    // "a0x1234...": inside a word, not a literal
    const before = value.charCodeAt(at - 1);
    if (hexDigit(before) >= 0 || (before | 0x20) === 0x78 || ((before | 0x20) >= 0x61 && (before | 0x20) <= 0x7a) || before === 0x5f) return undefined;
  }
  let end = at + 2;
  while (end < value.length && hexDigit(value.charCodeAt(end)) >= 0) end++;
  const digits = end - at - 2;
  if (digits < MIN_HEX_DIGITS || digits % 2 !== 0) return undefined;
  const bytes: number[] = [];
  for (let i = at + 2; i < end; i += 2) bytes.push(hexDigit(value.charCodeAt(i)) * 16 + hexDigit(value.charCodeAt(i + 1)));
  let wide = bytes.length % 2 === 0;
  for (let i = 1; wide && i < bytes.length; i += 2) if (bytes[i] !== 0) wide = false;
  let text = '';
  for (let i = 0; i < bytes.length; i += wide ? 2 : 1) {
    const b = bytes[i]!;
    if ((b < 0x20 || b > 0x7e) && b !== 0x09 && b !== 0x0a && b !== 0x0d) return undefined;
    text += String.fromCharCode(b);
  }
  return text;
}

/** The parameter was pasted as a number or a name: WHERE id = <value> */
function bareLevel(flags: number, tokens: readonly Token[]): SqliLevel {
  if (flags & Flag.FullStatement) return flags & Flag.Strong ? 1 : 2;
  if (flags & Flag.Strong) return 1;
  if (flags & Flag.Logic && flags & BOOLEAN_EVIDENCE) return 1;
  // OR 2 BETWEEN 1 AND 3, OR 'x' IN ('x')
  if (flags & Flag.Logic && flags & Flag.WordCompare && flags & (Flag.NumberOperand | Flag.StringOperand)) return 1;
  const prefix = tokens[0]!.kind;
  const valueFirst = prefix === Kind.Number || prefix === Kind.Variable || prefix === Kind.Literal || prefix === Kind.Arith || prefix === Kind.LeftParen;
  if (flags & Flag.Comment && !(flags & Flag.Comma)) {
    // 1--, 1*1--, @version /* : a number cut short by a comment
    if (valueFirst && !(flags & (Flag.NameInChain | Flag.Logic))) return 1;
    if (flags & Flag.Compare) return 1;
    if (flags & Flag.Logic && flags & (Flag.NumberOperand | Flag.StringOperand)) return 1;
  }
  if (flags & Flag.Clause && (valueFirst || flags & Flag.Compare)) return 1;
  if (flags & Flag.Arith && flags & (Flag.Function | Flag.Subquery)) return 1;
  if (flags & Flag.Logic && flags & (Flag.NumberOperand | Flag.StringOperand | Flag.Not | Flag.Comment)) return 2;
  if (flags & (Flag.HashComment | Flag.Clause | Flag.Stacked | Flag.WordCompare)) return 2;
  return 0;
}

/**
 * The two shortest ways out of a string, each with nothing else in the value, when the value's quote closes the
 * string (it follows a word or starts the value; after a space a quote opens a quotation, as in SOAP 1 '#):
 *
 *   admin' #     the rest of the query commented out (MySQL)
 *   admin' OR '  OR binds looser than the query's own AND: user='admin' OR '' AND pass='...'
 */
function closesTheString(tokens: readonly Token[], n: number, blankComment: boolean): boolean {
  const prefix = tokens[0]!;
  if (prefix.kind !== Kind.String || !prefix.closed) return false;
  if (prefix.text.length > 0 && isBlank(prefix.text.charCodeAt(prefix.text.length - 1))) return false;
  if (n === 2) return tokens[1]!.kind === Kind.Comment && tokens[1]!.text === '#' && blankComment;
  if (n !== 3 || tokens[1]!.kind !== Kind.Logic) return false;
  const open = tokens[2]!;
  return open.kind === Kind.String && !open.closed && open.quote === prefix.quote && open.text.trim() === '';
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0xa0;
}

/** The parameter was pasted inside a string literal: WHERE name = '<value>' */
function quotedLevel(flags: number): SqliLevel {
  if (flags & Flag.Strong) return 1;
  if (flags & Flag.Logic && flags & BOOLEAN_EVIDENCE) return 1;
  if (flags & Flag.Logic && flags & (Flag.StringOperand | Flag.NumberOperand) && flags & (Flag.Arith | Flag.Comment | Flag.WordCompare)) return 1;
  // x' OR name LIKE '%Bob%
  if (flags & Flag.Logic && flags & Flag.WordCompare) return 1;
  const comma = flags & Flag.Comma;
  // x'='x, x' = 1 --, admin'--, admin'/*
  if (!comma && flags & (Flag.DirectCompare | Flag.Comment | Flag.Clause)) return 1;
  // x'+'y, x'||'y, x' - 'y' - 0 = '1: a concatenation that leaves the application's own quote balanced. Search
  // syntax joins quoted terms too (WOOD" + "SIGN" + "PRIMITIVE"), but ends on a closed one: a query that does not parse.
  if (!comma && flags & Flag.StringJoin && flags & (Flag.OpenEnd | Flag.Comment)) return 1;
  // '-', '*', '&': the value opens with the quote and does arithmetic on empty strings (a MySQL login bypass)
  if (flags & Flag.EmptyStringArith) return 1;
  if (flags & Flag.Arith && flags & (Flag.Function | Flag.Subquery)) return 1;
  if (flags & (Flag.HashComment | Flag.Arith | Flag.Logic | Flag.Stacked | Flag.WordCompare | Flag.Compare | Flag.Comment)) return 2;
  return 0;
}

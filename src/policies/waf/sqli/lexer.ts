/**
 * A SQL lexer for untrusted fragments, in the spirit of libinjection: it reads
 * a parameter the way a database would read it once pasted into a query,
 * either bare (a number or name context) or as the rest of a string literal
 * the application opened (the quote contexts). Whitespace of every kind and
 * inline comments vanish; MySQL's executable comments (/*! ... *\/) are read
 * as code, because MySQL runs them.
 *
 * It never backtracks: one pass, each character looked at a bounded number of
 * times, at most MAX_TOKENS tokens.
 */
import { Kind, kindOfWord } from './keywords.js';

export interface Token {
  kind: Kind;
  /** Whitespace or a comment came before this token. */
  gap: boolean;
  /** Lower-cased text for words and operators; the content for strings. */
  text: string;
  /** For strings: the literal was closed inside the input. */
  closed: boolean;
  /** For strings: the quote character that opened it. */
  quote: number;
}

/** The quote the application opened before the parameter, or none. */
export type QuoteContext = 0 | 0x27 | 0x22;

export const MAX_TOKENS = 128;

const Ch = {
  Tab: 0x09,
  Newline: 0x0a,
  VTab: 0x0b,
  FormFeed: 0x0c,
  Return: 0x0d,
  Space: 0x20,
  Bang: 0x21,
  DoubleQuote: 0x22,
  Hash: 0x23,
  Dollar: 0x24,
  Percent: 0x25,
  Amp: 0x26,
  Quote: 0x27,
  LParen: 0x28,
  RParen: 0x29,
  Star: 0x2a,
  Plus: 0x2b,
  Comma: 0x2c,
  Minus: 0x2d,
  Dot: 0x2e,
  Slash: 0x2f,
  Colon: 0x3a,
  Semicolon: 0x3b,
  Less: 0x3c,
  Equals: 0x3d,
  Greater: 0x3e,
  At: 0x40,
  LBracket: 0x5b,
  Backslash: 0x5c,
  RBracket: 0x5d,
  Caret: 0x5e,
  Underscore: 0x5f,
  Backtick: 0x60,
  Pipe: 0x7c,
  Tilde: 0x7e,
  Nbsp: 0xa0,
} as const;

function isSpace(c: number): boolean {
  return c === Ch.Space || (c >= Ch.Tab && c <= Ch.Return) || c === Ch.Nbsp || c === 0 || c === 0x2028 || c === 0x2029 || c === 0x3000;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isWordStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === Ch.Underscore || c === Ch.Dollar || (c >= 0x80 && !isSpace(c));
}

function isWordPart(c: number): boolean {
  return isWordStart(c) || isDigit(c);
}

/** After "--": the characters that leave no doubt an ANSI dialect reads a comment, where MySQL would not. */
function startsAnsiComment(c: number): boolean {
  return c === Ch.Quote || c === Ch.DoubleQuote || c === Ch.Backtick || c === Ch.Plus || c === Ch.Semicolon || c === Ch.RParen || c === Ch.Hash || c === Ch.Slash;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** Prefixes that make the quote after them a string: N'..', X'..', B'..', E'..', _utf8'..' */
const STRING_PREFIXES = new Set(['n', 'x', 'b', 'e', 'u', 'q', '_utf8', '_utf8mb4', '_latin1', '_binary']);

export class Lexer {
  private input = '';
  private pos = 0;
  private end = 0;
  /** Positions where a MySQL executable comment ends ("*\/"), skipped as whitespace. */
  private inExecutableComment = false;
  /** Whitespace or a comment was skipped since the last token. */
  private gap = false;
  readonly tokens: Token[] = [];
  count = 0;
  /** An inline comment sat between tokens: a classic filter evasion. */
  sawInlineComment = false;
  /** A "/*" inside a comment: PostgreSQL nests comments where MySQL does not, so both readings are tried. */
  sawNestedComment = false;
  /** Read comments the PostgreSQL way, nested. */
  nestComments = false;
  /** The input had more tokens than MAX_TOKENS: the grammar saw only its start. */
  truncated = false;
  /** The comment that ends the input holds nothing but whitespace: admin' # (a "#2" or "#hashtag" holds something). */
  blankTrailingComment = false;

  constructor() {
    for (let i = 0; i < MAX_TOKENS; i++) this.tokens.push({ kind: Kind.Other, gap: false, text: '', closed: false, quote: 0 });
  }

  /** Tokenizes `input` as it would read after `quote`; returns the token count. */
  run(input: string, quote: QuoteContext): number {
    this.input = input;
    this.pos = 0;
    this.end = input.length;
    this.count = 0;
    this.gap = false;
    this.inExecutableComment = false;
    this.sawInlineComment = false;
    this.sawNestedComment = false;
    this.blankTrailingComment = false;
    if (quote !== 0) this.readString(quote, this.pos);
    while (this.count < MAX_TOKENS && this.next()) {
      // next() pushes tokens
    }
    this.truncated = this.count >= MAX_TOKENS && this.pos < this.end;
    return this.count;
  }

  private push(kind: Kind, text: string, closed = true, quote = 0): void {
    const token = this.tokens[this.count++]!;
    token.quote = quote;
    token.kind = kind;
    token.gap = this.gap;
    this.gap = false;
    token.text = text;
    token.closed = closed;
  }

  /** Reads one token (or skips whitespace/comments); false at the end of input. */
  private next(): boolean {
    const s = this.input;
    const before = this.pos;
    while (this.pos < this.end && isSpace(s.charCodeAt(this.pos))) this.pos++;
    if (this.pos > before) this.gap = true;
    if (this.pos >= this.end) return false;
    const start = this.pos;
    const c = s.charCodeAt(start);
    const c1 = start + 1 < this.end ? s.charCodeAt(start + 1) : -1;

    if (c === Ch.Quote || c === Ch.DoubleQuote) {
      this.pos++;
      this.readString(c, this.pos);
      return true;
    }
    if (c === Ch.Backtick || c === Ch.LBracket) {
      // `quoted` and [quoted] identifiers (MySQL, MSSQL)
      const close = c === Ch.Backtick ? Ch.Backtick : Ch.RBracket;
      const stop = s.indexOf(String.fromCharCode(close), start + 1);
      const last = stop === -1 ? this.end : stop;
      this.pos = stop === -1 ? this.end : stop + 1;
      this.push(Kind.Name, s.slice(start + 1, last).toLowerCase());
      return true;
    }
    if (isDigit(c) || (c === Ch.Dot && isDigit(c1))) return this.readNumber(start);
    if (isWordStart(c)) return this.readWord(start);
    if (c === Ch.At) {
      let i = start + 1;
      if (i < this.end && s.charCodeAt(i) === Ch.At) i++;
      const q = i < this.end ? s.charCodeAt(i) : -1;
      if (q === Ch.Quote || q === Ch.DoubleQuote || q === Ch.Backtick) {
        const stop = s.indexOf(String.fromCharCode(q), i + 1);
        this.pos = stop === -1 ? this.end : stop + 1;
      } else {
        while (i < this.end && (isWordPart(s.charCodeAt(i)) || s.charCodeAt(i) === Ch.Dot)) i++;
        this.pos = i;
      }
      this.push(Kind.Variable, s.slice(start, this.pos).toLowerCase());
      return true;
    }
    switch (c) {
      case Ch.Minus:
        // MySQL starts a "--" comment only before whitespace, another "-" or the end; PostgreSQL, MSSQL, Oracle and
        // SQLite start one before anything. Before a letter or digit ("--INFANT", "1990--2000") or an arrow ("-->")
        // it is read the MySQL way, as prose; before a quote or other punctuation ("--'", "--+") the ANSI way.
        if (c1 === Ch.Minus) {
          const c2 = start + 2 < this.end ? s.charCodeAt(start + 2) : -1;
          if (c2 === -1 || isSpace(c2) || c2 === Ch.Minus || c2 < 0x20 || startsAnsiComment(c2)) return this.commentToEnd();
        }
        this.pos++;
        if (c1 === Ch.Greater) this.pos += s.charCodeAt(this.pos + 1) === Ch.Greater ? 2 : 1;
        this.push(Kind.Arith, '-');
        return true;
      case Ch.Hash:
        return this.commentToEnd();
      case Ch.Slash:
        if (c1 === Ch.Star) return this.blockComment(start);
        this.pos++;
        this.push(Kind.Arith, '/');
        return true;
      case Ch.Star:
        if (c1 === Ch.Slash && this.inExecutableComment) {
          this.inExecutableComment = false;
          this.pos += 2;
          this.gap = true;
          return true;
        }
        this.pos++;
        this.push(Kind.Arith, '*');
        return true;
      case Ch.LParen:
        this.pos++;
        this.push(Kind.LeftParen, '(');
        return true;
      case Ch.RParen:
        this.pos++;
        this.push(Kind.RightParen, ')');
        return true;
      case Ch.Comma:
        this.pos++;
        this.push(Kind.Comma, ',');
        return true;
      case Ch.Semicolon:
        this.pos++;
        this.push(Kind.Semicolon, ';');
        return true;
      case Ch.Dot:
        this.pos++;
        this.push(Kind.Dot, '.');
        return true;
      case Ch.Equals:
        this.pos++;
        this.push(Kind.Compare, '=');
        return true;
      case Ch.Less:
      case Ch.Greater: {
        let op = String.fromCharCode(c);
        this.pos++;
        const n = this.pos < this.end ? s.charCodeAt(this.pos) : -1;
        if (n === Ch.Equals || (c === Ch.Less && n === Ch.Greater)) {
          op += String.fromCharCode(n);
          this.pos++;
          if (op === '<=' && this.pos < this.end && s.charCodeAt(this.pos) === Ch.Greater) {
            op = '<=>';
            this.pos++;
          }
        } else if (n === c) {
          this.pos++;
          this.push(Kind.Arith, op + op);
          return true;
        }
        this.push(Kind.Compare, op);
        return true;
      }
      case Ch.Bang:
        this.pos++;
        if (c1 === Ch.Equals || c1 === Ch.Less || c1 === Ch.Greater) {
          this.pos++;
          this.push(Kind.Compare, '!' + String.fromCharCode(c1));
        } else {
          this.push(Kind.Not, '!');
        }
        return true;
      case Ch.Pipe:
        if (c1 === Ch.Pipe) {
          this.pos += 2;
          this.push(Kind.Logic, '||');
        } else {
          this.pos++;
          this.push(Kind.Arith, '|');
        }
        return true;
      case Ch.Amp:
        if (c1 === Ch.Amp) {
          this.pos += 2;
          this.push(Kind.Logic, '&&');
        } else {
          this.pos++;
          this.push(Kind.Arith, '&');
        }
        return true;
      case Ch.Plus:
      case Ch.Percent:
      case Ch.Caret:
        this.pos++;
        this.push(Kind.Arith, String.fromCharCode(c));
        return true;
      case Ch.Tilde:
        this.pos++;
        this.push(Kind.Not, '~');
        return true;
      case Ch.Colon:
        if (c1 === Ch.Colon || c1 === Ch.Equals) {
          this.pos += 2;
          this.push(c1 === Ch.Equals ? Kind.Compare : Kind.Arith, c1 === Ch.Equals ? ':=' : '::');
          return true;
        }
        break;
      case Ch.Backslash:
        if (c1 === 0x4e /* N */) {
          this.pos += 2;
          this.push(Kind.Literal, 'null');
          return true;
        }
        break;
    }
    this.pos++;
    this.push(Kind.Other, String.fromCharCode(c));
    return true;
  }

  /** The body of a string literal opened by `quote` just before `from`. */
  private readString(quote: number, from: number): void {
    const s = this.input;
    let i = from;
    while (i < this.end) {
      const c = s.charCodeAt(i);
      if (c === Ch.Backslash) {
        i += 2;
        continue;
      }
      if (c === quote) {
        if (i + 1 < this.end && s.charCodeAt(i + 1) === quote) {
          i += 2; // '' inside a string is an escaped quote
          continue;
        }
        this.pos = i + 1;
        this.push(Kind.String, s.slice(from, i), true, quote);
        return;
      }
      i++;
    }
    this.pos = this.end;
    this.push(Kind.String, s.slice(from), false, quote);
  }

  private readNumber(start: number): boolean {
    const s = this.input;
    let i = start;
    const c1 = s.charCodeAt(start + 1) | 0x20;
    if (s.charCodeAt(start) === 0x30 && (c1 === 0x78 /* x */ || c1 === 0x62) /* b */ && start + 2 < this.end) {
      i = start + 2;
      while (i < this.end && isHex(s.charCodeAt(i))) i++;
    } else {
      while (i < this.end && isDigit(s.charCodeAt(i))) i++;
      if (i < this.end && s.charCodeAt(i) === Ch.Dot) {
        i++;
        while (i < this.end && isDigit(s.charCodeAt(i))) i++;
      }
      if (i < this.end && (s.charCodeAt(i) | 0x20) === 0x65 /* e */) {
        let j = i + 1;
        if (j < this.end && (s.charCodeAt(j) === Ch.Plus || s.charCodeAt(j) === Ch.Minus)) j++;
        if (j < this.end && isDigit(s.charCodeAt(j))) {
          i = j;
          while (i < this.end && isDigit(s.charCodeAt(i))) i++;
        }
      }
    }
    // "70s", "4th", "123abc": a word that starts with digits, not a number
    if (i < this.end && isWordStart(s.charCodeAt(i)) && s.charCodeAt(start) !== Ch.Dot) return this.readWord(start);
    this.pos = i;
    this.push(Kind.Number, s.slice(start, i));
    return true;
  }

  private readWord(start: number): boolean {
    const s = this.input;
    let i = start;
    while (i < this.end) {
      const c = s.charCodeAt(i);
      if (isWordPart(c)) i++;
      // qualified names stay one word: information_schema.tables, dbms_pipe.receive_message, master..sysdatabases, sysmaster:sysdual
      else if ((c === Ch.Dot || c === Ch.Colon) && i + 1 < this.end && (isWordStart(s.charCodeAt(i + 1)) || (c === Ch.Dot && s.charCodeAt(i + 1) === Ch.Dot))) i++;
      else break;
    }
    const text = s.slice(start, i).toLowerCase();
    this.pos = i;
    const next = i < this.end ? s.charCodeAt(i) : -1;
    if ((next === Ch.Quote || next === Ch.DoubleQuote) && STRING_PREFIXES.has(text)) {
      this.pos = i + 1;
      this.readString(next, this.pos);
      return true;
    }
    const kind = kindOfWord(text);
    this.push(kind, text);
    return true;
  }

  /** Where a nested comment opened at `start` ends (at its "*\/"), or -1. */
  private nestedCommentEnd(start: number): number {
    const s = this.input;
    let depth = 0;
    for (let i = start; i + 1 < this.end; i++) {
      const c = s.charCodeAt(i);
      const d = s.charCodeAt(i + 1);
      if (c === Ch.Slash && d === Ch.Star) {
        depth++;
        i++;
      } else if (c === Ch.Star && d === Ch.Slash) {
        if (--depth === 0) return i;
        i++;
      }
    }
    return -1;
  }

  private commentToEnd(): boolean {
    const s = this.input;
    const start = this.pos;
    let stop = s.indexOf('\n', start);
    if (stop === -1) stop = this.end;
    this.pos = stop;
    // A comment that ends at a newline with SQL after it hides nothing: MySQL reads on.
    if (stop === this.end) {
      this.push(Kind.Comment, s.charCodeAt(start) === Ch.Hash ? '#' : '--');
      this.blankTrailingComment = s.slice(start + (s.charCodeAt(start) === Ch.Hash ? 1 : 2)).trim() === '';
    } else {
      this.sawInlineComment = true;
      this.gap = true;
    }
    return true;
  }

  private blockComment(start: number): boolean {
    const s = this.input;
    if (s.charCodeAt(start + 2) === Ch.Bang) {
      // MySQL executable comment: /*!50000 select */ runs its content
      let i = start + 3;
      while (i < this.end && i < start + 8 && isDigit(s.charCodeAt(i))) i++;
      this.pos = i;
      this.inExecutableComment = true;
      this.sawInlineComment = true;
      this.gap = true;
      return true;
    }
    const stop = this.nestComments ? this.nestedCommentEnd(start) : s.indexOf('*/', start + 2);
    if (!this.nestComments && stop !== -1 && s.lastIndexOf('/*', stop) > start) this.sawNestedComment = true;
    if (stop === -1) {
      this.pos = this.end;
      this.push(Kind.Comment, '/*');
      return true;
    }
    this.pos = stop + 2;
    this.sawInlineComment = true;
    this.gap = true;
    return true;
  }
}

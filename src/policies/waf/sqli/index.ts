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
    return best;
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
    return quote === 0 ? bareLevel(flags, tokens) : quotedLevel(flags);
  }
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
  // '-', '*', '&': the value opens with the quote and does arithmetic on empty strings (a MySQL login bypass)
  if (flags & Flag.EmptyStringArith) return 1;
  if (flags & Flag.Arith && flags & (Flag.Function | Flag.Subquery)) return 1;
  if (flags & (Flag.HashComment | Flag.Arith | Flag.Logic | Flag.Stacked | Flag.WordCompare | Flag.Compare | Flag.Comment)) return 2;
  return 0;
}

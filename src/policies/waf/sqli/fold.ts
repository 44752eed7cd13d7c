/**
 * Folding: turns the lexer's tokens into the units the grammar reads.
 * Multi-word operators become one token (UNION ALL, ORDER BY, NOT LIKE,
 * IS NOT, INTO OUTFILE, WAITFOR DELAY), adjacent strings concatenate (as
 * MySQL does with 'a' 'b'), and a word directly followed by "(" becomes a
 * function call.
 */
import { Kind } from './keywords.js';
import type { Token } from './lexer.js';

/** SQL functions that keep being functions with a space or comment before "(": sleep /**\/ (5). */
const KNOWN_FUNCTIONS: ReadonlySet<string> = new Set([
  'sleep',
  'benchmark',
  'pg_sleep',
  'char',
  'chr',
  'nchar',
  'concat',
  'concat_ws',
  'group_concat',
  'substring',
  'substr',
  'mid',
  'ascii',
  'ord',
  'hex',
  'unhex',
  'cast',
  'convert',
  'count',
  'extractvalue',
  'updatexml',
  'load_file',
  'version',
  'database',
  'user',
  'if',
  'iif',
  'ifnull',
  'isnull',
  'md5',
  'rand',
  'floor',
  'length',
]);

const WORD_KINDS = new Set<Kind>([Kind.Name, Kind.Keyword, Kind.Literal, Kind.Statement, Kind.Clause]);

/** Operators SQLite and MySQL also offer as functions: LIKE('a', x), GLOB(...), REGEXP(...). */
const CALLABLE_OPERATORS: ReadonlySet<string> = new Set(['like', 'glob', 'regexp', 'rlike']);

export class Folder {
  readonly tokens: Token[] = [];
  count = 0;

  constructor(capacity: number) {
    for (let i = 0; i < capacity; i++) this.tokens.push({ kind: Kind.Other, gap: false, text: '', closed: false, quote: 0 });
  }

  run(input: readonly Token[], n: number): number {
    this.count = 0;
    for (let i = 0; i < n; i++) {
      const t = input[i]!;
      const next = i + 1 < n ? input[i + 1] : undefined;
      const last = this.count > 0 ? this.tokens[this.count - 1] : undefined;

      if (last?.kind === Kind.Union && (t.text === 'all' || t.text === 'distinct')) continue; // UNION ALL(SELECT ...)
      if (t.kind === Kind.String && last?.kind === Kind.String && last.closed) {
        last.text += t.text;
        last.closed = t.closed;
        continue;
      }
      const callable = WORD_KINDS.has(t.kind) || (t.kind === Kind.Compare && CALLABLE_OPERATORS.has(t.text));
      if (callable && next?.kind === Kind.LeftParen && (!next.gap || KNOWN_FUNCTIONS.has(t.text))) {
        // "where (" and "from (" are clauses with a parenthesis, not calls
        if (t.kind !== Kind.Clause || t.text === 'left' || t.text === 'right') {
          this.emit(Kind.Function, t.text, t);
          continue;
        }
      }
      if (last && this.merge(last, t)) continue;
      this.emit(t.kind, t.text, t);
    }
    return this.count;
  }

  private emit(kind: Kind, text: string, from: Token): void {
    const out = this.tokens[this.count++]!;
    out.kind = kind;
    out.text = text;
    out.gap = from.gap;
    out.closed = from.closed;
    out.quote = from.quote;
  }

  /** Folds `t` into the previous token when the two are one unit; true when it did. */
  private merge(last: Token, t: Token): boolean {
    const a = last.text;
    const b = t.text;
    switch (last.kind) {
      case Kind.Union:
        if (b === 'all' || b === 'distinct') return true;
        break;
      case Kind.Clause:
        if ((a === 'order' || a === 'group') && b === 'by') {
          last.text = `${a} by`;
          return true;
        }
        if (a === 'into' && (b === 'outfile' || b === 'dumpfile')) {
          last.text = 'into outfile';
          return true;
        }
        break;
      case Kind.Not:
        if (t.kind === Kind.Compare && b !== '=') {
          last.kind = Kind.Compare;
          last.text = `not ${b}`;
          return true;
        }
        break;
      case Kind.Compare:
        if (a === 'is' && t.kind === Kind.Not) {
          last.text = 'is not';
          return true;
        }
        if (a === 'sounds' && b === 'like') return true;
        break;
      case Kind.Statement:
        if (a === 'waitfor' && (b === 'delay' || b === 'time')) {
          last.text = 'waitfor delay';
          return true;
        }
        break;
    }
    return false;
  }
}

/**
 * Does a token stream read as an injected SQL continuation?
 *
 * An injection is a parameter that, pasted into the application's query,
 * ends the value it was meant to be and goes on as SQL: `1 OR 1=1`,
 * `x' AND SLEEP(5)--`, `1) UNION SELECT ...`. So the stream is read as a
 * prefix (the value: a number, a name, a variable, or in a quote context
 * the rest of the string), then a tail that a small recursive-descent SQL
 * grammar must accept to its end. English almost never parses that way
 * ("2 OR 4 METAL BUTTONS" stops at "METAL"), and what does parse must also
 * carry a SQL-only element (a comparison after AND/OR, a function call, a
 * subquery, a comment that cuts the query short) before it counts: the
 * flags below record which elements the tail held, and index.ts decides.
 *
 * Every loop advances the index: the parse is linear in the token count,
 * which the lexer bounds.
 */
import { CATALOG_NAMES, DANGEROUS_FUNCTIONS, Kind, SQL_CONDITIONALS, SQL_FUNCTIONS, UNAMBIGUOUS_FUNCTIONS } from './keywords.js';
import type { Token } from './lexer.js';

export const enum Flag {
  /** A comparison whose right side is a literal, a call or a subquery: = 1, = 'x', > (SELECT ...). */
  Compare = 1,
  /** A call to a known SQL function. */
  Function = 2,
  /** A system variable: @@version. */
  Variable = 4,
  Subquery = 8,
  Not = 16,
  Case = 32,
  /** The tail ends in a "--" or "/*" comment. */
  Comment = 64,
  Logic = 128,
  /** An operand right after AND/OR: */
  StringOperand = 256,
  NumberOperand = 512,
  NameOperand = 32768,
  Clause = 1024,
  Strong = 2048,
  /** An arithmetic or bitwise operator with a literal or call after it. */
  Arith = 4096,
  /** The tail ended in a "#" comment, which appears in too much ordinary text to count alone. */
  HashComment = 8192,
  Stacked = 16384,
  /** An operator chain had a name operand: "1611-IioXXIG--" is an id, not arithmetic. */
  NameInChain = 65536,
  /** The parameter is a whole statement (SELECT x FROM y), not a fragment that breaks out of one. */
  FullStatement = 131072,
  /** A comparison by word (LIKE, IS, REGEXP): weaker than "=" in text. */
  WordCompare = 262144,
  /** The tail went on after a comma: 1,2,3 */
  Comma = 524288,
  /** An operator with a name after it: "&PAGE=1", "x=y". */
  NameCompare = 1048576,
  /** The tail opens with a comparison to a literal: x'='x, x' = 1 */
  DirectCompare = 2097152,
  /** The tail opens with arithmetic on an empty, unclosed string of the context's quote: '-', '*' */
  EmptyStringArith = 4194304,
  /** The tail opens by joining the closed string to another one: x'+'y, x'||'y, x' - 'y (a concatenation probe) */
  StringJoin = 8388608,
  /** In a quote context, the value ends inside a string it opened with that quote, for the application's own quote to close: x'+'y */
  OpenEnd = 16777216,
}

const STATEMENT_OBJECTS: ReadonlySet<string> = new Set(['table', 'database', 'schema', 'procedure', 'function', 'view', 'user', 'index', 'trigger', 'login']);

const LITERAL_KINDS: ReadonlySet<Kind> = new Set([Kind.Number, Kind.String, Kind.Literal, Kind.Variable, Kind.Function, Kind.LeftParen, Kind.Select, Kind.Case]);

/** What BENCHMARK's first argument, a repeat count, can be: 5000000, @n, (2*1e6), pow(10,7) */
const COUNT_KINDS: ReadonlySet<Kind> = new Set([Kind.Number, Kind.Variable, Kind.LeftParen, Kind.Function]);

/** Comparisons that hold when both sides are the same: = LIKE <=> >= <= */
const REFLEXIVE_COMPARES: ReadonlySet<string> = new Set(['=', 'like', '<=>', '>=', '<=']);
const OPERAND_KINDS: ReadonlySet<Kind> = new Set([Kind.Number, Kind.String, Kind.Name, Kind.Literal]);

/** Functions that take no arguments: "version (2.0)", "user (admin)" and "database (postgres)" are prose, VERSION() is SQL. */
const NILADIC_FUNCTIONS: ReadonlySet<string> = new Set(['version', 'user', 'database', 'schema', 'current_user', 'system_user', 'session_user', 'row_count', 'host_name', 'sqlite_version']);

/**
 * The call at `i` has arguments its function takes: none for VERSION(), a count for BENCHMARK(n, expr), one
 * number-like argument for SLEEP(n). "Sleep (8 hours)" and "[Benchmark](#benchmark)" are words before brackets;
 * PG_SLEEP is no word, whatever its argument.
 */
function plausibleArguments(tokens: readonly Token[], i: number, n: number): boolean {
  const name = tokens[i]!.text;
  const first = tokens[i + 2];
  if (!first) return true; // the value ends at "(": the application supplies the rest
  if (NILADIC_FUNCTIONS.has(name)) return first.kind === Kind.RightParen;
  if (name === 'benchmark') return COUNT_KINDS.has(first.kind);
  if (name === 'sleep') {
    if (first.kind !== Kind.Number && first.kind !== Kind.Variable) return COUNT_KINDS.has(first.kind);
    const after = i + 3 < n ? tokens[i + 3]! : undefined;
    return after === undefined || after.kind === Kind.RightParen || after.kind === Kind.Arith || after.kind === Kind.Comment;
  }
  return true;
}

/**
 * The prefix string joined to the next one by an operator: x'+'y. Not a symbol quoted between words, as in the
 * search SMALL "+" SIGN, where the quotes sit against spaces on the outside.
 */
function isJoin(prefix: Token, next: Token): boolean {
  if (prefix.kind !== Kind.String || !prefix.closed || next.kind !== Kind.String) return false;
  const quotedSymbol = prefix.text.length > 0 && isBlank(prefix.text.charCodeAt(prefix.text.length - 1)) && next.text.length > 0 && isBlank(next.text.charCodeAt(0));
  return !quotedSymbol;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** At `i` (after any "("): an operand compared with itself, x=x, 'a'='a, 2>=2 */
function isTautology(tokens: readonly Token[], i: number, n: number): boolean {
  while (i < n && tokens[i]!.kind === Kind.LeftParen) i++;
  if (i + 2 >= n) return false;
  const left = tokens[i]!;
  const op = tokens[i + 1]!;
  const right = tokens[i + 2]!;
  return OPERAND_KINDS.has(left.kind) && op.kind === Kind.Compare && REFLEXIVE_COMPARES.has(op.text) && right.kind === left.kind && right.text === left.text;
}

export class Grammar {
  private t: readonly Token[] = [];
  private n = 0;
  flags = 0;
  /** What the last call() read in its arguments: a comparison, and how many top-level commas. */
  private callCompared = false;
  private callCommas = 0;

  /**
   * Parses the stream; returns the flags of an accepted tail, or 0 when it is
   * not SQL. When the lexer cut the input short, strong evidence seen before
   * the cut still counts.
   */
  tail(tokens: readonly Token[], n: number, truncated: boolean): number {
    this.t = tokens;
    this.n = n;
    this.flags = 0;
    let i = this.prefix(0);
    if (i < 0) return truncated ? this.flags & Flag.Strong : 0;
    if (i >= n) return this.flags & (Flag.FullStatement | Flag.Strong) ? this.flags : 0; // a value and nothing after it
    i = this.continuation(i, true);
    if (i < 0 || i < n) return truncated ? this.flags & Flag.Strong : 0;
    const last = tokens[n - 1]!;
    if (n > 1 && last.kind === Kind.String && !last.closed && tokens[0]!.kind === Kind.String && last.quote === tokens[0]!.quote) this.flags |= Flag.OpenEnd;
    return this.flags || Flag.Logic;
  }

  /**
   * Looks anywhere in the stream for what only an attack contains: UNION
   * SELECT, a stacked statement, a time-delay or file-reading function, the
   * catalog tables. Returns Flag.Strong or 0.
   */
  anywhere(tokens: readonly Token[], n: number): number {
    for (let i = 0; i < n; i++) {
      const tok = tokens[i]!;
      switch (tok.kind) {
        case Kind.Union: {
          let j = i + 1;
          // UNION (SELECT, UNION ALL SELECT, union/*!*/select, union*/select
          while (j < n && (tokens[j]!.kind === Kind.LeftParen || tokens[j]!.text === '*' || tokens[j]!.text === '/' || tokens[j]!.kind === Kind.Keyword)) j++;
          if (j < n && tokens[j]!.kind === Kind.Select) return Flag.Strong;
          break;
        }
        case Kind.Semicolon:
          if (i + 1 < n && isStatementStart(tokens, i + 1, n)) return Flag.Strong;
          break;
        case Kind.Logic:
          // OR a=a, AND 'x'='x, || (2>=2): a comparison of a thing with itself is true whatever the row holds
          if (isTautology(tokens, i + 1, n)) return Flag.Strong;
          break;
        case Kind.Function:
          if (UNAMBIGUOUS_FUNCTIONS.has(tok.text) && plausibleArguments(tokens, i, n)) return Flag.Strong;
          if ((tok.text === 'exec' || tok.text === 'execute') && tokens[i + 2]?.kind === Kind.Variable) return Flag.Strong;
          if (tok.text === 'sleep' && tokens[i + 2]?.kind === Kind.Number && plausibleArguments(tokens, i, n)) return Flag.Strong;
          break;
        case Kind.Statement:
          if (tok.text === 'waitfor delay' && tokens[i + 1]?.kind === Kind.String) return Flag.Strong;
          // DECLARE @q ... EXEC(@q): MSSQL dynamic SQL
          if (tok.text === 'declare' && tokens[i + 1]?.kind === Kind.Variable) return Flag.Strong;
          break;
        case Kind.Clause:
          if (tok.text === 'into outfile' && tokens[i + 1]?.kind === Kind.String) return Flag.Strong;
          break;
        case Kind.Name:
          if (isCatalog(tok.text, false) || tok.text.startsWith('utl_http') || tok.text.startsWith('utl_inaddr') || tok.text.startsWith('dbms_pipe') || tok.text.startsWith('xp_cmdshell')) return Flag.Strong;
          break;
        case Kind.Variable:
          // @@version, @@datadir: alone or in an expression
          if (tok.text.startsWith('@@') && tok.text.length > 2 && tokens[i + 1]?.kind !== Kind.Name) return Flag.Strong;
          break;
      }
    }
    return 0;
  }

  /** The value the parameter was meant to be; returns the index after it. */
  private prefix(i: number): number {
    const tok = this.t[i];
    if (!tok) return -1;
    switch (tok.kind) {
      case Kind.Number:
      case Kind.Name:
      case Kind.String:
      case Kind.Variable:
      case Kind.Literal:
        return i + 1;
      case Kind.Arith:
        // -1, +1
        if ((tok.text === '-' || tok.text === '+') && this.t[i + 1]?.kind === Kind.Number) return i + 2;
        return -1;
      case Kind.LeftParen:
        // a parenthesised value: (1001), (select ...)
        return this.primary(i);
      case Kind.Function: {
        // IIF(1=2,1,1/0) as the whole value: a conditional probe
        const end = this.call(i);
        if (end >= 0 && this.conditionalProbe(tok.text)) this.flags |= Flag.Strong;
        return end;
      }
      case Kind.Logic:
      case Kind.Union:
      case Kind.Semicolon:
      case Kind.RightParen:
        return i; // empty prefix: the parameter starts with the injection
      case Kind.Clause:
        // HAVING 1=1--, ORDER BY 3: only the clauses that continue a query
        return tok.text === 'having' || tok.text === 'order by' || tok.text === 'group by' ? i : -1;
      case Kind.Select: {
        // A whole statement is not a fragment breaking out of one: SELECT alone is weak evidence.
        const end = this.select(i);
        this.flags |= Flag.FullStatement;
        return end;
      }
      case Kind.Case:
      case Kind.Exists:
        return this.primary(i);
      default:
        return -1;
    }
  }

  /**
   * The call just read was IF/IIF/DECODE/... with a comparison among its arguments: a boolean probe by itself.
   * IF needs its other arguments too: "if (x >= 400)" is code, IF(1=1,SLEEP(5),0) is SQL.
   */
  private conditionalProbe(name: string): boolean {
    return SQL_CONDITIONALS.has(name) && this.callCompared && (name !== 'if' || this.callCommas > 0);
  }

  /** What follows the value: closing parentheses, then operators, AND/OR, UNION, a clause, a comment. */
  private continuation(i: number, first: boolean): number {
    const t = this.t;
    while (i < this.n && t[i]!.kind === Kind.RightParen) i++;
    if (i >= this.n) return first ? -1 : i;
    const tok = t[i]!;
    switch (tok.kind) {
      case Kind.Compare:
      case Kind.Arith:
        if (first) this.opening(i);
        i = this.operatorChain(i);
        if (i < 0) return -1;
        return this.continuation(i, false);
      case Kind.Logic: {
        this.flags |= Flag.Logic;
        // x'||'y: Oracle and PostgreSQL concatenation, a probe like x'+'y
        if (first && tok.text === '||' && t[i + 1] && isJoin(this.t[0]!, t[i + 1]!)) this.flags |= Flag.StringJoin;
        i = this.expression(i + 1, true);
        if (i < 0) return -1;
        return this.continuation(i, false);
      }
      case Kind.Union:
        return this.union(i);
      case Kind.Semicolon:
        return this.stacked(i);
      case Kind.Clause:
        return this.clauses(i);
      case Kind.Comment:
        this.flags |= tok.text === '#' ? Flag.HashComment : Flag.Comment;
        return i + 1;
      case Kind.Comma: {
        // 1,2,(select ...): only what the list holds can make it SQL
        this.flags |= Flag.Comma;
        while (i < this.n && t[i]!.kind === Kind.Comma) {
          // ORDER BY name,IIF(1=2,1,1/0): a conditional probe in a list is one as much as at the start
          const element = t[i + 1];
          if (element?.kind === Kind.Function && SQL_CONDITIONALS.has(element.text) && this.call(i + 1) >= 0 && this.conditionalProbe(element.text)) this.flags |= Flag.Strong;
          i = this.expression(i + 1, false);
          if (i < 0) return -1;
        }
        return this.continuation(i, false);
      }
      default:
        return -1;
    }
  }

  /** Notes how a tail that starts with an operator starts: a comparison to a literal, or '-'-style string arithmetic. */
  private opening(i: number): void {
    const op = this.t[i]!;
    const operand = this.t[i + 1];
    if (!operand) return;
    if (op.kind === Kind.Compare && op.text.charCodeAt(0) < 0x61 && LITERAL_KINDS.has(operand.kind)) this.flags |= Flag.DirectCompare;
    const prefix = this.t[0]!;
    // x'+'y, x' - 'y: the closed string joined to one the value opens
    if (op.kind === Kind.Arith && (op.text === '+' || op.text === '-') && isJoin(prefix, operand)) this.flags |= Flag.StringJoin;
    if (
      op.kind === Kind.Arith &&
      op.text.charCodeAt(0) < 0x61 &&
      prefix.kind === Kind.String &&
      prefix.text === '' &&
      operand.kind === Kind.String &&
      operand.text === '' &&
      !operand.closed &&
      operand.quote === prefix.quote &&
      i + 2 === this.n
    ) {
      this.flags |= Flag.EmptyStringArith;
    }
  }

  /** Binary operators after an operand: "= 1", "- sleep(5)", "between 1 and 2", "in (1,2)". */
  private operatorChain(i: number): number {
    const t = this.t;
    while (i < this.n && (t[i]!.kind === Kind.Compare || t[i]!.kind === Kind.Arith)) {
      const op = t[i]!;
      const operand = t[i + 1];
      // An operator at the very end waits for the application's own operand: USERNAME=
      if (!operand) return i + 1;
      const literal = LITERAL_KINDS.has(operand.kind) || operand.kind === Kind.Not;
      if (op.kind === Kind.Compare) {
        const word = op.text.charCodeAt(0) >= 0x61;
        if (literal) this.flags |= word ? Flag.WordCompare : Flag.Compare;
        else this.flags |= Flag.NameCompare;
      } else if (literal) {
        this.flags |= Flag.Arith;
      }
      if (operand.kind === Kind.Name) this.flags |= Flag.NameInChain;
      if (op.text === 'between' || op.text === 'not between') {
        i = this.unaryPrimary(i + 1);
        if (i < 0 || t[i]?.text !== 'and') return -1;
        i = this.unaryPrimary(i + 1);
      } else if (op.text === 'is' || op.text === 'is not') {
        if (operand.kind !== Kind.Literal) return -1;
        i += 2;
      } else {
        i = this.unaryPrimary(i + 1);
      }
      if (i < 0) return -1;
    }
    return i;
  }

  /** An expression: operands joined by operators. */
  private expression(i: number, afterLogic: boolean): number {
    const start = i;
    i = this.unaryPrimary(i);
    if (i < 0) return -1;
    if (afterLogic) {
      const operand = this.t[start]!;
      if (operand.kind === Kind.String) this.flags |= Flag.StringOperand;
      else if (operand.kind === Kind.Number || operand.kind === Kind.Literal) this.flags |= Flag.NumberOperand;
      else if (operand.kind === Kind.Name) this.flags |= Flag.NameOperand;
      // AND CURRENT_USER=x, OR 1=name: a literal, variable or call on the left of a comparison is a probe, as on the right
      const op = this.t[i];
      if (op?.kind === Kind.Compare && op.text.charCodeAt(0) < 0x61 && operand.kind !== Kind.Name && LITERAL_KINDS.has(operand.kind)) this.flags |= Flag.Compare;
    }
    return this.operatorChain(i);
  }

  private unaryPrimary(i: number): number {
    const t = this.t;
    while (i < this.n && (t[i]!.kind === Kind.Not || (t[i]!.kind === Kind.Arith && (t[i]!.text === '-' || t[i]!.text === '+')))) {
      if (t[i]!.kind === Kind.Not) this.flags |= Flag.Not;
      i++;
    }
    return this.primary(i);
  }

  /** One operand. At the end of input, an open parenthesis or call is accepted: the application closes it. */
  private primary(i: number): number {
    const t = this.t;
    const tok = t[i];
    if (!tok) return i >= this.n && i > 0 && t[i - 1]!.kind === Kind.LeftParen ? i : -1;
    switch (tok.kind) {
      case Kind.Number:
      case Kind.Literal:
      case Kind.String:
        return i + 1;
      case Kind.Variable:
        if (tok.text.startsWith('@@')) this.flags |= Flag.Variable | Flag.Strong;
        return i + 1;
      case Kind.Name:
        if (isCatalog(tok.text, false)) this.flags |= Flag.Strong;
        return i + 1;
      case Kind.Function:
        return this.call(i);
      case Kind.LeftParen: {
        i++;
        if (i >= this.n) return i;
        if (t[i]!.kind === Kind.Select) {
          this.flags |= Flag.Subquery | Flag.Strong;
          i = this.select(i);
        } else {
          i = this.expressionList(i);
        }
        if (i < 0) return -1;
        if (i >= this.n) return i;
        if (t[i]!.kind !== Kind.RightParen) {
          // (1=1 -- ...: a comment inside an open parenthesis ends the query just as well
          return t[i]!.kind === Kind.Comment ? i : -1;
        }
        return i + 1;
      }
      case Kind.Select:
        this.flags |= Flag.Subquery | Flag.Strong;
        return this.select(i);
      case Kind.Case:
        return this.caseExpression(i);
      case Kind.Exists:
        if (t[i + 1]?.kind !== Kind.LeftParen) return -1;
        this.flags |= Flag.Subquery;
        return this.primary(i + 1);
      default:
        return -1;
    }
  }

  /** expr, expr, ... with logic allowed inside parentheses: (1=1 AND 2=2) */
  private expressionList(i: number): number {
    const t = this.t;
    for (;;) {
      i = this.expression(i, false);
      if (i < 0) return -1;
      while (i < this.n && t[i]!.kind === Kind.Logic) {
        this.flags |= Flag.Logic;
        i = this.expression(i + 1, true);
        if (i < 0) return -1;
      }
      if (i < this.n && t[i]!.kind === Kind.Comma) {
        i++;
        continue;
      }
      return i;
    }
  }

  private call(i: number): number {
    const t = this.t;
    const name = t[i]!.text;
    if (SQL_FUNCTIONS.has(name) || DANGEROUS_FUNCTIONS.has(name)) this.flags |= Flag.Function;
    if (DANGEROUS_FUNCTIONS.has(name) && plausibleArguments(t, i, this.n)) this.flags |= Flag.Strong;
    this.callCompared = false;
    this.callCommas = 0;
    i += 2; // name and "("
    if (i >= this.n) return i;
    if (t[i]!.kind === Kind.RightParen) return i + 1;
    // Arguments are read loosely (CAST(x AS CHAR), CONVERT(x USING utf8), COUNT(*)): balanced parentheses, any tokens.
    let depth = 1;
    while (i < this.n) {
      const tok = t[i]!;
      const k = tok.kind;
      if (k === Kind.LeftParen) depth++;
      else if (k === Kind.RightParen && --depth === 0) return i + 1;
      else if (k === Kind.Select) this.flags |= Flag.Subquery | Flag.Strong;
      else if (k === Kind.Case) this.flags |= Flag.Case | Flag.Strong;
      else if (k === Kind.Compare && LITERAL_KINDS.has(t[i + 1]?.kind ?? Kind.Other)) {
        this.flags |= Flag.Compare;
        this.callCompared = true;
      } else if (k === Kind.Comma && depth === 1) this.callCommas++;
      else if (k === Kind.Function) {
        if (DANGEROUS_FUNCTIONS.has(tok.text)) this.flags |= Flag.Strong;
        if (SQL_FUNCTIONS.has(tok.text)) this.flags |= Flag.Function;
      } else if (k === Kind.Semicolon || k === Kind.Other) return -1;
      else if (k === Kind.Comment) return i;
      i++;
    }
    return i;
  }

  /** SELECT ... read loosely: anything SQL until a ")" that closes nothing, ";", or the end. */
  private select(i: number): number {
    const t = this.t;
    let depth = 0;
    i++;
    while (i < this.n) {
      const tok = t[i]!;
      const k = tok.kind;
      if (k === Kind.LeftParen) depth++;
      else if (k === Kind.RightParen) {
        if (depth === 0) return i;
        depth--;
      } else if (k === Kind.Semicolon || k === Kind.Comment) return i;
      else if (k === Kind.Other) return -1;
      else if (k === Kind.Name && isCatalog(tok.text, true)) this.flags |= Flag.Strong;
      else if (k === Kind.Case || (k === Kind.Function && DANGEROUS_FUNCTIONS.has(tok.text))) this.flags |= Flag.Strong;
      else if (k === Kind.Variable && tok.text.startsWith('@@')) this.flags |= Flag.Strong;
      i++;
    }
    return i;
  }

  /** CASE [x] WHEN ... THEN ... [ELSE ...] END: a CASE without WHEN and THEN is the English word. */
  private caseExpression(i: number): number {
    const t = this.t;
    let depth = 0;
    let when = false;
    let then = false;
    i++;
    while (i < this.n) {
      const k = t[i]!.kind;
      if (k === Kind.End && depth === 0) break;
      if (k === Kind.Case) depth++;
      else if (k === Kind.End) depth--;
      else if (k === Kind.When) when = true;
      else if (k === Kind.Then) then = true;
      else if (k === Kind.Semicolon || k === Kind.Other) return -1;
      i++;
    }
    if (!when || !then) return -1;
    this.flags |= Flag.Case | Flag.Strong;
    return i < this.n ? i + 1 : i;
  }

  private union(i: number): number {
    const t = this.t;
    const start = i;
    i++;
    while (i < this.n && t[i]!.kind === Kind.LeftParen) i++;
    if (i >= this.n) return -1;
    if (t[i]!.kind !== Kind.Select) {
      // UNION user_id>0-- : a broken union still cut short by a comment
      if (t[this.n - 1]!.kind === Kind.Comment && this.n - start > 2) {
        this.flags |= Flag.Strong;
        return this.n;
      }
      return -1;
    }
    this.flags |= Flag.Strong | Flag.Subquery;
    i = this.select(i);
    if (i < 0) return -1;
    return this.continuation(i, false);
  }

  private stacked(i: number): number {
    const t = this.t;
    this.flags |= Flag.Stacked;
    i++;
    if (i >= this.n) return i;
    if (t[i]!.kind === Kind.Comment) {
      this.flags |= Flag.Comment;
      return i + 1;
    }
    if (!isStatementStart(t, i, this.n)) return -1;
    this.flags |= Flag.Strong;
    // The rest is a statement of its own; read it loosely to the end.
    while (i < this.n && t[i]!.kind !== Kind.Other) i++;
    return i;
  }

  /** ORDER BY 1, GROUP BY x HAVING 1=1, LIMIT 1,1, INTO OUTFILE '...', PROCEDURE ANALYSE(), FROM t WHERE ... */
  private clauses(i: number): number {
    const t = this.t;
    const clause = t[i]!.text;
    i++;
    switch (clause) {
      case 'order by':
      case 'group by':
        if (t[i]?.kind !== Kind.Number && t[i]?.kind !== Kind.Name) return -1;
        this.flags |= Flag.Clause;
        if (t[i]!.kind === Kind.Number) this.flags |= Flag.NumberOperand;
        i = this.expressionList(i);
        break;
      case 'having':
      case 'where': {
        const before = this.flags;
        i = this.expression(i, false);
        while (i >= 0 && i < this.n && t[i]!.kind === Kind.Logic) i = this.expression(i + 1, true);
        // a clause counts when it compares something: "WHERE'S GEORGE" does not
        if ((this.flags & ~before) & Flag.Compare || this.flags & Flag.Compare) this.flags |= Flag.Clause;
        break;
      }
      case 'from':
        // 1) FROM users WHERE name=
        if (t[i]?.kind !== Kind.Name || t[i + 1]?.text !== 'where') return -1;
        this.flags |= Flag.Clause | Flag.Strong;
        return this.clauses(i + 1);
      case 'limit':
      case 'offset':
        if (t[i]?.kind !== Kind.Number) return -1;
        this.flags |= Flag.Clause | Flag.NumberOperand;
        i = this.expressionList(i);
        break;
      case 'into outfile':
        if (t[i]?.kind !== Kind.String && t[i]?.kind !== Kind.LeftParen && t[i]?.kind !== Kind.Function) return -1;
        this.flags |= Flag.Clause | Flag.Strong;
        i = this.primary(i);
        break;
      case 'procedure':
        if (t[i]?.kind !== Kind.Function) return -1;
        this.flags |= Flag.Clause | Flag.Strong;
        i = this.call(i);
        break;
      default:
        return -1;
    }
    if (i < 0) return -1;
    return this.continuation(i, false);
  }
}

/** A statement after ";" that does something: "; DROP TABLE x", "; SELECT 1", "; EXEC xp_...", "; IF(...)" */
function isStatementStart(tokens: readonly Token[], i: number, n: number): boolean {
  const tok = tokens[i]!;
  const next = i + 1 < n ? tokens[i + 1]! : undefined;
  if (tok.kind === Kind.Select) {
    if (!next) return false;
    return next.kind !== Kind.Name || (i + 2 < n && (tokens[i + 2]!.kind === Kind.Clause || tokens[i + 2]!.kind === Kind.Comma));
  }
  if (tok.kind === Kind.Function) return tok.text === 'if';
  if (tok.kind !== Kind.Statement) return false;
  switch (tok.text) {
    case 'drop':
    case 'create':
    case 'alter':
    case 'truncate':
      return next !== undefined && (STATEMENT_OBJECTS.has(next.text) || next.kind === Kind.Keyword);
    case 'insert':
      return next?.text === 'into';
    case 'delete':
      return next?.text === 'from';
    case 'update':
      return next?.kind === Kind.Name && tokens[i + 2]?.text === 'set';
    case 'exec':
    case 'execute':
    case 'declare': {
      if (!next) return false;
      if (next.kind === Kind.Variable || next.kind === Kind.LeftParen || next.kind === Kind.String) return true;
      // Oracle dynamic SQL: EXECUTE IMMEDIATE 'sel' || 'ect ...'
      if (next.text === 'immediate') return true;
      // a stored procedure: xp_cmdshell, sp_configure, master..xp_dirtree, dbo.proc
      const name = next.text;
      return (next.kind === Kind.Name || next.kind === Kind.Function) && (name.startsWith('xp_') || name.startsWith('sp_') || name.includes('.') || name.includes('_'));
    }
    case 'shutdown':
      return next === undefined || next.kind === Kind.Comment || next.kind === Kind.Semicolon;
    case 'waitfor delay':
      return next?.kind === Kind.String;
    case 'begin':
      return next?.kind === Kind.Name && next.text.includes('.');
    default:
      return false;
  }
}

function isCatalog(name: string, inQuery: boolean): boolean {
  for (const catalog of CATALOG_NAMES) {
    if (name.startsWith(catalog)) {
      // "dual" is an English word; only FROM DUAL inside a query counts
      if (catalog === 'dual') return inQuery && name === 'dual';
      return true;
    }
  }
  return false;
}

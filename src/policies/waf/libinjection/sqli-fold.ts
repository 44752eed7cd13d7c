/**
 * libinjection's folding (libinjection_sqli_fold, v3.9.2): the token stream is
 * reduced to at most five tokens whose types are the fingerprint, by folding
 * away what SQL evaluates to one value ("1+1", "a.b", unary operators,
 * "UNION ALL" merged to one word ...). Kept step for step, with its
 * five-token window and its special cases, so fingerprints are libinjection's.
 * Each step consumes a token or shrinks the window: the work is linear.
 */
import { asciiUpper, ciEquals, lookupWord } from './sqli-lookup.js';
import { T, TOKEN_VALUE_MAX, clearToken, copyToken, newToken, tokenize, type SqliState, type Token } from './sqli-tokenizer.js';

const MAX_TOKENS = 5;

function isUnaryOp(t: Token): boolean {
  if (t.type !== T.OPERATOR) return false;
  const v = t.val;
  switch (t.len) {
    case 1:
      return v === '+' || v === '-' || v === '!' || v === '~';
    case 2:
      return v === '!!';
    case 3:
      return ciEquals('NOT', v);
    default:
      return false;
  }
}

function isArithmeticOp(t: Token): boolean {
  const v = t.val[0];
  return t.type === T.OPERATOR && t.len === 1 && (v === '*' || v === '/' || v === '-' || v === '+' || v === '%');
}

const MERGE_LEFT = new Set<string>([T.KEYWORD, T.BAREWORD, T.OPERATOR, T.UNION, T.FUNCTION, T.EXPRESSION, T.TSQL, T.SQLTYPE]);
const MERGE_RIGHT = new Set<string>([T.KEYWORD, T.BAREWORD, T.OPERATOR, T.SQLTYPE, T.LOGIC_OPERATOR, T.FUNCTION, T.UNION, T.EXPRESSION, T.TSQL]);

/** "UNION" + "ALL" -> "UNION ALL" when the phrase is in the keyword table. */
function mergeWords(a: Token, b: Token): boolean {
  if (!MERGE_LEFT.has(a.type) || !MERGE_RIGHT.has(b.type)) return false;
  const len = a.len + b.len + 1;
  if (len >= TOKEN_VALUE_MAX + 1) return false;
  const phrase = `${a.val} ${b.val}`;
  const ch = lookupWord(phrase);
  if (ch === '') return false;
  a.type = ch;
  a.len = len;
  a.val = phrase;
  return true;
}

/** Words that read as functions before "(": T-SQL and MySQL functions common as column names. */
const FUNCTION_LIKE = new Set([
  'USER_ID',
  'USER_NAME',
  'DATABASE',
  'PASSWORD',
  'USER',
  'CURRENT_USER',
  'CURRENT_DATE',
  'CURRENT_TIME',
  'CURRENT_TIMESTAMP',
  'LOCALTIME',
  'LOCALTIMESTAMP',
]);
const isFunctionLike = (t: Token): boolean => t.len <= 17 && FUNCTION_LIKE.has(asciiUpper(t.val));

export function fold(sf: SqliState): number {
  const tv = sf.tokenvec;
  const lastComment = newToken();
  let pos = 0;
  let left = 0;
  let more = true;

  // Skip leading comments, left parens, SQL types and unary operators.
  sf.current = tv[0]!;
  while (more) {
    more = tokenize(sf);
    const t = sf.current;
    if (!(t.type === T.COMMENT || t.type === T.LEFTPARENS || t.type === T.SQLTYPE || isUnaryOp(t))) break;
  }
  if (!more) return 0;
  pos += 1;

  for (;;) {
    // With five tokens, a few shapes are folded down so the rest is seen.
    if (pos >= MAX_TOKENS) {
      const [t0, t1, t2, t3, t4] = [tv[0]!.type, tv[1]!.type, tv[2]!.type, tv[3]!.type, tv[4]!.type];
      if (
        (t0 === T.NUMBER && (t1 === T.OPERATOR || t1 === T.COMMA) && t2 === T.LEFTPARENS && t3 === T.NUMBER && t4 === T.RIGHTPARENS) ||
        (t0 === T.BAREWORD && t1 === T.OPERATOR && t2 === T.LEFTPARENS && (t3 === T.BAREWORD || t3 === T.NUMBER) && t4 === T.RIGHTPARENS) ||
        (t0 === T.NUMBER && t1 === T.RIGHTPARENS && t2 === T.COMMA && t3 === T.LEFTPARENS && t4 === T.NUMBER)
      ) {
        if (pos > MAX_TOKENS) {
          copyToken(tv[1]!, tv[MAX_TOKENS]!);
          pos = 2;
          left = 0;
        } else {
          pos = 1;
          left = 0;
        }
      }
    }

    if (!more || left >= MAX_TOKENS) {
      left = pos;
      break;
    }

    // Get up to two tokens.
    while (more && pos <= MAX_TOKENS && pos - left < 2) {
      sf.current = tv[pos]!;
      more = tokenize(sf);
      if (more) {
        if (sf.current.type === T.COMMENT) copyToken(lastComment, sf.current);
        else {
          lastComment.type = '';
          pos += 1;
        }
      }
    }
    if (pos - left < 2) {
      left = pos;
      continue;
    }

    const a = tv[left]!;
    const b = tv[left + 1]!;
    if (a.type === T.STRING && b.type === T.STRING) {
      pos -= 1; // "foo" "bar" is one string
      sf.statsFolds += 1;
      continue;
    } else if (a.type === T.SEMICOLON && b.type === T.SEMICOLON) {
      pos -= 1; // repeated semicolons
      sf.statsFolds += 1;
      continue;
    } else if (a.type === T.SEMICOLON && b.type === T.FUNCTION && ciEquals('IF', b.val)) {
      b.type = T.TSQL; // "; IF" is T-SQL control flow
      left += 2;
      continue;
    } else if ((a.type === T.OPERATOR || a.type === T.LOGIC_OPERATOR) && (isUnaryOp(b) || b.type === T.SQLTYPE)) {
      pos -= 1;
      sf.statsFolds += 1;
      left = 0;
      continue;
    } else if (a.type === T.LEFTPARENS && isUnaryOp(b)) {
      pos -= 1;
      sf.statsFolds += 1;
      if (left > 0) left -= 1;
      continue;
    } else if (mergeWords(a, b)) {
      pos -= 1;
      sf.statsFolds += 1;
      if (left > 0) left -= 1;
      continue;
    } else if ((a.type === T.BAREWORD || a.type === T.VARIABLE) && b.type === T.LEFTPARENS && isFunctionLike(a)) {
      a.type = T.FUNCTION;
      continue;
    } else if (a.type === T.KEYWORD && (ciEquals('IN', a.val) || ciEquals('NOT IN', a.val))) {
      // "IN (" is an operator; otherwise (IN BOOLEAN MODE) a plain word.
      a.type = b.type === T.LEFTPARENS ? T.OPERATOR : T.BAREWORD;
      continue;
    } else if (a.type === T.OPERATOR && (ciEquals('LIKE', a.val) || ciEquals('NOT LIKE', a.val))) {
      if (b.type === T.LEFTPARENS) a.type = T.FUNCTION; // LIKE(...)
    } else if (
      a.type === T.SQLTYPE &&
      (b.type === T.BAREWORD ||
        b.type === T.NUMBER ||
        b.type === T.SQLTYPE ||
        b.type === T.LEFTPARENS ||
        b.type === T.FUNCTION ||
        b.type === T.VARIABLE ||
        b.type === T.STRING)
    ) {
      copyToken(a, b);
      pos -= 1;
      sf.statsFolds += 1;
      left = 0;
      continue;
    } else if (a.type === T.COLLATE && b.type === T.BAREWORD) {
      // Too many collations to list: a bare word with '_' after COLLATE is one.
      const nul = b.val.indexOf('\0');
      if ((nul < 0 ? b.val : b.val.slice(0, nul)).includes('_')) {
        b.type = T.SQLTYPE;
        left = 0;
      }
    } else if (a.type === T.BACKSLASH) {
      if (isArithmeticOp(b)) {
        a.type = T.NUMBER; // T-SQL reads "\%1" as "0 % 1"
      } else {
        copyToken(a, b); // and "\1" as "1"
        pos -= 1;
        sf.statsFolds += 1;
      }
      left = 0;
      continue;
    } else if (a.type === T.LEFTPARENS && b.type === T.LEFTPARENS) {
      pos -= 1;
      left = 0;
      sf.statsFolds += 1;
      continue;
    } else if (a.type === T.RIGHTPARENS && b.type === T.RIGHTPARENS) {
      pos -= 1;
      left = 0;
      sf.statsFolds += 1;
      continue;
    } else if (a.type === T.LEFTBRACE && b.type === T.BAREWORD) {
      // MySQL's "{ ``.``.id }" is blacklisted outright; ODBC's "{foo expr}" folds to expr.
      if (b.len === 0) {
        b.type = T.EVIL;
        return left + 2;
      }
      left = 0;
      pos -= 2;
      sf.statsFolds += 2;
      continue;
    } else if (b.type === T.RIGHTBRACE) {
      pos -= 1;
      left = 0;
      sf.statsFolds += 1;
      continue;
    }

    // No two-token fold: get a third token.
    while (more && pos <= MAX_TOKENS && pos - left < 3) {
      sf.current = tv[pos]!;
      more = tokenize(sf);
      if (more) {
        if (sf.current.type === T.COMMENT) copyToken(lastComment, sf.current);
        else {
          lastComment.type = '';
          pos += 1;
        }
      }
    }
    if (pos - left < 3) {
      left = pos;
      continue;
    }

    const x = tv[left]!.type;
    const y = tv[left + 1]!.type;
    const z = tv[left + 2]!.type;
    if (x === T.NUMBER && y === T.OPERATOR && z === T.NUMBER) {
      pos -= 2;
      left = 0;
      continue;
    } else if (x === T.OPERATOR && y !== T.LEFTPARENS && z === T.OPERATOR) {
      left = 0;
      pos -= 2;
      continue;
    } else if (x === T.LOGIC_OPERATOR && z === T.LOGIC_OPERATOR) {
      pos -= 2;
      left = 0;
      continue;
    } else if (x === T.VARIABLE && y === T.OPERATOR && (z === T.VARIABLE || z === T.NUMBER || z === T.BAREWORD)) {
      pos -= 2;
      left = 0;
      continue;
    } else if ((x === T.BAREWORD || x === T.NUMBER) && y === T.OPERATOR && (z === T.NUMBER || z === T.BAREWORD)) {
      pos -= 2;
      left = 0;
      continue;
    } else if (
      (x === T.BAREWORD || x === T.NUMBER || x === T.VARIABLE || x === T.STRING) &&
      y === T.OPERATOR &&
      tv[left + 1]!.val === '::' &&
      z === T.SQLTYPE
    ) {
      pos -= 2; // PostgreSQL cast x::type
      left = 0;
      sf.statsFolds += 2;
      continue;
    } else if (
      (x === T.BAREWORD || x === T.NUMBER || x === T.STRING || x === T.VARIABLE) &&
      y === T.COMMA &&
      (z === T.NUMBER || z === T.BAREWORD || z === T.STRING || z === T.VARIABLE)
    ) {
      pos -= 2;
      left = 0;
      continue;
    } else if ((x === T.EXPRESSION || x === T.GROUP || x === T.COMMA) && isUnaryOp(tv[left + 1]!) && z === T.LEFTPARENS) {
      copyToken(tv[left + 1]!, tv[left + 2]!); // "SELECT + (" -> "SELECT ("
      pos -= 1;
      left = 0;
      continue;
    } else if (
      (x === T.KEYWORD || x === T.EXPRESSION || x === T.GROUP) &&
      isUnaryOp(tv[left + 1]!) &&
      (z === T.NUMBER || z === T.BAREWORD || z === T.VARIABLE || z === T.STRING || z === T.FUNCTION)
    ) {
      copyToken(tv[left + 1]!, tv[left + 2]!); // "select - 1"
      pos -= 1;
      left = 0;
      continue;
    } else if (x === T.COMMA && isUnaryOp(tv[left + 1]!) && (z === T.NUMBER || z === T.BAREWORD || z === T.VARIABLE || z === T.STRING)) {
      copyToken(tv[left + 1]!, tv[left + 2]!); // "1,-1" -> "1"
      left = 0;
      pos -= 3;
      continue;
    } else if (x === T.COMMA && isUnaryOp(tv[left + 1]!) && z === T.FUNCTION) {
      copyToken(tv[left + 1]!, tv[left + 2]!); // "1,-sin(1)" -> "1,sin(1)"
      pos -= 1;
      left = 0;
      continue;
    } else if (x === T.BAREWORD && y === T.DOT && z === T.BAREWORD) {
      pos -= 2; // database.table
      left = 0;
      continue;
    } else if (x === T.EXPRESSION && y === T.DOT && z === T.BAREWORD) {
      copyToken(tv[left + 1]!, tv[left + 2]!); // "select . `foo`" -> "select `foo`"
      pos -= 1;
      left = 0;
      continue;
    } else if (x === T.FUNCTION && y === T.LEFTPARENS && z !== T.RIGHTPARENS && ciEquals('USER', tv[left]!.val)) {
      // USER is a function only as USER(): "user(1)" reads as a word. Not in
      // the published 3.9.1 source; measured on libinjection 3.9.2 as
      // ModSecurity ships it ("user(1)" -> n(1), "user()" -> f()).
      tv[left]!.type = T.BAREWORD;
    }

    left += 1;
  }

  // A trailing comment comes back when there is room for it.
  if (left < MAX_TOKENS && lastComment.type === T.COMMENT) {
    copyToken(tv[left]!, lastComment);
    left += 1;
  }
  return left > MAX_TOKENS ? MAX_TOKENS : left;
}

/** libinjection_sqli_fingerprint: the fingerprint of the input read under flags ("X" when unparsable). */
export function fingerprint(sf: SqliState, flags: number): string {
  sf.reset(flags);
  const tlen = fold(sf);
  const tv = sf.tokenvec;
  // PHP's magic backquote comment: an empty, unclosed trailing backtick word.
  const last = tv[tlen - 1];
  if (tlen > 2 && last && last.type === T.BAREWORD && last.strOpen === '`' && last.len === 0 && last.strClose === '') last.type = T.COMMENT;
  let fp = '';
  for (let i = 0; i < tlen; i++) fp += tv[i]!.type;
  if (fp.includes(T.EVIL)) {
    fp = T.EVIL;
    clearToken(tv[0]!);
    tv[0]!.type = T.EVIL;
    tv[0]!.val = T.EVIL;
    tv[0]!.len = 1;
    tv[1]!.type = '';
  }
  sf.fingerprint = fp;
  return fp;
}

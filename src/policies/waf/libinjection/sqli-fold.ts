/**
 * libinjection's folding (libinjection_sqli_fold, v3.9.2): the token stream is
 * reduced to at most five tokens whose types are the fingerprint, by folding
 * away what SQL evaluates to one value ("1+1", "a.b", unary operators,
 * "UNION ALL" merged to one word ...). Kept step for step, with its
 * five-token window and its special cases, so fingerprints are libinjection's.
 * Each step consumes a token or shrinks the window: the work is linear.
 */
import { asciiUpper, ciEquals, hasKeywordShape, lookupWord, shapeOf } from './sqli-lookup.js';
import { T, TOKEN_VALUE_MAX, clearToken, copyToken, newToken, tokenize, type SqliState, type Token } from './sqli-tokenizer.js';

// Imports bound to module constants once: run under tsx (tests, bench) every
// use of an imported name is a getter call, and these are on the hot path.
const T_ = T;
const TOKEN_VALUE_MAX_ = TOKEN_VALUE_MAX;
const clearToken_ = clearToken;
const copyToken_ = copyToken;
const newToken_ = newToken;
const tokenize_ = tokenize;
const asciiUpper_ = asciiUpper;
const ciEquals_ = ciEquals;
const lookupWord_ = lookupWord;
const hasKeywordShape_ = hasKeywordShape;
const shapeOf_ = shapeOf;

const MAX_TOKENS = 5;

function isUnaryOp(t: Token): boolean {
  if (t.type !== T_.OPERATOR) return false;
  const v = t.val;
  switch (t.len) {
    case 1:
      return v === '+' || v === '-' || v === '!' || v === '~';
    case 2:
      return v === '!!';
    case 3:
      return ciEquals_('NOT', v);
    default:
      return false;
  }
}

function isArithmeticOp(t: Token): boolean {
  const v = t.val[0];
  return t.type === T_.OPERATOR && t.len === 1 && (v === '*' || v === '/' || v === '-' || v === '+' || v === '%');
}

const MERGE_LEFT = new Set<string>([T_.KEYWORD, T_.BAREWORD, T_.OPERATOR, T_.UNION, T_.FUNCTION, T_.EXPRESSION, T_.TSQL, T_.SQLTYPE]);
const MERGE_RIGHT = new Set<string>([T_.KEYWORD, T_.BAREWORD, T_.OPERATOR, T_.SQLTYPE, T_.LOGIC_OPERATOR, T_.FUNCTION, T_.UNION, T_.EXPRESSION, T_.TSQL]);

/** "UNION" + "ALL" -> "UNION ALL" when the phrase is in the keyword table. */
function mergeWords(a: Token, b: Token): boolean {
  if (!MERGE_LEFT.has(a.type) || !MERGE_RIGHT.has(b.type)) return false;
  // Every phrase in the table starts with a letter.
  const c0 = a.val.charCodeAt(0) | 0x20;
  if (c0 < 97 || c0 > 122) return false;
  const len = a.len + b.len + 1;
  if (len >= TOKEN_VALUE_MAX_ + 1) return false;
  if (b.len === 0 || !hasKeywordShape_(shapeOf_(len, a.val.charCodeAt(0), b.val.charCodeAt(b.len - 1)))) return false;
  const phrase = `${a.val} ${b.val}`;
  const ch = lookupWord_(phrase);
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
const isFunctionLike = (t: Token): boolean => t.len <= 17 && FUNCTION_LIKE.has(asciiUpper_(t.val));

export function fold(sf: SqliState): number {
  const tv = sf.tokenvec;
  const lastComment = newToken_();
  let pos = 0;
  let left = 0;
  let more = true;

  // Skip leading comments, left parens, SQL types and unary operators.
  sf.current = tv[0]!;
  while (more) {
    more = tokenize_(sf);
    const t = sf.current;
    if (!(t.type === T_.COMMENT || t.type === T_.LEFTPARENS || t.type === T_.SQLTYPE || isUnaryOp(t))) break;
  }
  if (!more) return 0;
  pos += 1;

  for (;;) {
    // With five tokens, a few shapes are folded down so the rest is seen.
    if (pos >= MAX_TOKENS) {
      const [t0, t1, t2, t3, t4] = [tv[0]!.type, tv[1]!.type, tv[2]!.type, tv[3]!.type, tv[4]!.type];
      if (
        (t0 === T_.NUMBER && (t1 === T_.OPERATOR || t1 === T_.COMMA) && t2 === T_.LEFTPARENS && t3 === T_.NUMBER && t4 === T_.RIGHTPARENS) ||
        (t0 === T_.BAREWORD && t1 === T_.OPERATOR && t2 === T_.LEFTPARENS && (t3 === T_.BAREWORD || t3 === T_.NUMBER) && t4 === T_.RIGHTPARENS) ||
        (t0 === T_.NUMBER && t1 === T_.RIGHTPARENS && t2 === T_.COMMA && t3 === T_.LEFTPARENS && t4 === T_.NUMBER) ||
        // "word) - (word": in libinjection 3.9.2 as ModSecurity builds it (checked against Debian's libmodsecurity3
        // and mod_security2); without it Arabic text through CRS 942100's utf8toUnicode+urlDecodeUni ("ABH3) - (F3D'E)") reads as SQL
        (t0 === T_.BAREWORD && t1 === T_.RIGHTPARENS && t2 === T_.OPERATOR && t3 === T_.LEFTPARENS && t4 === T_.BAREWORD)
      ) {
        if (pos > MAX_TOKENS) {
          copyToken_(tv[1]!, tv[MAX_TOKENS]!);
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
      more = tokenize_(sf);
      if (more) {
        if (sf.current.type === T_.COMMENT) copyToken_(lastComment, sf.current);
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
    if (a.type === T_.STRING && b.type === T_.STRING) {
      pos -= 1; // "foo" "bar" is one string
      sf.statsFolds += 1;
      continue;
    } else if (a.type === T_.SEMICOLON && b.type === T_.SEMICOLON) {
      pos -= 1; // repeated semicolons
      sf.statsFolds += 1;
      continue;
    } else if (a.type === T_.SEMICOLON && b.type === T_.FUNCTION && ciEquals_('IF', b.val)) {
      b.type = T_.TSQL; // "; IF" is T-SQL control flow
      left += 2;
      continue;
    } else if ((a.type === T_.OPERATOR || a.type === T_.LOGIC_OPERATOR) && (isUnaryOp(b) || b.type === T_.SQLTYPE)) {
      pos -= 1;
      sf.statsFolds += 1;
      left = 0;
      continue;
    } else if (a.type === T_.LEFTPARENS && isUnaryOp(b)) {
      pos -= 1;
      sf.statsFolds += 1;
      if (left > 0) left -= 1;
      continue;
    } else if (mergeWords(a, b)) {
      pos -= 1;
      sf.statsFolds += 1;
      if (left > 0) left -= 1;
      continue;
    } else if ((a.type === T_.BAREWORD || a.type === T_.VARIABLE) && b.type === T_.LEFTPARENS && isFunctionLike(a)) {
      a.type = T_.FUNCTION;
      continue;
    } else if (a.type === T_.KEYWORD && (ciEquals_('IN', a.val) || ciEquals_('NOT IN', a.val))) {
      // "IN (" is an operator; otherwise (IN BOOLEAN MODE) a plain word.
      a.type = b.type === T_.LEFTPARENS ? T_.OPERATOR : T_.BAREWORD;
      continue;
    } else if (a.type === T_.OPERATOR && (ciEquals_('LIKE', a.val) || ciEquals_('NOT LIKE', a.val))) {
      if (b.type === T_.LEFTPARENS) a.type = T_.FUNCTION; // LIKE(...)
    } else if (
      a.type === T_.SQLTYPE &&
      (b.type === T_.BAREWORD ||
        b.type === T_.NUMBER ||
        b.type === T_.SQLTYPE ||
        b.type === T_.LEFTPARENS ||
        b.type === T_.FUNCTION ||
        b.type === T_.VARIABLE ||
        b.type === T_.STRING)
    ) {
      copyToken_(a, b);
      pos -= 1;
      sf.statsFolds += 1;
      left = 0;
      continue;
    } else if (a.type === T_.COLLATE && b.type === T_.BAREWORD) {
      // Too many collations to list: a bare word with '_' after COLLATE is one.
      const nul = b.val.indexOf('\0');
      if ((nul < 0 ? b.val : b.val.slice(0, nul)).includes('_')) {
        b.type = T_.SQLTYPE;
        left = 0;
      }
    } else if (a.type === T_.BACKSLASH) {
      if (isArithmeticOp(b)) {
        a.type = T_.NUMBER; // T-SQL reads "\%1" as "0 % 1"
      } else {
        copyToken_(a, b); // and "\1" as "1"
        pos -= 1;
        sf.statsFolds += 1;
      }
      left = 0;
      continue;
    } else if (a.type === T_.LEFTPARENS && b.type === T_.LEFTPARENS) {
      pos -= 1;
      left = 0;
      sf.statsFolds += 1;
      continue;
    } else if (a.type === T_.RIGHTPARENS && b.type === T_.RIGHTPARENS) {
      pos -= 1;
      left = 0;
      sf.statsFolds += 1;
      continue;
    } else if (a.type === T_.LEFTBRACE && b.type === T_.BAREWORD) {
      // MySQL's "{ ``.``.id }" is blacklisted outright; ODBC's "{foo expr}" folds to expr.
      if (b.len === 0) {
        b.type = T_.EVIL;
        return left + 2;
      }
      left = 0;
      pos -= 2;
      sf.statsFolds += 2;
      continue;
    } else if (b.type === T_.RIGHTBRACE) {
      pos -= 1;
      left = 0;
      sf.statsFolds += 1;
      continue;
    }

    // No two-token fold: get a third token.
    while (more && pos <= MAX_TOKENS && pos - left < 3) {
      sf.current = tv[pos]!;
      more = tokenize_(sf);
      if (more) {
        if (sf.current.type === T_.COMMENT) copyToken_(lastComment, sf.current);
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
    if (x === T_.NUMBER && y === T_.OPERATOR && z === T_.NUMBER) {
      pos -= 2;
      left = 0;
      continue;
    } else if (x === T_.OPERATOR && y !== T_.LEFTPARENS && z === T_.OPERATOR) {
      left = 0;
      pos -= 2;
      continue;
    } else if (x === T_.LOGIC_OPERATOR && z === T_.LOGIC_OPERATOR) {
      pos -= 2;
      left = 0;
      continue;
    } else if (x === T_.VARIABLE && y === T_.OPERATOR && (z === T_.VARIABLE || z === T_.NUMBER || z === T_.BAREWORD)) {
      pos -= 2;
      left = 0;
      continue;
    } else if ((x === T_.BAREWORD || x === T_.NUMBER) && y === T_.OPERATOR && (z === T_.NUMBER || z === T_.BAREWORD)) {
      pos -= 2;
      left = 0;
      continue;
    } else if (
      (x === T_.BAREWORD || x === T_.NUMBER || x === T_.VARIABLE || x === T_.STRING) &&
      y === T_.OPERATOR &&
      tv[left + 1]!.val === '::' &&
      z === T_.SQLTYPE
    ) {
      pos -= 2; // PostgreSQL cast x::type
      left = 0;
      sf.statsFolds += 2;
      continue;
    } else if (
      (x === T_.BAREWORD || x === T_.NUMBER || x === T_.STRING || x === T_.VARIABLE) &&
      y === T_.COMMA &&
      (z === T_.NUMBER || z === T_.BAREWORD || z === T_.STRING || z === T_.VARIABLE)
    ) {
      pos -= 2;
      left = 0;
      continue;
    } else if ((x === T_.EXPRESSION || x === T_.GROUP || x === T_.COMMA) && isUnaryOp(tv[left + 1]!) && z === T_.LEFTPARENS) {
      copyToken_(tv[left + 1]!, tv[left + 2]!); // "SELECT + (" -> "SELECT ("
      pos -= 1;
      left = 0;
      continue;
    } else if (
      (x === T_.KEYWORD || x === T_.EXPRESSION || x === T_.GROUP) &&
      isUnaryOp(tv[left + 1]!) &&
      (z === T_.NUMBER || z === T_.BAREWORD || z === T_.VARIABLE || z === T_.STRING || z === T_.FUNCTION)
    ) {
      copyToken_(tv[left + 1]!, tv[left + 2]!); // "select - 1"
      pos -= 1;
      left = 0;
      continue;
    } else if (x === T_.COMMA && isUnaryOp(tv[left + 1]!) && (z === T_.NUMBER || z === T_.BAREWORD || z === T_.VARIABLE || z === T_.STRING)) {
      copyToken_(tv[left + 1]!, tv[left + 2]!); // "1,-1" -> "1"
      left = 0;
      pos -= 3;
      continue;
    } else if (x === T_.COMMA && isUnaryOp(tv[left + 1]!) && z === T_.FUNCTION) {
      copyToken_(tv[left + 1]!, tv[left + 2]!); // "1,-sin(1)" -> "1,sin(1)"
      pos -= 1;
      left = 0;
      continue;
    } else if (x === T_.BAREWORD && y === T_.DOT && z === T_.BAREWORD) {
      pos -= 2; // database.table
      left = 0;
      continue;
    } else if (x === T_.EXPRESSION && y === T_.DOT && z === T_.BAREWORD) {
      copyToken_(tv[left + 1]!, tv[left + 2]!); // "select . `foo`" -> "select `foo`"
      pos -= 1;
      left = 0;
      continue;
    } else if (x === T_.FUNCTION && y === T_.LEFTPARENS && z !== T_.RIGHTPARENS && ciEquals_('USER', tv[left]!.val)) {
      // USER is a function only as USER(): "user(1)" reads as a word. Not in
      // the published 3.9.1 source; measured on libinjection 3.9.2 as
      // ModSecurity ships it ("user(1)" -> n(1), "user()" -> f()).
      tv[left]!.type = T_.BAREWORD;
    }

    left += 1;
  }

  // A trailing comment comes back when there is room for it.
  if (left < MAX_TOKENS && lastComment.type === T_.COMMENT) {
    copyToken_(tv[left]!, lastComment);
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
  if (tlen > 2 && last && last.type === T_.BAREWORD && last.strOpen === '`' && last.len === 0 && last.strClose === '') last.type = T_.COMMENT;
  let fp = '';
  for (let i = 0; i < tlen; i++) fp += tv[i]!.type;
  if (fp.includes(T_.EVIL)) {
    fp = T_.EVIL;
    clearToken_(tv[0]!);
    tv[0]!.type = T_.EVIL;
    tv[0]!.val = T_.EVIL;
    tv[0]!.len = 1;
    tv[1]!.type = '';
  }
  sf.fingerprint = fp;
  return fp;
}

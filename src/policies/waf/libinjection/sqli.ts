/**
 * libinjection's SQL injection test (libinjection_is_sqli, v3.9.2): the input
 * is fingerprinted as it is, as if it followed a single quote, and as if it
 * followed a double quote (re-read under MySQL's comment rules where ANSI's
 * differ), and is SQL injection when a fingerprint is in the blacklist and
 * survives the false-positive checks. At most five passes over the input.
 */
import { ciEquals, isBlacklistedFingerprint } from './sqli-lookup.js';
import { fingerprint } from './sqli-fold.js';
import { FLAG_QUOTE_DOUBLE, FLAG_QUOTE_NONE, FLAG_QUOTE_SINGLE, FLAG_SQL_ANSI, FLAG_SQL_MYSQL, SqliState, T } from './sqli-tokenizer.js';

// Imports bound to module constants once: run under tsx (tests, bench) every
// use of an imported name is a getter call, and these are on the hot path.
const T_ = T;
const fingerprint_ = fingerprint;
const isBlacklistedFingerprint_ = isBlacklistedFingerprint;
const ciEquals_ = ciEquals;

/** False for fingerprints that are in the blacklist but too often benign in this shape. */
function notWhitelist(sf: SqliState): boolean {
  const fp = sf.fingerprint;
  const tlen = fp.length;
  const tv = sf.tokenvec;
  const t0 = tv[0]!;
  const t1 = tv[1]!;
  // SQL Server's audit log skips statements naming sp_password: a known evasion.
  if (tlen > 1 && fp[tlen - 1] === T_.COMMENT && sf.s.includes('sp_password')) return true;

  if (tlen === 2) {
    // "1 union" alone is too common in text; with folding or comments it is not.
    if (fp[1] === T_.UNION) return sf.statsTokens !== 2;
    if (t1.val[0] === '#') return false;
    // "foo --" and "foo #" are text; only a C comment after a word counts.
    if (t0.type === T_.BAREWORD && t1.type === T_.COMMENT && t1.val[0] !== '/') return false;
    if (t0.type === T_.NUMBER && t1.type === T_.COMMENT && t1.val[0] === '/') return true;
    // "1c": only when the number is a real number followed by space, "/*" or "--".
    if (t0.type === T_.NUMBER && t1.type === T_.COMMENT) {
      if (sf.statsTokens > 2) return true;
      const s = sf.s;
      const ch = s.charCodeAt(t0.len);
      // The C code reads a signed char and the byte after the input is its NUL.
      if (Number.isNaN(ch) || ch <= 32 || ch >= 128) return true;
      if (ch === 47 && s[t0.len + 1] === '*') return true;
      if (ch === 45 && s[t0.len + 1] === '-') return true;
      return false;
    }
    // Text ending in "--" is a scan; "--" followed by more text is prose.
    if (t1.len > 2 && t1.val[0] === '-') return false;
    return true;
  }
  if (tlen === 3) {
    if (fp === 'sos' || fp === 's&s') {
      // ...foo' + 'bar...: no opening quote, no closing quote.
      const t2 = tv[2]!;
      return t0.strOpen === '' && t2.strClose === '' && t0.strClose === t2.strOpen;
    } else if (fp === 's&n' || fp === 'n&1' || fp === '1&1' || fp === '1&v' || fp === '1&s') {
      if (sf.statsTokens === 3) return false; // "sexy and 17" is text; "sexy and 17<18" is not
    } else if (t1.type === T_.KEYWORD) {
      // Only MySQL's INTO OUTFILE / INTO DUMPFILE counts.
      if (t1.len < 5 || !ciEquals_('INTO', t1.val.slice(0, 4))) return false;
    }
  }
  return true;
}

function checkFingerprint(sf: SqliState): boolean {
  return sf.fingerprint.length > 0 && isBlacklistedFingerprint_(sf.fingerprint) && notWhitelist(sf);
}

function tryFlags(sf: SqliState, flags: number): boolean {
  fingerprint_(sf, flags);
  return checkFingerprint(sf);
}

const reparseAsMysql = (sf: SqliState): boolean => sf.statsCommentDdx > 0 || sf.statsCommentHash > 0;

/** libinjection_is_sqli: the contexts in libinjection's order, stopping at the first that matches. */
function isSqli(sf: SqliState, input: string): boolean {
  if (tryFlags(sf, FLAG_QUOTE_NONE | FLAG_SQL_ANSI)) return true;
  if (reparseAsMysql(sf) && tryFlags(sf, FLAG_QUOTE_NONE | FLAG_SQL_MYSQL)) return true;
  if (input.includes("'")) {
    if (tryFlags(sf, FLAG_QUOTE_SINGLE | FLAG_SQL_ANSI)) return true;
    if (reparseAsMysql(sf) && tryFlags(sf, FLAG_QUOTE_SINGLE | FLAG_SQL_MYSQL)) return true;
  }
  return input.includes('"') && tryFlags(sf, FLAG_QUOTE_DOUBLE | FLAG_SQL_MYSQL);
}

const shared = new SqliState('', 0);
const NOT_SQLI = Object.freeze({ detected: false, fingerprint: '' });

/** Whether ModSecurity's @detectSQLi matches input, and the fingerprint_ it reports (TX.0). */
export function detectSQLi(input: string): { detected: boolean; fingerprint: string } {
  if (input.length === 0) return { ...NOT_SQLI };
  // One state for every call: detection is synchronous, and reset() clears it.
  const sf = shared;
  sf.s = input;
  const detected = isSqli(sf, input);
  const result = detected ? { detected: true, fingerprint: sf.fingerprint } : { ...NOT_SQLI };
  sf.s = '';
  return result;
}

/** The fingerprint_ of input under one context, for tests against libinjection's own. */
export function sqliFingerprint(input: string, flags: number): string {
  return fingerprint_(new SqliState(input, flags), flags);
}

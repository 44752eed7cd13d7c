/**
 * LDAP filter injection: a value pasted into a search filter such as
 * (&(uid=<value>)(objectClass=person)) that closes the application's
 * assertion and adds its own, or builds a filter that matches every entry:
 *
 *   *)(uid=*))(|(uid=*     a wildcard, then a new assertion
 *   *(|(objectclass=*))    an OR of assertions (also &, !)
 *   admin)(&)              the absolute true filter (RFC 4526)
 *
 * Filter syntax (RFC 4515) is "(" operator "(" attribute [~<>:]= value ")":
 * a composite opening "(|(", "(&(" or "(!(" directly followed by an
 * attribute assertion does not occur in prose, and ")(attr=" only with a
 * wildcard next to it. One pass over the value, no regular expressions.
 */
import { RULES, type Rule } from '../rules.js';

function isAttributeStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39);
}

function isAttributePart(c: number): boolean {
  return isAttributeStart(c) || c === 0x2d /* - */ || c === 0x2e /* . */ || c === 0x3b /* ; options */;
}

function skipSpaces(s: string, i: number): number {
  while (i < s.length && s.charCodeAt(i) === 0x20) i++;
  return i;
}

/** At `i`: attribute [~ < > or :rule:] "=" ; returns the index after "=", or -1. */
function assertionAt(s: string, i: number): number {
  i = skipSpaces(s, i);
  const start = i;
  while (i < s.length && i - start < 64 && isAttributePart(s.charCodeAt(i))) i++;
  if (i === start || !isAttributeStart(s.charCodeAt(start))) return -1;
  // extensible match: cn:caseExactMatch:=x, :dn:2.4.6.8.10:=y
  if (s.charCodeAt(i) === 0x3a) {
    // Looked for within 64 characters only: an unbounded search from every "(" would make the scan quadratic.
    for (let j = i; j < i + 64 && j + 1 < s.length; j++) if (s.charCodeAt(j) === 0x3a && s.charCodeAt(j + 1) === 0x3d) return j + 2;
    return -1;
  }
  const c = s.charCodeAt(i);
  if ((c === 0x7e || c === 0x3c || c === 0x3e) && s.charCodeAt(i + 1) === 0x3d) return i + 2;
  return c === 0x3d ? i + 1 : -1;
}

function isFilterBoundary(c: number): boolean {
  return c === 0x28 || c === 0x29 || c === 0x2a /* * */ || isComposite(c);
}

function isComposite(c: number): boolean {
  return c === 0x26 /* & */ || c === 0x7c /* | */ || c === 0x21; /* ! */
}

export function detectLdap(value: string): Rule | undefined {
  for (let open = value.indexOf('('); open !== -1; open = value.indexOf('(', open + 1)) {
    const op = skipSpaces(value, open + 1);
    const c = value.charCodeAt(op);
    if (isComposite(c)) {
      // where a filter can start: the value's start, or after another filter's parenthesis or a wildcard. In code,
      // "if(!(e=f()))" and "memcpy(&(a=b))" follow a name.
      if (open > 0 && !isFilterBoundary(value.charCodeAt(open - 1))) continue;
      const next = skipSpaces(value, op + 1);
      // (|(attr=...  (&(attr=...  (!(attr=...
      if (value.charCodeAt(next) === 0x28 && assertionAt(value, next + 1) !== -1) return RULES.ldapFilter;
      // )(&) and )(|): the absolute true and false filters, after a closed assertion
      if (value.charCodeAt(next) === 0x29 && c !== 0x21 && open > 0 && value.charCodeAt(open - 1) === 0x29) return RULES.ldapFilter;
      continue;
    }
    // *)(attr=  or  )(attr=*: a new assertion next to a wildcard
    if (open > 0 && value.charCodeAt(open - 1) === 0x29) {
      const after = assertionAt(value, open + 1);
      if (after === -1) continue;
      if ((open > 1 && value.charCodeAt(open - 2) === 0x2a) || value.charCodeAt(after) === 0x2a) return RULES.ldapFilter;
    }
  }
  return undefined;
}

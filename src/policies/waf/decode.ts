/**
 * Decoding the way an upstream might: percent-encoding (again, for double
 * encoding, and IIS's %uXXXX), HTML character references, JavaScript and
 * JSON escapes (\uXXXX, \u{...}, \xXX), and full-width forms that some
 * stacks fold to ASCII. The WAF inspects every distinct form; the upstream
 * gets the bytes unchanged.
 *
 * All loops are single passes over the input: no regular expressions.
 */

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * Percent-decodes leniently: malformed escapes stay as they are, invalid
 * UTF-8 becomes U+FFFD. `plus` turns "+" into a space (form encoding).
 */
export function percentDecode(input: string, plus: boolean): string {
  const pct = input.indexOf('%');
  if (pct === -1 && (!plus || input.indexOf('+') === -1)) return input;
  // at most 3 bytes per UTF-16 unit (a %uXXXX escape is 6 units for 3 bytes): one allocation, no growing array,
  // whose reallocations and garbage made the cost per KB grow with the value's size
  const bytes = new Uint8Array(input.length * 3);
  let n = 0;
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c === 0x25 /* % */) {
      const h = hexValue(input.charCodeAt(i + 1));
      const l = hexValue(input.charCodeAt(i + 2));
      if (h >= 0 && l >= 0) {
        bytes[n++] = h * 16 + l;
        i += 2;
        continue;
      }
      // %uXXXX (IIS)
      if ((input.charCodeAt(i + 1) | 0x20) === 0x75) {
        let code = 0;
        let ok = true;
        for (let k = 2; k < 6; k++) {
          const v = hexValue(input.charCodeAt(i + k));
          if (v < 0) {
            ok = false;
            break;
          }
          code = code * 16 + v;
        }
        if (ok) {
          n = putUtf8(bytes, n, code);
          i += 5;
          continue;
        }
      }
      bytes[n++] = c;
    } else if (c === 0x2b /* + */ && plus) {
      bytes[n++] = 0x20;
    } else if (c < 0x80) {
      bytes[n++] = c;
    } else {
      n = putUtf8(bytes, n, c);
    }
  }
  return utf8.decode(bytes.subarray(0, n));
}

/** Writes `code` (< 0x10000) as UTF-8 at `n`; returns the index after it. */
function putUtf8(bytes: Uint8Array, n: number, code: number): number {
  if (code < 0x80) bytes[n++] = code;
  else if (code < 0x800) {
    bytes[n++] = 0xc0 | (code >> 6);
    bytes[n++] = 0x80 | (code & 63);
  } else {
    bytes[n++] = 0xe0 | (code >> 12);
    bytes[n++] = 0x80 | ((code >> 6) & 63);
    bytes[n++] = 0x80 | (code & 63);
  }
  return n;
}

/** The named references attacks use to hide syntax; numeric references cover the rest. */
const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  lt: '<',
  gt: '>',
  amp: '&',
  quot: '"',
  apos: "'",
  sol: '/',
  bsol: '\\',
  colon: ':',
  semi: ';',
  lpar: '(',
  rpar: ')',
  lsqb: '[',
  rsqb: ']',
  lbrack: '[',
  rbrack: ']',
  lcub: '{',
  rcub: '}',
  lbrace: '{',
  rbrace: '}',
  equals: '=',
  excl: '!',
  num: '#',
  dollar: '$',
  percnt: '%',
  period: '.',
  comma: ',',
  plus: '+',
  ast: '*',
  quest: '?',
  commat: '@',
  grave: '`',
  hyphen: '-',
  dash: '-',
  lowbar: '_',
  vert: '|',
  verbar: '|',
  tab: '\t',
  newline: '\n',
  nbsp: '\u00a0',
};

/** Decodes &lt; &#60; &#x3c; (the semicolon optional, as browsers allow for numeric references). */
export function htmlDecode(input: string): string {
  let amp = input.indexOf('&');
  if (amp === -1) return input;
  let out = '';
  let last = 0;
  while (amp !== -1) {
    let i = amp + 1;
    let decoded: string | undefined;
    if (input.charCodeAt(i) === 0x23 /* # */) {
      i++;
      const hex = (input.charCodeAt(i) | 0x20) === 0x78;
      if (hex) i++;
      const start = i;
      let code = 0;
      // leading zeros are allowed and unbounded (&#0000060;), the value is not
      while (i < input.length && i - start < 16) {
        const v = hex ? hexValue(input.charCodeAt(i)) : input.charCodeAt(i) - 0x30;
        if (v < 0 || v > (hex ? 15 : 9)) break;
        code = code * (hex ? 16 : 10) + v;
        i++;
      }
      if (i > start && code > 0 && code <= 0x10ffff) {
        decoded = String.fromCodePoint(code);
        if (input.charCodeAt(i) === 0x3b) i++;
      }
    } else {
      const start = i;
      while (i < input.length && i - start < 10 && isAsciiLetter(input.charCodeAt(i))) i++;
      if (input.charCodeAt(i) === 0x3b) {
        decoded = NAMED_ENTITIES[input.slice(start, i).toLowerCase()];
        if (decoded !== undefined) i++;
      }
    }
    if (decoded !== undefined) {
      out += input.slice(last, amp) + decoded;
      last = i;
    }
    amp = input.indexOf('&', decoded !== undefined ? i : amp + 1);
  }
  return last === 0 ? input : out + input.slice(last);
}

function isAsciiLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', v: '\v', '0': '\0', "'": "'", '"': '"', '\\': '\\', '/': '/', '`': '`' };

/**
 * Decodes JavaScript/JSON escapes: \u003c \u{3c} \x3c \n \' and friends.
 * Other backslashes stay: "w\ho\am\i" is the shell's business, "..\.." a path's.
 */
export function jsUnescape(input: string): string {
  const first = input.indexOf('\\');
  if (first === -1) return input;
  let out = input.slice(0, first);
  let i = first;
  while (i < input.length) {
    const c = input.charCodeAt(i);
    if (c !== 0x5c) {
      out += input[i];
      i++;
      continue;
    }
    const k = input.charCodeAt(i + 1);
    if ((k | 0x20) === 0x75 /* u */) {
      if (input.charCodeAt(i + 2) === 0x7b /* { */) {
        // the "}" within reach only: a search of the rest of the value from every "\\u{" is quadratic (issue 10)
        let close = -1;
        for (let k = i + 3; k <= i + 10 && k < input.length; k++) {
          if (input.charCodeAt(k) === 0x7d) {
            close = k;
            break;
          }
        }
        if (close !== -1) {
          const code = parseHex(input, i + 3, close);
          if (code >= 0 && code <= 0x10ffff) {
            out += String.fromCodePoint(code);
            i = close + 1;
            continue;
          }
        }
      } else {
        const code = parseHex(input, i + 2, i + 6);
        if (code >= 0) {
          out += String.fromCharCode(code);
          i += 6;
          continue;
        }
      }
    } else if ((k | 0x20) === 0x78 /* x */) {
      const code = parseHex(input, i + 2, i + 4);
      if (code >= 0) {
        out += String.fromCharCode(code);
        i += 4;
        continue;
      }
    } else {
      const simple = i + 1 < input.length ? SIMPLE_ESCAPES[input[i + 1]!] : undefined;
      if (simple !== undefined) {
        out += simple;
        i += 2;
        continue;
      }
    }
    out += '\\';
    i++;
  }
  return out;
}

function parseHex(input: string, from: number, to: number): number {
  if (to > input.length || to <= from) return -1;
  let code = 0;
  for (let i = from; i < to; i++) {
    const v = hexValue(input.charCodeAt(i));
    if (v < 0) return -1;
    code = code * 16 + v;
  }
  return code;
}

/**
 * Characters that Windows "best fit" conversion and Unicode-folding stacks (IIS, some path normalizers) read as a
 * path separator or a dot: U+2215 DIVISION SLASH and U+2044 FRACTION SLASH as "/", U+2216 SET MINUS and U+FE68 as
 * "\\", U+2024 ONE DOT LEADER and U+FE52 as ".". "%u002e%u002e%u2215etc%u2215passwd" is ../etc/passwd to them.
 */
const LOOKALIKES: ReadonlyMap<number, string> = new Map([
  [0x2215, '/'],
  [0x2044, '/'],
  [0x29f8, '/'],
  [0x2216, '\\'],
  [0x29f9, '\\'],
  [0xfe68, '\\'],
  [0x2024, '.'],
  [0xfe52, '.'],
]);

function isFoldable(c: number): boolean {
  return (c >= 0xff01 && c <= 0xff5e) || (c >= 0x2024 && c <= 0xfe68 && LOOKALIKES.has(c));
}

/** Full-width ASCII (U+FF01..U+FF5E) → ASCII, as IIS and some frameworks fold it; slash and dot look-alikes too. */
export function foldFullWidth(input: string): string {
  let out = '';
  let changed = false;
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c >= 0xff01 && c <= 0xff5e) {
      out += String.fromCharCode(c - 0xfee0);
      changed = true;
    } else if (c >= 0x2024 && c <= 0xfe68 && LOOKALIKES.has(c)) {
      out += LOOKALIKES.get(c)!;
      changed = true;
    } else {
      out += input[i];
    }
  }
  return changed ? out : input;
}

/** Characters that announce an encoding layer worth undoing. */
function hasFullWidth(input: string): boolean {
  for (let i = 0; i < input.length; i++) {
    if (isFoldable(input.charCodeAt(i))) return true;
  }
  return false;
}

/** The most decoding layers stacked on one value; beyond this a value is suspicious by itself. */
export const MAX_DECODE_ROUNDS = 3;

/**
 * Calls `visit` with the value as received (already URL-decoded once by the
 * caller, as the upstream would) and then each further decoded form that
 * differs from the ones before. Stops early when `visit` returns true.
 */
export function forEachForm(value: string, visit: (form: string) => boolean): boolean {
  if (visit(value)) return true;
  let current = value;
  for (let round = 0; round < MAX_DECODE_ROUNDS; round++) {
    const before = current;
    // each layer's result is inspected on its own: "%5c.." is a traversal before a JS unescape would eat the backslash
    if (current.indexOf('%') !== -1) {
      const next = percentDecode(current, false);
      if (next !== current && visit((current = next))) return true;
    }
    if (current.indexOf('&') !== -1) {
      const next = htmlDecode(current);
      if (next !== current && visit((current = next))) return true;
    }
    if (current.indexOf('\\') !== -1) {
      const next = jsUnescape(current);
      if (next !== current && visit((current = next))) return true;
    }
    if (current === before) break;
  }
  if (hasFullWidth(current)) {
    const folded = foldFullWidth(current);
    if (visit(folded)) return true;
  }
  return false;
}

/**
 * What a shell would read of a value once it has undone its own quoting and
 * expansion tricks, so the command detector (rce.ts) sees `cat` in c'a't,
 * w\ho\am\i, w${x}hoami, {cat,/etc/passwd} and cat</etc/passwd. Linear in
 * the value: every closing delimiter is searched for once (issue 10).
 */

export function isWordChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2d || c === 0x2e;
}

/**
 * What a shell would see once it has removed its own quoting: letters kept,
 * quotes between letters and backslashes dropped, $IFS and friends turned
 * into spaces, brace lists into words.
 */
export function shellNormalize(value: string): string {
  let s = value.toLowerCase();
  if (s.includes('$')) {
    s = s
      .replaceAll('${ifs}', ' ')
      .replaceAll('$ifs$9', ' ')
      .replaceAll('$ifs', ' ')
      .replaceAll('$@', '')
      .replaceAll('$*', '');
    s = dropEmptyExpansions(s);
  }
  let out = '';
  let braceClose = -2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c /* \ */ && i + 1 < s.length && s.charCodeAt(i + 1) !== 0x0a) continue;
    if ((c === 0x27 || c === 0x22) && i > 0 && i + 1 < s.length && isWordChar(s.charCodeAt(i - 1)) && (isWordChar(s.charCodeAt(i + 1)) || s.charCodeAt(i + 1) === c)) continue;
    if (c === 0x27 || c === 0x22) {
      // 'cat' "cat": a quoted command word reads as the word
      const close = s.indexOf(String.fromCharCode(c), i + 1);
      if (close > i + 1 && close - i < 32) {
        out += s.slice(i + 1, close);
        i = close;
        continue;
      }
    }
    if (c === 0x7b /* { */) {
      // {cat,/etc/passwd} → cat /etc/passwd. The "}" is searched for again only past the last one found: from every
      // "{" it made "{" repeated quadratic (issue 10).
      if (braceClose !== -1 && braceClose <= i) braceClose = s.indexOf('}', i + 1);
      const close = braceClose;
      if (close !== -1 && close - i < 200 && s.slice(i + 1, close).includes(',') && !s.slice(i + 1, close).includes(' ')) {
        out += ' ' + s.slice(i + 1, close).replaceAll(',', ' ') + ' ';
        i = close;
        continue;
      }
    }
    if (c === 0x3c /* < */ && s.charCodeAt(i + 1) !== 0x28) {
      out += ' '; // cat</etc/passwd
      continue;
    }
    out += s[i];
  }
  return out;
}

/** Quotes, backslashes, $ expansions, braces and "<" are what a shell would rewrite; without them the value reads as it is. */
export function needsShellNormalize(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x27 || c === 0x22 || c === 0x5c || c === 0x24 || c === 0x7b || c === 0x3c) return true;
  }
  return false;
}

/** ${x}, ${9}, $9: expansions of unset variables used to break up words (w${x}hoami). ${0} and $0 stay (the shell). */
/** Variables that are never empty in a shell: the shell itself. */
const KEPT_EXPANSIONS: ReadonlySet<string> = new Set(['0', 'shell', 'bash']);

function dropEmptyExpansions(s: string): string {
  let out = '';
  let close = -2; // the first "}" past the current "${", searched for again only past it (linear, issue 10)
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) === 0x24) {
      const next = s.charCodeAt(i + 1);
      if (next === 0x7b) {
        if (close !== -1 && close < i + 2) close = s.indexOf('}', i + 2);
        if (close !== -1 && close - i <= 12 && /^[a-z0-9_]*$/.test(s.slice(i + 2, close)) && !KEPT_EXPANSIONS.has(s.slice(i + 2, close))) {
          i = close;
          continue;
        }
      } else if (next >= 0x31 && next <= 0x39) {
        // $1..$9 (unset positional parameters); $0 is the shell's own name, never empty, and kept for commandAt()
        i++;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

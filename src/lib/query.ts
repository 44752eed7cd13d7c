/**
 * Query strings, URL-encoded forms and cookies as the parsers upstreams run
 * read them — Werkzeug 2 and 3, qs (Express, body-parser), Node — and, where
 * they disagree, every one of their readings. The waf inspects every reading;
 * request-validation checks every reading against its rules; neither has a
 * reader of its own. test/fuzz/body-differential.test.ts and
 * test/fuzz/request-validation-differential.test.ts hold them to the real
 * parsers.
 */

// ---------------------------------------------------------------------------
// name=value&... (query strings and URL-encoded forms)

function hexValue(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
}

export interface Decoded {
  /** Werkzeug 2's and Node's reading: valid escapes decoded, others kept, then UTF-8 with replacement characters. */
  readonly text: string;
  /** Werkzeug 3's, when it differs: bytes that are not UTF-8 put back as %XX. */
  readonly requoted?: string;
  /** A malformed escape, invalid UTF-8 or a raw byte above 0x7f: qs may read it otherwise. */
  readonly irregular: boolean;
}

/** The length of the UTF-8 sequence starting at `i`, or 0 when none does (RFC 3629: no overlongs, no surrogates). */
function utf8Length(b: Buffer, i: number, end: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => i + k < end && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/** UTF-8, with every byte that is not part of a valid sequence written as %XX (Werkzeug 3's "werkzeug.url_quote" errors). */
function requote(b: Buffer): string {
  let out = '';
  let i = 0;
  while (i < b.length) {
    const n = utf8Length(b, i, b.length);
    if (n === 0) {
      out += '%' + b[i]!.toString(16).toUpperCase().padStart(2, '0');
      i++;
    } else {
      out += b.toString('utf8', i, i + n);
      i += n;
    }
  }
  return out;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/**
 * The commonest case without decodeURIComponent (a runtime call, and a copy by
 * replaceAll before it): "+" and %XX escapes of ASCII bytes only, which
 * decodeURIComponent of the "+"-replaced text reads exactly the same way.
 * Undefined for anything else (an escape of a byte over 0x7f, a malformed
 * escape), which the general path below reads.
 */
function asciiFormDecode(raw: string): string | undefined {
  let out = '';
  let run = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x2b) {
      out += raw.slice(run, i) + ' ';
      run = i + 1;
    } else if (c === 0x25) {
      const h = hexValue(raw.charCodeAt(i + 1));
      const l = hexValue(raw.charCodeAt(i + 2));
      if (h < 0 || l < 0 || h >= 8) return undefined;
      out += raw.slice(run, i) + String.fromCharCode(h * 16 + l);
      i += 2;
      run = i + 1;
    }
  }
  return out + raw.slice(run);
}

/** Decodes one side of a form pair, each character one byte: "+" is a space, %XX a byte; the bytes are UTF-8. */
function formDecode(raw: string): Decoded {
  let plain = true;
  let high = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25 || c === 0x2b) plain = false;
    else if (c >= 0x80) high = true;
  }
  if (plain && !high) return { text: raw, irregular: false };
  if (!high) {
    const ascii = asciiFormDecode(raw);
    if (ascii !== undefined) return { text: ascii, irregular: false };
    // the usual case: escapes that are valid UTF-8, where decodeURIComponent reads as Werkzeug does
    try {
      return { text: decodeURIComponent(raw.replaceAll('+', ' ')), irregular: false };
    } catch {
      // a malformed escape or invalid UTF-8: read byte by byte below
    }
  }
  const out = Buffer.allocUnsafe(raw.length);
  let n = 0;
  let irregular = high;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25) {
      const h = hexValue(raw.charCodeAt(i + 1));
      const l = hexValue(raw.charCodeAt(i + 2));
      if (h >= 0 && l >= 0) {
        out[n++] = h * 16 + l;
        i += 2;
        continue;
      }
      irregular = true;
    }
    out[n++] = c === 0x2b ? 0x20 : c;
  }
  const decoded = out.subarray(0, n);
  const text = decoded.toString('utf8');
  try {
    utf8Strict.decode(decoded);
  } catch {
    return { text, requoted: requote(decoded), irregular: true };
  }
  return { text, irregular };
}

/** qs's decoder: "+" a space, then decodeURIComponent of the whole string, or the string as it was when that throws. */
function qsDecode(text: string): string {
  const plain = text.replaceAll('+', ' ');
  try {
    return decodeURIComponent(plain);
  } catch {
    return plain;
  }
}

/** How qs reads one name=value: %5B and %5D become brackets first, and "]=" is the split point when there is one. */
function qsPair(part: string): [string, string] {
  const clean = part.replace(/%5B/gi, '[').replace(/%5D/gi, ']');
  const bracketEquals = clean.indexOf(']=');
  const at = bracketEquals === -1 ? clean.indexOf('=') : bracketEquals + 1;
  return at === -1 ? [qsDecode(clean), ''] : [qsDecode(clean.slice(0, at)), qsDecode(clean.slice(at + 1))];
}

/** Could qs split this pair elsewhere or file it under another key: a "[" or "]" in it, as sent or as %5B / %5D? */
function mayBracket(pair: string): boolean {
  if (pair.includes(']') || pair.includes('[')) return true;
  for (let i = pair.indexOf('%5'); i !== -1; i = pair.indexOf('%5', i + 1)) {
    const c = pair.charCodeAt(i + 2) | 0x20;
    if (c === 0x64 || c === 0x62) return true;
  }
  return false;
}

function isPlain(pair: string): boolean {
  for (let i = 0; i < pair.length; i++) {
    const c = pair.charCodeAt(i);
    if (c === 0x25 || c === 0x2b || c === 0x5b || c === 0x5d || c >= 0x80) return false;
  }
  return true;
}

/** One name=value pair, each character one byte, as the parsers read it. */
export interface PairReading {
  /** Werkzeug 2's and Node's reading (`text`), and Werkzeug 3's (`requoted`) where it differs. */
  readonly name: Decoded;
  /** undefined: the pair has no "=" (the value is "" to every parser). */
  readonly value: Decoded | undefined;
  /** qs's reading, when it may differ (a malformed escape, invalid UTF-8, raw bytes above 0x7f, a "]"). */
  readonly qs?: readonly [string, string];
}

/**
 * Reads one pair. `text` is how the qs of an upstream sees the bytes: a
 * query string is Latin-1 to Node, a form body UTF-8 to body-parser.
 */
export function readPair(pair: string, text: 'latin1' | 'utf8'): PairReading {
  const eq = pair.indexOf('=');
  if (isPlain(pair)) {
    // no escape, "+", bracket or byte above 0x7f: every parser reads it as written
    if (eq === -1) return { name: { text: pair, irregular: false }, value: undefined };
    return { name: { text: pair.slice(0, eq), irregular: false }, value: { text: pair.slice(eq + 1), irregular: false } };
  }
  const name = formDecode(eq === -1 ? pair : pair.slice(0, eq));
  const value = eq === -1 ? undefined : formDecode(pair.slice(eq + 1));
  if (!name.irregular && !value?.irregular && !mayBracket(pair)) return { name, value };
  return { name, value, qs: qsPair(text === 'latin1' ? pair : Buffer.from(pair, 'latin1').toString('utf8')) };
}

/**
 * The readings of one percent-encoded path segment ("+" is itself): bytes
 * decoded as UTF-8 with U+FFFD for invalid ones (Werkzeug 2, wsgiref), with
 * them kept as %XX (Werkzeug 3), and as sent when decodeURIComponent fails.
 */
export function pathSegmentReadings(raw: string): string[] {
  if (!raw.includes('%')) return [raw];
  const decoded = formDecode(raw.replaceAll('+', '%2B'));
  if (!decoded.irregular) return [decoded.text];
  const out = [decoded.text];
  if (decoded.requoted !== undefined && decoded.requoted !== decoded.text) out.push(decoded.requoted);
  if (!out.includes(raw)) out.push(raw);
  return out;
}

/** name → values, in order; a name without "=" has the value "". */
export type Pairs = Map<string, string[]>;

function add(map: Pairs, name: string, value: string): void {
  const list = map.get(name);
  if (list) list.push(value);
  else map.set(name, [value]);
}

/**
 * Every way a query string or form body is read: Werkzeug 2's and Node's
 * first, then Werkzeug 3's and qs's when some pair reads differently to them
 * (each a whole reading, as that parser would hand it to an application).
 * Split on "&" only, as all of them do. Undefined past `maxPairs` pairs.
 */
export function pairReadings(input: string, text: 'latin1' | 'utf8', maxPairs = Infinity): Pairs[] | undefined {
  const first: Pairs = new Map();
  let requoted: Pairs | undefined;
  let qs: Pairs | undefined;
  let count = 0;
  let start = 0;
  while (start <= input.length) {
    let end = input.indexOf('&', start);
    if (end === -1) end = input.length;
    if (end > start) {
      if (++count > maxPairs) return undefined;
      const r = readPair(input.slice(start, end), text);
      const value = r.value?.text ?? '';
      // a reading that differs starts as a copy of the first up to here
      if (requoted === undefined && (r.name.requoted !== undefined || r.value?.requoted !== undefined)) requoted = copy(first);
      const parent = r.qs === undefined ? undefined : qsParent(r.qs[0]);
      if (qs === undefined && r.qs !== undefined && (r.qs[0] !== r.name.text || r.qs[1] !== value || parent !== undefined)) qs = copy(first);
      add(first, r.name.text, value);
      if (requoted) add(requoted, r.name.requoted ?? r.name.text, r.value?.requoted ?? value);
      if (qs) {
        if (r.qs) {
          add(qs, r.qs[0], r.qs[1]);
          // limit[]=1000 and limit[0]=1000 are req.query.limit to Express: a rule on limit holds for them too
          if (parent !== undefined) add(qs, parent, r.qs[1]);
        } else add(qs, r.name.text, value);
      }
    }
    start = end + 1;
  }
  const out = [first];
  if (requoted) out.push(requoted);
  if (qs) out.push(qs);
  return out;
}

/**
 * The top-level key qs (6.x) files a bracketed name under: what precedes the
 * first "[" (a for a[], a[0], a[b][c], a[), or for a name opening with a
 * bracket pair, what it holds (b for [b]). Undefined when qs keeps the name whole.
 */
function qsParent(name: string): string | undefined {
  const open = name.indexOf('[');
  if (open > 0) return name.slice(0, open);
  if (open === -1) return undefined;
  const m = /^\[([^[\]]*)\]/.exec(name);
  return m ? m[1] : undefined;
}

function copy(map: Pairs): Pairs {
  const out: Pairs = new Map();
  for (const [k, v] of map) out.set(k, [...v]);
  return out;
}

// ---------------------------------------------------------------------------
// Cookies

function isAsciiSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function trimAscii(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isAsciiSpace(text.charCodeAt(start))) start++;
  while (end > start && isAsciiSpace(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/** Werkzeug's _cookie_unquote: a "quoted" value loses its quotes, \ooo octal escapes and \x quoted characters. */
function werkzeugUnquote(value: string): string {
  if (value.length < 2 || value[0] !== '"' || value[value.length - 1] !== '"') return value;
  const inner = value.slice(1, -1);
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!;
    if (c === '\\' && i + 1 < inner.length) {
      if (/^[0-3][0-7][0-7]$/.test(inner.slice(i + 1, i + 4))) {
        out += String.fromCharCode(parseInt(inner.slice(i + 1, i + 4), 8));
        i += 3;
      } else {
        out += inner[++i];
      }
      continue;
    }
    out += c;
  }
  return out;
}

/**
 * Werkzeug 2.x's reading of a Cookie header (_cookie_parse_impl): a value
 * that opens with a quote runs to its closing quote, across any ";" inside it,
 * when only whitespace and ";" follow; a name without "=" is a cookie too.
 */
function werkzeugCookies(header: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const text = header + ';';
  const n = header.length;
  let i = 0;
  while (i < n) {
    const keyStart = i;
    while (text[i] !== '=' && text[i] !== ';') i++;
    const key = trimAscii(text.slice(keyStart, i));
    let value = '';
    if (text[i] === '=') {
      i++;
      while (isAsciiSpace(text.charCodeAt(i))) i++;
      const valueStart = i;
      let done = false;
      if (text[i] === '"') {
        let j = i + 1;
        while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
        if (j < text.length) {
          let k = j + 1;
          while (isAsciiSpace(text.charCodeAt(k))) k++;
          if (text[k] === ';') {
            value = text.slice(valueStart, j + 1);
            i = k + 1;
            done = true;
          }
        }
      }
      if (!done) {
        const semi = text.indexOf(';', valueStart);
        let valueEnd = semi;
        while (valueEnd > valueStart && isAsciiSpace(text.charCodeAt(valueEnd - 1))) valueEnd--;
        value = text.slice(valueStart, valueEnd);
        i = semi + 1;
      }
    } else {
      i++;
    }
    if (key !== '') out.push([key, werkzeugUnquote(value)]);
  }
  return out;
}

/**
 * Every (name, value) a server might read from a Cookie header, for
 * inspection: split at ";" and the first "=" (Node's cookie package, most
 * servers), the value also without its quotes, and Werkzeug's reading when the
 * header has quotes or backslashes. Values are as sent (not percent-decoded:
 * the inspector decodes). Bytes above 0x7f are read as Latin-1 and as UTF-8.
 */
export function cookieReadings(header: string | string[]): Array<[string, string]> {
  const text = Array.isArray(header) ? header.join('; ') : header;
  const out: Array<[string, string]> = [];
  readCookies(text, out);
  // Werkzeug 2 decodes the bytes as UTF-8; Werkzeug 3 and Node keep them Latin-1
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) >= 0x80) {
      readCookies(Buffer.from(text, 'latin1').toString('utf8'), out);
      break;
    }
  }
  return out;
}

function readCookies(text: string, out: Array<[string, string]>): void {
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf(';', start);
    if (end === -1) end = text.length;
    const pair = text.slice(start, end);
    const eq = pair.indexOf('=');
    const name = trimAscii(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? '' : trimAscii(pair.slice(eq + 1));
    if (name !== '' || value !== '') out.push([name, value]);
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) out.push([name, value.slice(1, -1)]);
    start = end + 1;
  }
  if (text.includes('"') || text.includes('\\')) {
    for (const [name, value] of werkzeugCookies(text)) out.push([name, value]);
  }
}

/**
 * A Cookie header as a name → values map holding every reading: each of
 * cookieReadings (split at ";", unquoted, Werkzeug's, Latin-1 and UTF-8), and
 * each value percent-decoded too, as Node's cookie package (Express's
 * cookie-parser) hands it over. A repeated name keeps all its values: servers
 * differ on which one wins.
 */
export function cookieValues(header: string | string[] | undefined): Pairs {
  const out: Pairs = new Map();
  if (header === undefined) return out;
  for (const [name, value] of cookieReadings(header)) {
    if (name === '') continue;
    const list = out.get(name) ?? [];
    if (list.length === 0) out.set(name, list);
    if (!list.includes(value)) list.push(value);
    if (value.includes('%')) {
      let decoded = value;
      try {
        decoded = decodeURIComponent(value);
      } catch {
        // the cookie package hands over the value as sent
      }
      if (!list.includes(decoded)) list.push(decoded);
    }
  }
  return out;
}

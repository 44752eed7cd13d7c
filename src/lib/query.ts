/**
 * Query strings and cookies as applications read them: name → values, "+"
 * as a space, percent-escapes decoded (a malformed escape stays as written).
 */

function decode(text: string): string {
  const plain = text.includes('+') ? text.replaceAll('+', ' ') : text;
  if (!plain.includes('%')) return plain;
  try {
    return decodeURIComponent(plain);
  } catch {
    return plain;
  }
}

/** "a=1&b=2&a=3" → { a: ["1", "3"], b: ["2"] }; a name without "=" has the value "". */
export function parseQuery(query: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (query === '') return out;
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decode(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? '' : decode(pair.slice(eq + 1));
    const list = out.get(name);
    if (list) list.push(value);
    else out.set(name, [value]);
  }
  return out;
}

/** "a=1; b=2" → { a: "1", b: "2" } (the first of repeated names wins, as most servers do). */
export function parseCookies(header: string | string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (header === undefined) return out;
  const text = Array.isArray(header) ? header.join('; ') : header;
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim();
    if (name !== '' && !out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}

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

/**
 * Request body processors, as ModSecurity names them: URLENCODED, MULTIPART,
 * JSON and XML. Each fills the transaction's collections from the bytes and
 * reports a parse error instead of throwing; each is bounded (values, depth).
 * Values are byte strings (latin1), as every other variable.
 */
import sax from 'sax';
import type { Collection } from './collection.js';

export interface BodyLimits {
  readonly maxArgs: number;
  readonly maxDepth: number;
}

export interface BodyResult {
  error: string | undefined;
}

const TOO_MANY = 'too many arguments';

/** "a=1&b=2" into `into`, names and values URL-decoded ("+" is a space). */
export function parseUrlEncoded(text: string, into: Collection, limits: BodyLimits): BodyResult {
  if (text === '') return { error: undefined };
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    if (into.size >= limits.maxArgs) return { error: TOO_MANY };
    const eq = pair.indexOf('=');
    const name = urlDecode(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? '' : urlDecode(pair.slice(eq + 1));
    into.add(name, value);
  }
  return { error: undefined };
}

function hex(c: number): number {
  return c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
}

export function urlDecode(s: string): string {
  if (s.indexOf('%') === -1 && s.indexOf('+') === -1) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 43) out += ' ';
    else if (c === 37 && i + 2 < s.length + 0 && hex(s.charCodeAt(i + 1)) >= 0 && hex(s.charCodeAt(i + 2)) >= 0) {
      out += String.fromCharCode((hex(s.charCodeAt(i + 1)) << 4) | hex(s.charCodeAt(i + 2)));
      i += 2;
    } else out += s[i];
  }
  return out;
}

function bytes(s: string): string {
  // JSON and XML text is UTF-8 as sent: back to its bytes, as every variable
   
  return /[^\x00-\x7f]/.test(s) ? Buffer.from(s, 'utf8').toString('latin1') : s;
}

/** JSON as ModSecurity flattens it: json.a.b, arrays by index; scalars as text. */
export function parseJson(body: Buffer, into: Collection, limits: BodyLimits): BodyResult {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (e) {
    return { error: `JSON parsing error: ${(e as Error).message.slice(0, 100)}` };
  }
  let error: string | undefined;
  const walk = (node: unknown, name: string, depth: number): void => {
    if (error) return;
    if (depth > limits.maxDepth) {
      error = 'JSON depth limit exceeded';
      return;
    }
    if (node !== null && typeof node === 'object') {
      const entries = Array.isArray(node) ? node.map((v, i) => [String(i), v] as const) : Object.entries(node as Record<string, unknown>);
      if (entries.length === 0) {
        into.add(name, '');
        return;
      }
      for (const [k, v] of entries) walk(v, `${name}.${bytes(k)}`, depth + 1);
      return;
    }
    if (into.size >= limits.maxArgs) {
      error = TOO_MANY;
      return;
    }
    into.add(name, node === null ? '' : typeof node === 'string' ? bytes(node) : JSON.stringify(node));
  };
  walk(doc, 'json', 0);
  return { error };
}

export interface XmlResult extends BodyResult {
  /** Text of each element, in document order. */
  readonly texts: string[];
  /** Every attribute value. */
  readonly attributes: string[];
  /** The name of each text's element and of each attribute (the engine keeps no credential-named one across requests). */
  readonly textNames: string[];
  readonly attributeNames: string[];
}

/** XML with sax in strict mode: no DTD is read and no entity but the five predefined ones is expanded, so no XXE in the waf. */
export function parseXml(body: Buffer, limits: BodyLimits): XmlResult {
  const texts: string[] = [];
  const attributes: string[] = [];
  const textNames: string[] = [];
  const attributeNames: string[] = [];
  /** The open elements' names (depth is bounded by the parse: past maxDepth it is an error). */
  const open: string[] = [];
  let error: string | undefined;
  let depth = 0;
  const parser = sax.parser(true, { trim: false, normalize: false });
  parser.onerror = (e) => {
    error ??= `XML parsing error: ${e.message.split('\n')[0]}`;
    parser.error = null as unknown as Error;
    parser.close();
  };
  parser.onopentag = (tag) => {
    depth++;
    if (depth > limits.maxDepth) error ??= 'XML depth limit exceeded';
    open.push(tag.name);
    for (const [name, v] of Object.entries(tag.attributes) as [string, string | sax.QualifiedAttribute][]) {
      if (attributes.length + texts.length < limits.maxArgs) {
        attributes.push(bytes(typeof v === 'string' ? v : v.value));
        attributeNames.push(name);
      }
    }
  };
  parser.onclosetag = () => {
    depth--;
    open.pop();
  };
  const text = (t: string): void => {
    if (t.trim() === '' || texts.length + attributes.length >= limits.maxArgs) return;
    texts.push(bytes(t));
    textNames.push(open.at(-1) ?? '');
  };
  parser.ontext = text;
  parser.oncdata = text;
  try {
    parser.write(body.toString('utf8')).close();
  } catch (e) {
    error ??= `XML parsing error: ${(e as Error).message.split('\n')[0]}`;
  }
  return { error, texts, attributes, textNames, attributeNames };
}

export interface MultipartPart {
  readonly name: string;
  readonly filename: string | undefined;
  readonly headers: string[];
  readonly value: string;
}

export interface MultipartResult extends BodyResult {
  readonly parts: MultipartPart[];
  readonly strictError: boolean;
  readonly unmatchedBoundary: boolean;
}

/** multipart/form-data split by its boundary; header lines kept for MULTIPART_PART_HEADERS. */
export function parseMultipart(body: Buffer, contentType: string, limits: BodyLimits): MultipartResult {
  const parts: MultipartPart[] = [];
  const m = /boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!m) return { error: 'multipart: no boundary', parts, strictError: true, unmatchedBoundary: false };
  const boundary = m[1] ?? m[2]!;
  const text = body.toString('latin1');
  const delimiter = `--${boundary}`;
  let pos = text.indexOf(delimiter);
  if (pos === -1) return { error: 'multipart: boundary not found', parts, strictError: true, unmatchedBoundary: true };
  let strictError = pos !== 0 && text.slice(0, pos).trim() !== '';
  let closed = false;
  while (pos !== -1) {
    let start = pos + delimiter.length;
    if (text.startsWith('--', start)) {
      closed = true;
      break;
    }
    if (text.startsWith('\r\n', start)) start += 2;
    else if (text[start] === '\n') start += 1;
    else strictError = true;
    const next = text.indexOf(`\n${delimiter}`, start);
    const end = next === -1 ? text.length : next > 0 && text[next - 1] === '\r' ? next - 1 : next;
    const raw = text.slice(start, end);
    const split = raw.search(/\r?\n\r?\n/);
    const head = split === -1 ? raw : raw.slice(0, split);
    const value = split === -1 ? '' : raw.slice(split + (raw.startsWith('\r\n\r\n', split) ? 4 : raw.startsWith('\n\r\n', split) ? 3 : 2));
    const headers = head.split(/\r?\n/).filter((l) => l !== '');
    let name = '';
    let filename: string | undefined;
    for (const h of headers) {
      if (!/^content-disposition\s*:/i.test(h)) continue;
      const nm = /[;\s]name\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/i.exec(h);
      if (nm) name = nm[1] ?? nm[2] ?? '';
      const fn = /[;\s]filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/i.exec(h);
      if (fn) filename = fn[1] ?? fn[2] ?? '';
    }
    if (parts.length >= limits.maxArgs) return { error: TOO_MANY, parts, strictError, unmatchedBoundary: false };
    parts.push({ name, filename, headers, value });
    if (next === -1) break;
    pos = next + 1;
  }
  return { error: closed ? undefined : 'multipart: final boundary missing', parts, strictError: strictError || !closed, unmatchedBoundary: false };
}

/**
 * Reading a request body into the values the WAF inspects: JSON (every
 * string and every key, with its path), URL-encoded forms, and multipart
 * form fields (file contents are not inspected; file names are).
 *
 * The WAF is only as good as its agreement with the upstream's parser: a
 * value it reads differently from Werkzeug, busboy, qs or body-parser is a
 * value it never inspected. So each reader here either reads a body the way
 * those parsers do (every reading, where they disagree among themselves) or
 * reports it malformed — a body an upstream might read another way is
 * refused (protocol.body-parse). test/fuzz/body-differential.test.ts holds
 * this against the real parsers.
 */
import { decodeJsonText, looksLikeJson, mayBeJson } from '../../lib/json-text.js';
import { isTchar, isWs, parseMediaType, parseParams } from '../../lib/media-type.js';
import { readPair } from '../../lib/query.js';

export { decodeJsonText, looksLikeJson } from '../../lib/json-text.js';
export { parseMediaType, parseParams, type MediaType, type Param } from '../../lib/media-type.js';

export type BodyKind = 'json' | 'form' | 'multipart' | 'text';

/** What to call for each value found; returns true to stop (the threshold was reached). */
export interface BodyVisitor {
  /** A value at `name` (a JSON path like "items[].name", or a form field name). */
  value(name: string, value: string): boolean;
  /** A key or field name. */
  key(name: string, path: string): boolean;
}

export type BodyOutcome = 'ok' | 'stopped' | 'malformed' | 'too-complex';

export interface BodyLimits {
  readonly maxDepth: number;
  readonly maxValues: number;
}

// ---------------------------------------------------------------------------
// Kinds

/** The body kind a declared type names, whether or not the WAF is set to read it. */
export function declaredKind(type: string): BodyKind | 'other' {
  if (type === 'application/json' || type.endsWith('+json') || type === 'text/json') return 'json';
  // Werkzeug reads application/x-url-encoded as a form too
  if (type === 'application/x-www-form-urlencoded' || type === 'application/x-url-encoded') return 'form';
  if (type === 'multipart/form-data') return 'multipart';
  if (type.startsWith('text/') || type === 'application/xml' || type.endsWith('+xml') || type === 'application/graphql') return 'text';
  return 'other';
}

/**
 * How a body is read: as the kind its type declares, when that kind is
 * inspected; text/* and XML as text when text is inspected, otherwise only
 * if they turn out to be JSON ("sniff"); any other type — or none — by
 * body.unknown_types ("other": JSON or one text value; or "refuse"), since
 * lenient upstreams parse such bodies anyway. Undefined: not read.
 */
export type BodyPlan = BodyKind | 'sniff' | 'other' | 'refuse';

export function bodyPlan(contentType: string | undefined, kinds: ReadonlySet<BodyKind>, unknownTypes: 'text' | 'refuse'): BodyPlan | undefined {
  const declared = contentType === undefined ? 'other' : declaredKind(parseMediaType(contentType).type);
  if (declared === 'other') return unknownTypes === 'refuse' ? 'refuse' : 'other';
  if (declared === 'text') return kinds.has('text') ? 'text' : kinds.has('json') ? 'sniff' : undefined;
  return kinds.has(declared) ? declared : undefined;
}

/**
 * Reads a body as planned (a "refuse" plan is the caller's to act on). A
 * form or multipart body that looks like JSON is read as JSON as well:
 * get_json(force=True) parses it whatever its type says.
 */
export function visitPlanned(plan: Exclude<BodyPlan, 'refuse'>, body: Buffer, contentType: string, limits: BodyLimits, visitor: BodyVisitor): BodyOutcome {
  if (plan === 'sniff' || plan === 'other') return visitText(body, limits, visitor, plan);
  if (plan === 'form' || plan === 'multipart') {
    const outcome = visitText(body, limits, visitor, 'sniff');
    if (outcome !== 'ok') return outcome;
  }
  return visitBody(plan, body, contentType, limits, visitor);
}

// ---------------------------------------------------------------------------
// Text and JSON

/**
 * JSON.parse, and Python's reading when JSON.parse refuses: Python's json
 * also takes NaN, Infinity and -Infinity, so a document with them is read as
 * if they were null rather than reported malformed.
 */
function parseJson(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) };
  } catch {
    if (!text.includes('NaN') && !text.includes('Infinity')) return undefined;
  }
  let out = '';
  let last = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) {
      inString = true;
    } else if (c === 0x4e /* N */ && text.startsWith('NaN', i)) {
      out += text.slice(last, i) + 'null';
      last = i += 3;
      i--;
    } else if ((c === 0x49 /* I */ || c === 0x2d) && text.startsWith(c === 0x2d ? '-Infinity' : 'Infinity', i)) {
      const length = c === 0x2d ? 9 : 8;
      out += text.slice(last, i) + 'null';
      last = i += length;
      i--;
    }
  }
  try {
    return { value: JSON.parse(out + text.slice(last)) };
  } catch {
    return undefined;
  }
}

export function visitBody(kind: BodyKind, body: Buffer, contentType: string, limits: BodyLimits, visitor: BodyVisitor): BodyOutcome {
  switch (kind) {
    case 'json': {
      const text = decodeJsonText(body);
      return text === undefined ? 'malformed' : visitJson(text, limits, visitor);
    }
    case 'form':
      return visitPairBytes(body, limits, visitor);
    case 'multipart':
      return visitMultipart(body, contentType, limits, visitor);
    case 'text':
      return visitText(body, limits, visitor, 'text');
  }
}

/**
 * A body read as text, the way lenient upstreams read it: if its first
 * non-whitespace character (after any byte order mark) opens a JSON object or
 * array, it is JSON to Flask's get_json(force=True) and inspected as JSON.
 * Otherwise `sniff` inspects nothing more, `text` inspects the whole text as
 * one value, and `other` (a body of a type the waf does not know, often
 * binary) does too with NUL bytes read as spaces: a NUL in a file is no
 * path truncation.
 */
export function visitText(body: Buffer, limits: BodyLimits, visitor: BodyVisitor, mode: 'sniff' | 'text' | 'other'): BodyOutcome {
  const json = mayBeJson(body) ? decodeJsonText(body) : undefined;
  if (json !== undefined && looksLikeJson(json)) {
    const outcome = visitJson(json, limits, visitor);
    if (outcome !== 'malformed') return outcome;
  }
  if (mode === 'sniff') return 'ok';
  const raw = body.toString('utf8');
  const text = mode === 'other' && raw.includes('\0') ? raw.replaceAll('\0', ' ') : raw;
  if (visitor.value('', text)) return 'stopped';
  // the text as the JSON reading decoded it too, when that chose another encoding
  return json !== undefined && json !== raw && visitor.value('', mode === 'other' ? json.replaceAll('\0', ' ') : json) ? 'stopped' : 'ok';
}

function visitJson(text: string, limits: BodyLimits, visitor: BodyVisitor): BodyOutcome {
  if (text.trim() === '') return 'ok';
  const parsed = parseJson(text);
  if (!parsed) return 'malformed';
  let values = 0;
  // An explicit stack: nesting depth is attacker-controlled and recursion would follow it.
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value: parsed.value, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      if (++values > limits.maxValues) return 'too-complex';
      if (visitor.value(path, value)) return 'stopped';
    } else if (Array.isArray(value)) {
      if (depth >= limits.maxDepth) return 'too-complex';
      const itemPath = `${path}[]`;
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: itemPath, depth: depth + 1 });
    } else if (value !== null && typeof value === 'object') {
      if (depth >= limits.maxDepth) return 'too-complex';
      const keys = Object.keys(value);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        const keyPath = path === '' ? key : `${path}.${key}`;
        if (++values > limits.maxValues) return 'too-complex';
        if (visitor.key(key, keyPath)) return 'stopped';
        stack.push({ value: (value as Record<string, unknown>)[key], path: keyPath, depth: depth + 1 });
      }
    }
  }
  return 'ok';
}

// ---------------------------------------------------------------------------
// name=value&... (query strings and URL-encoded forms)

/**
 * name=value&..., each character one byte: split on "&" only (as Werkzeug,
 * qs and Node's querystring do), decoded as UTF-8 the way Werkzeug decodes
 * it; when qs could read a pair otherwise (a malformed escape, invalid UTF-8,
 * raw bytes above 0x7f, a "]" that moves its split point), qs's reading is
 * visited too. `text` is how the qs of an upstream sees the bytes: a query
 * string is Latin-1 to Node, a form body UTF-8 to body-parser.
 */
function visitPairText(input: string, limits: BodyLimits, visitor: BodyVisitor, text: 'latin1' | 'utf8'): BodyOutcome {
  let values = 0;
  let start = 0;
  while (start <= input.length) {
    let end = input.indexOf('&', start);
    if (end === -1) end = input.length;
    if (end > start) {
      if (++values > limits.maxValues) return 'too-complex';
      // No escape, "+", bracket or byte above 0x7f: every parser reads the pair as written (readPair's
      // plain case), so its name and value are visited without the reading's objects.
      const eq = plainPairEquals(input, start, end);
      if (eq !== NOT_PLAIN) {
        const name = input.slice(start, eq === -1 ? end : eq);
        if (visitor.key(name, name)) return 'stopped';
        if (eq !== -1 && visitor.value(name, input.slice(eq + 1, end))) return 'stopped';
        start = end + 1;
        continue;
      }
      // pair-local searches: a search from `start` to the end of the input for each pair would be quadratic
      const { name, value, qs } = readPair(input.slice(start, end), text);
      if (visitor.key(name.text, name.text)) return 'stopped';
      if (name.requoted !== undefined && visitor.key(name.requoted, name.requoted)) return 'stopped';
      if (value !== undefined && visitor.value(name.text, value.text)) return 'stopped';
      if (value?.requoted !== undefined && visitor.value(name.text, value.requoted)) return 'stopped';
      if (qs) {
        const [qsName, qsValue] = qs;
        if (qsName !== name.text && visitor.key(qsName, qsName)) return 'stopped';
        if (qsValue !== (value?.text ?? '') && visitor.value(qsName, qsValue)) return 'stopped';
      }
    }
    start = end + 1;
  }
  return 'ok';
}

const NOT_PLAIN = -2;

/**
 * For the pair input[start, end): NOT_PLAIN when it holds "%", "+", "[", "]"
 * or a character above 0x7f (the characters lib/query.ts's isPlain looks
 * for); else where its first "=" is, or -1 when it has none.
 */
function plainPairEquals(input: string, start: number, end: number): number {
  let eq = -1;
  for (let i = start; i < end; i++) {
    const c = input.charCodeAt(i);
    if (c === 0x25 || c === 0x2b || c === 0x5b || c === 0x5d || c >= 0x80) return NOT_PLAIN;
    if (c === 0x3d && eq === -1) eq = i;
  }
  return eq;
}

/** A URL-encoded body. */
export function visitPairBytes(bytes: Buffer, limits: BodyLimits, visitor: BodyVisitor): BodyOutcome {
  return visitPairText(bytes.toString('latin1'), limits, visitor, 'utf8');
}

/** A query string (each character one byte, as Node hands over the request target). */
export function visitPairs(query: string, limits: BodyLimits, visitor: BodyVisitor): BodyOutcome {
  return visitPairText(query, limits, visitor, 'latin1');
}

// ---------------------------------------------------------------------------
// multipart/form-data (RFC 7578, RFC 2046 §5.1)

/** RFC 2046 bchars: 1 to 70 of them, not ending in a space. */
function isBoundary(value: string): boolean {
  if (value.length === 0 || value.length > 70 || value.endsWith(' ')) return false;
  return /^[0-9A-Za-z'()+_,\-./:=? ]+$/.test(value);
}

const CR = 0x0d;
const LF = 0x0a;

interface PartHeaders {
  readonly disposition: string;
  readonly contentType: string | undefined;
}

/** Header lines of one part, strictly: "name: value" lines separated by CRLF, each name once. */
function partHeaders(text: string): PartHeaders | undefined {
  const seen = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    // a lone CR or LF is a line break to Werkzeug; a leading space or tab folds the line into the one before
    if (line.includes('\r') || line.includes('\n') || line === '' || isWs(line.charCodeAt(0))) return undefined;
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    for (let i = 0; i < colon; i++) if (!isTchar(line.charCodeAt(i))) return undefined;
    const name = line.slice(0, colon).toLowerCase();
    if (seen.has(name)) return undefined;
    seen.set(name, line.slice(colon + 1).trim());
  }
  const disposition = seen.get('content-disposition');
  if (disposition === undefined) return undefined;
  return { disposition, contentType: seen.get('content-type') };
}

interface Disposition {
  readonly names: string[];
  /** Every reading of the file name; undefined for a field. */
  readonly filenames: string[] | undefined;
}

/** RFC 8187 ext-value: charset'language'pct-encoded. */
function extValue(value: string): string | undefined {
  const first = value.indexOf("'");
  const second = first === -1 ? -1 : value.indexOf("'", first + 1);
  if (second === -1) return undefined;
  const charset = value.slice(0, first).toLowerCase();
  const bytes = Buffer.from(value.slice(second + 1).replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
  if (charset === 'utf-8') return bytes.toString('utf8');
  if (charset === 'iso-8859-1') return bytes.toString('latin1');
  return undefined;
}

/**
 * form-data; name="..."; filename="...": each parameter once (filename with
 * filename*, as .NET sends them, is the one pair allowed), continuations
 * (name*0=) refused. Every reading of a name — RFC unquoting and Werkzeug's —
 * is kept.
 */
function parseDisposition(header: string): Disposition | undefined {
  let i = 0;
  while (i < header.length && isTchar(header.charCodeAt(i))) i++;
  // Werkzeug reads no parameters at all after "form-data ;": the part would be a nameless field to it, maybe a file to us
  if (i === 0 || isWs(header.charCodeAt(i))) return undefined;
  const params = parseParams(header, i);
  if (!params) return undefined;
  const seen = new Set<string>();
  const names: string[] = [];
  let filenames: string[] | undefined;
  for (const p of params) {
    if (seen.has(p.name)) return undefined;
    seen.add(p.name);
    const star = p.name.endsWith('*');
    const base = star ? p.name.slice(0, -1) : p.name;
    if (base.includes('*')) return undefined;
    let readings = p.werkzeug === undefined ? [p.value] : [p.value, ...p.werkzeug];
    if (star) {
      const ext = extValue(p.value);
      if (ext === undefined) return undefined;
      readings = [ext];
    }
    if (base === 'name') names.push(...readings);
    else if (base === 'filename') {
      filenames ??= [];
      for (const f of readings) {
        filenames.push(f);
        // busboy hands over the last path segment only
        const slash = Math.max(f.lastIndexOf('/'), f.lastIndexOf('\\'));
        if (slash !== -1) filenames.push(f.slice(slash + 1));
      }
    }
  }
  return { names, filenames };
}

/** The charset a field part is decoded with: UTF-8 unless its Content-Type names another the WAF reads alike. */
function partEncoding(contentType: string | undefined): BufferEncoding | undefined {
  if (contentType === undefined) return 'utf8';
  const media = parseMediaType(contentType);
  if (!media.params) return undefined;
  const charset = media.params.get('charset')?.toLowerCase();
  if (charset === undefined || charset === 'utf-8' || charset === 'utf8' || charset === 'us-ascii' || charset === 'ascii') return 'utf8';
  if (charset === 'iso-8859-1' || charset === 'latin1' || charset === 'latin-1') return 'latin1';
  // utf-7, utf-16, ...: Werkzeug decodes the field with it ("+ADw-script+AD4-" is "<script>")
  return undefined;
}

/**
 * A multipart body, refused unless every parser reads the same parts from it:
 * the boundary a single strict parameter; every occurrence of the delimiter
 * at the start of a line (CRLF before it, CRLF or "--" after it, no padding);
 * part headers CRLF-separated, unfolded, each once, with a Content-Disposition;
 * a closing delimiter, and nothing that looks like a delimiter after it.
 */
function visitMultipart(body: Buffer, contentType: string, limits: BodyLimits, visitor: BodyVisitor): BodyOutcome {
  const media = parseMediaType(contentType);
  const boundary = media.params?.get('boundary');
  if (boundary === undefined || !isBoundary(boundary)) return 'malformed';
  if (body.length === 0) return 'ok';
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  let at = body.indexOf(delimiter);
  if (at === -1) return 'malformed';
  if (at !== 0 && !(body[at - 2] === CR && body[at - 1] === LF)) return 'malformed';
  let values = 0;
  for (;;) {
    let start = at + delimiter.length;
    if (body[start] === 0x2d && body[start + 1] === 0x2d) {
      // the close delimiter; the epilogue must not hold another
      return body.indexOf(delimiter, start) === -1 ? 'ok' : 'malformed';
    }
    if (body[start] !== CR || body[start + 1] !== LF) return 'malformed';
    start += 2;
    const next = body.indexOf(delimiter, start);
    if (next === -1) return 'malformed'; // unterminated
    if (next < start + 2 || body[next - 2] !== CR || body[next - 1] !== LF) return 'malformed';
    const end = next - 2;
    const headerEnd = body.indexOf('\r\n\r\n', start, 'latin1');
    if (headerEnd === -1 || headerEnd + 4 > end) return 'malformed';
    const rawHeaders = body.subarray(start, headerEnd);
    const headers = partHeaders(rawHeaders.toString('utf8'));
    if (!headers) return 'malformed';
    const readings = [parseDisposition(headers.disposition)];
    // busboy reads parameter values as latin1, Werkzeug as UTF-8
    if (readings[0] && rawHeaders.some((b) => b >= 0x80)) {
      const latin1 = partHeaders(rawHeaders.toString('latin1'));
      readings.push(latin1 && parseDisposition(latin1.disposition));
    }
    if (readings.some((r) => r === undefined)) return 'malformed';
    const disposition = readings[0]!;
    const name = disposition.names[0] ?? '';
    if (++values > limits.maxValues) return 'too-complex';
    for (const reading of readings) {
      for (const n of reading!.names) if (visitor.key(n, n)) return 'stopped';
      for (const f of reading!.filenames ?? []) if (visitor.value(name, f)) return 'stopped';
    }
    // an empty file name (filename="", as browsers send for no file) makes the part a field to busboy
    if (disposition.filenames === undefined || disposition.filenames.every((f) => f === '')) {
      const encoding = partEncoding(headers.contentType);
      if (encoding === undefined) return 'malformed';
      const contentStart = headerEnd + 4;
      if (visitor.value(name, contentStart >= end ? '' : body.toString(encoding, contentStart, end))) return 'stopped';
      // Werkzeug 3 ignores the part's charset and reads UTF-8
      if (encoding === 'latin1' && contentStart < end && visitor.value(name, body.toString('utf8', contentStart, end))) return 'stopped';
    }
    at = next;
  }
}

/**
 * Reading a request body into the values the WAF inspects: JSON (every
 * string and every key, with its path), URL-encoded forms, and multipart
 * form fields (file contents are not inspected; file names are). A body that
 * does not parse as its content type says is reported, since an upstream
 * with a more lenient parser might read something else from it.
 */
import { percentDecode } from './decode.js';

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

/** The body kind for a Content-Type, or undefined when the WAF does not read such bodies. */
export function bodyKindOf(contentType: string | undefined, text: boolean): BodyKind | undefined {
  if (!contentType) return text ? 'text' : undefined;
  const semi = contentType.indexOf(';');
  const type = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (type === 'application/json' || type.endsWith('+json') || type === 'text/json') return 'json';
  if (type === 'application/x-www-form-urlencoded') return 'form';
  if (type === 'multipart/form-data') return 'multipart';
  if (text && (type.startsWith('text/') || type === 'application/xml' || type.endsWith('+xml') || type === 'application/graphql')) return 'text';
  return undefined;
}

export function visitBody(kind: BodyKind, body: Buffer, contentType: string, limits: BodyLimits, visitor: BodyVisitor): BodyOutcome {
  switch (kind) {
    case 'json':
      return visitJson(body.toString('utf8'), limits, visitor);
    case 'form':
      return visitForm(body.toString('latin1'), limits, visitor);
    case 'multipart':
      return visitMultipart(body, contentType, limits, visitor);
    case 'text': {
      const text = body.toString('utf8');
      // JSON sent as text/plain still reaches a lenient upstream as JSON
      const first = text.trimStart().charCodeAt(0);
      if (first === 0x7b || first === 0x5b) {
        const outcome = visitJson(text, limits, visitor);
        if (outcome !== 'malformed') return outcome;
      }
      return visitor.value('', text) ? 'stopped' : 'ok';
    }
  }
}

function visitJson(text: string, limits: BodyLimits, visitor: BodyVisitor): BodyOutcome {
  if (text.trim() === '') return 'ok';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'malformed';
  }
  let values = 0;
  // An explicit stack: nesting depth is attacker-controlled and recursion would follow it.
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value: parsed, path: '', depth: 0 }];
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

/** name=value&...: both decoded as a form parser would ("+" is a space). */
export function visitPairs(text: string, limits: BodyLimits, visitor: BodyVisitor): BodyOutcome {
  let values = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('&', start);
    if (end === -1) end = text.length;
    if (end > start) {
      if (++values > limits.maxValues) return 'too-complex';
      const pair = text.slice(start, end);
      const eq = pair.indexOf('=');
      const rawName = eq === -1 ? pair : pair.slice(0, eq);
      const name = percentDecode(rawName, true);
      if (visitor.key(name, name)) return 'stopped';
      if (eq !== -1 && visitor.value(name, percentDecode(pair.slice(eq + 1), true))) return 'stopped';
    }
    start = end + 1;
  }
  return 'ok';
}

function visitForm(text: string, limits: BodyLimits, visitor: BodyVisitor): BodyOutcome {
  return visitPairs(text, limits, visitor);
}

function boundaryOf(contentType: string): string | undefined {
  const lower = contentType.toLowerCase();
  const at = lower.indexOf('boundary=');
  if (at === -1) return undefined;
  let value = contentType.slice(at + 9).trim();
  if (value.startsWith('"')) {
    const close = value.indexOf('"', 1);
    value = close === -1 ? value.slice(1) : value.slice(1, close);
  } else {
    const semi = value.indexOf(';');
    if (semi !== -1) value = value.slice(0, semi).trim();
  }
  return value.length > 0 && value.length <= 70 ? value : undefined;
}

/** Reads name="..." and filename="..." from a Content-Disposition header value. */
function dispositionParam(header: string, param: string): string | undefined {
  const lower = header.toLowerCase();
  let at = -1;
  for (let i = lower.indexOf(param + '='); i !== -1; i = lower.indexOf(param + '=', i + 1)) {
    const before = i > 0 ? lower.charCodeAt(i - 1) : 0x3b;
    if (before === 0x3b || before === 0x20 || before === 0x09) {
      at = i;
      break;
    }
  }
  if (at === -1) return undefined;
  let value = header.slice(at + param.length + 1).trimStart();
  if (value.startsWith('"')) {
    let out = '';
    for (let i = 1; i < value.length; i++) {
      const c = value[i]!;
      if (c === '\\' && i + 1 < value.length) {
        out += value[++i];
        continue;
      }
      if (c === '"') return out;
      out += c;
    }
    return out;
  }
  const semi = value.indexOf(';');
  if (semi !== -1) value = value.slice(0, semi);
  return value.trim();
}

function visitMultipart(body: Buffer, contentType: string, limits: BodyLimits, visitor: BodyVisitor): BodyOutcome {
  const boundary = boundaryOf(contentType);
  if (!boundary) return 'malformed';
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  let at = body.indexOf(delimiter);
  if (at === -1) return body.length === 0 ? 'ok' : 'malformed';
  let values = 0;
  for (;;) {
    let start = at + delimiter.length;
    // "--" after the delimiter ends the body
    if (body[start] === 0x2d && body[start + 1] === 0x2d) return 'ok';
    if (body[start] === 0x0d) start++;
    if (body[start] !== 0x0a) return 'malformed';
    start++;
    const next = body.indexOf(delimiter, start);
    if (next === -1) return 'malformed';
    // the part ends with CRLF before the next delimiter
    let end = next;
    if (body[end - 1] === 0x0a) end--;
    if (body[end - 1] === 0x0d) end--;
    const headerEnd = body.indexOf('\r\n\r\n', start, 'latin1');
    const headerEndLf = headerEnd === -1 ? body.indexOf('\n\n', start, 'latin1') : -1;
    if ((headerEnd === -1 && headerEndLf === -1) || (headerEnd !== -1 ? headerEnd : headerEndLf) > end) return 'malformed';
    const headersText = body.toString('latin1', start, headerEnd !== -1 ? headerEnd : headerEndLf);
    const contentStart = headerEnd !== -1 ? headerEnd + 4 : headerEndLf + 2;
    let disposition: string | undefined;
    for (const line of headersText.split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon !== -1 && line.slice(0, colon).trim().toLowerCase() === 'content-disposition') disposition = line.slice(colon + 1).trim();
    }
    if (!disposition) return 'malformed';
    const name = dispositionParam(disposition, 'name') ?? '';
    const filename = dispositionParam(disposition, 'filename');
    if (++values > limits.maxValues) return 'too-complex';
    if (visitor.key(name, name)) return 'stopped';
    if (filename !== undefined) {
      if (visitor.value(name, filename)) return 'stopped';
    } else if (visitor.value(name, body.toString('utf8', contentStart, end))) {
      return 'stopped';
    }
    at = next;
  }
}

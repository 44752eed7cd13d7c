/**
 * Content-Type and its parameters (RFC 9110 §8.3.1, §5.6.6), read strictly,
 * with the type/subtype ended where Werkzeug ends it. Shared by the waf's body
 * readers and request-validation.
 */

export interface MediaType {
  /** The type/subtype, lower case, read the way Werkzeug does: up to the first ";", "," or whitespace. */
  readonly type: string;
  /** Parameters by lower-case name; undefined when the parameter list is not strict RFC 9110 or repeats a name. */
  readonly params: ReadonlyMap<string, string> | undefined;
}

export function isTchar(c: number): boolean {
  // RFC 9110 §5.6.2: ! # $ % & ' * + - . ^ _ ` | ~ DIGIT ALPHA
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x21 || (c >= 0x23 && c <= 0x27) || c === 0x2a || c === 0x2b || c === 0x2d || c === 0x2e || c === 0x5e || c === 0x5f || c === 0x60 || c === 0x7c || c === 0x7e
  );
}

export function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

export interface Param {
  /** Lower case, as sent ("filename*" keeps its star). */
  readonly name: string;
  /** Unquoted the RFC way (a quoted-pair stands for its character). */
  readonly value: string;
  /** Werkzeug unquotes only \\ and \" (2.x nothing in a filename starting with \\\\, 3.x even then): its readings when they differ. */
  readonly werkzeug?: string[];
}

/**
 * `*( OWS ";" OWS parameter )` from `at` to the end, strictly: a parameter is
 * token "=" ( token / quoted-string ). Anything else — a parameter without a
 * value, a comma, a stray quote — is undefined, because the parsers upstream
 * each recover from it differently.
 */
export function parseParams(text: string, at: number): Param[] | undefined {
  const out: Param[] = [];
  let i = at;
  for (;;) {
    while (i < text.length && isWs(text.charCodeAt(i))) i++;
    if (i === text.length) return out;
    if (text.charCodeAt(i) !== 0x3b /* ; */) return undefined;
    i++;
    while (i < text.length && isWs(text.charCodeAt(i))) i++;
    if (i === text.length) return out; // a trailing ";" (RFC 9110 allows empty parameters)
    // ";;" is an empty parameter to RFC 9110, and where Werkzeug stops reading parameters
    if (text.charCodeAt(i) === 0x3b) return undefined;
    const nameStart = i;
    while (i < text.length && isTchar(text.charCodeAt(i))) i++;
    if (i === nameStart || text.charCodeAt(i) !== 0x3d /* = */) return undefined;
    const name = text.slice(nameStart, i).toLowerCase();
    i++;
    if (text.charCodeAt(i) === 0x22 /* " */) {
      let value = '';
      let raw = '';
      i++;
      for (;;) {
        if (i >= text.length) return undefined;
        const c = text.charCodeAt(i);
        if (c === 0x22) break;
        if (c === 0x5c /* \ */) {
          if (i + 1 >= text.length) return undefined;
          value += text[i + 1];
          raw += text.slice(i, i + 2);
          i += 2;
          continue;
        }
        // qdtext: HTAB, SP, VCHAR, obs-text; no other control characters
        if (c < 0x20 ? c !== 0x09 : c === 0x7f) return undefined;
        value += text[i];
        raw += text[i];
        i++;
      }
      i++;
      let werkzeug: string[] | undefined;
      if (raw.includes('\\')) {
        const replaced = raw.replaceAll('\\\\', '\\').replaceAll('\\"', '"');
        const unc = name.startsWith('filename') && raw.startsWith('\\\\') ? raw : replaced;
        werkzeug = [...new Set([replaced, unc])].filter((w) => w !== value);
        if (werkzeug.length === 0) werkzeug = undefined;
      }
      out.push(werkzeug === undefined ? { name, value } : { name, value, werkzeug });
    } else {
      const valueStart = i;
      while (i < text.length && isTchar(text.charCodeAt(i))) i++;
      if (i === valueStart) return undefined;
      out.push({ name, value: text.slice(valueStart, i) });
    }
  }
}

/** Python's \s in a str pattern, over the Latin-1 range a header can hold (NBSP and NEL included). */
function isPythonSpace(c: number): boolean {
  return c <= 0x20 ? c === 0x20 || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f) : c === 0x85 || c === 0xa0;
}

/** Where the type/subtype ends, read as Werkzeug reads it (up to ";", "," or whitespace). */
function typeEnd(text: string, start: number): number {
  let i = start;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x3b || c === 0x2c || c < 0x20 || isPythonSpace(c)) break;
    i++;
  }
  return i;
}

export function parseMediaType(header: string): MediaType {
  let start = 0;
  while (start < header.length && isPythonSpace(header.charCodeAt(start))) start++;
  const end = typeEnd(header, start);
  const type = header.slice(start, end).toLowerCase();
  const list = parseParams(header, end);
  let params: Map<string, string> | undefined;
  if (list) {
    params = new Map();
    for (const p of list) {
      // a repeated name is read as the first by some parsers and the last by others; "boundary*" is Werkzeug's "boundary"
      if (params.has(p.name) || p.name.includes('*') || p.werkzeug !== undefined) {
        params = undefined;
        break;
      }
      params.set(p.name, p.value);
    }
  }
  return { type, params };
}

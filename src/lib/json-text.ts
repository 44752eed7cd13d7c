/**
 * Request bodies as lenient JSON readers read them: Python's json.loads(bytes)
 * (what Flask's get_json() runs) chooses the encoding from a byte order mark
 * or the zero bytes of UTF-16/32, and get_json(force=True) reads any body,
 * whatever its type, whose first non-whitespace character opens JSON. The
 * waf and request-validation both read JSON through these.
 */

const UTF8_BOM = [0xef, 0xbb, 0xbf];

/**
 * The body as text, decoded as Python's json.loads(bytes) decodes it (what
 * Flask's get_json() runs): a UTF-32, UTF-16 or UTF-8 byte order mark, or the
 * zero bytes of UTF-16/32 text, choose the encoding; a UTF-8 BOM is dropped.
 * Undefined when the bytes are not valid in the encoding they announce.
 */
export function decodeJsonText(body: Buffer): string | undefined {
  const b0 = body[0];
  const b1 = body[1];
  if (body.length >= 4 && ((b0 === 0 && b1 === 0 && body[2] === 0xfe && body[3] === 0xff) || (b0 === 0xff && b1 === 0xfe && body[2] === 0 && body[3] === 0))) {
    return decodeUtf32(body.subarray(4), b0 === 0);
  }
  if ((b0 === 0xfe && b1 === 0xff) || (b0 === 0xff && b1 === 0xfe)) return decodeUtf16(body.subarray(2), b0 === 0xfe);
  if (b0 === UTF8_BOM[0] && b1 === UTF8_BOM[1] && body[2] === UTF8_BOM[2]) return body.toString('utf8', 3);
  if (body.length >= 4) {
    if (b0 === 0) return b1 ? decodeUtf16(body, true) : decodeUtf32(body, true);
    if (b1 === 0) return body[2] || body[3] ? decodeUtf16(body, false) : decodeUtf32(body, false);
  } else if (body.length === 2) {
    if (b0 === 0) return decodeUtf16(body, true);
    if (b1 === 0) return decodeUtf16(body, false);
  }
  return body.toString('utf8');
}

function decodeUtf16(bytes: Buffer, bigEndian: boolean): string | undefined {
  if (bytes.length % 2 !== 0) return undefined;
  if (!bigEndian) return bytes.toString('utf16le');
  const swapped = Buffer.from(bytes);
  swapped.swap16();
  return swapped.toString('utf16le');
}

function decodeUtf32(bytes: Buffer, bigEndian: boolean): string | undefined {
  if (bytes.length % 4 !== 0) return undefined;
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    const cp = bigEndian ? bytes.readUInt32BE(i) : bytes.readUInt32LE(i);
    if (cp > 0x10ffff) return undefined;
    out += String.fromCodePoint(cp);
  }
  return out;
}

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** Does the first non-whitespace character of the whole text open a JSON object, array or string? */
export function looksLikeJson(text: string): boolean {
  let i = 0;
  while (i < text.length && isJsonSpace(text.charCodeAt(i))) i++;
  const c = text.charCodeAt(i);
  // an object, an array, or a string: get_json() hands a top-level string to the application too
  return c === 0x7b || c === 0x5b || c === 0x22;
}

/** Can these bytes be JSON to Python: after JSON whitespace, "{", "[" or '"', a byte order mark, or the zero bytes of UTF-16/32? */
export function mayBeJson(body: Buffer): boolean {
  let i = 0;
  while (i < body.length && isJsonSpace(body[i]!)) i++;
  const c = body[i];
  return c === 0x7b || c === 0x5b || c === 0x22 || c === 0xef || c === 0xfe || c === 0xff || c === 0x00 || body[i + 1] === 0x00;
}

/**
 * A JSON body decoded as json.loads(bytes) decodes it (a BOM, UTF-16/32),
 * parsed strictly: NaN and Infinity, which Python takes and body-parser
 * refuses, are refused. Undefined when it is not JSON.
 */
export function parseJsonBody(raw: Buffer): { value: unknown } | undefined {
  const text = decodeJsonText(raw);
  if (text === undefined) return undefined;
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

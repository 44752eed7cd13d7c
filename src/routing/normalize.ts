/**
 * Path normalization before routing, so that a route protecting /admin cannot
 * be reached as /%61dmin, /./admin, //admin or /public/../admin. The
 * normalized path is also what is forwarded: the upstream sees exactly what
 * the gateway checked.
 *
 * - percent-encoded unreserved characters are decoded, other escapes are
 *   upper-cased; bytes outside printable ASCII are percent-encoded;
 * - "." and ".." segments are resolved, "//" is merged;
 * - refused: NUL, malformed escapes, ".." above the root, backslashes,
 *   dot segments with parameters ("..;/", read as ".." by some servers), and
 *   by default encoded slashes (%2F, %5C), which some upstreams decode, and
 *   path parameters (";"): Tomcat, Jetty and Spring read /admin;x as /admin,
 *   which a route table matching /admin;x literally would send elsewhere;
 *   and "#", which has no place in a request target: upstreams cut the path
 *   there, so /admin#x would be routed as one path and served as /admin.
 */

export type NormalizeFailure = 'invalid_escape' | 'nul' | 'escapes_root' | 'backslash' | 'dot_segment_parameter' | 'encoded_slash' | 'path_parameter' | 'fragment';

export type NormalizeResult = { ok: true; path: string } | { ok: false; reason: NormalizeFailure };

export interface NormalizeOptions {
  /** Keep %2F and %5C as they are instead of refusing them. */
  keepEscapedSlashes: boolean;
  /** Keep ";" path parameters (matched literally by the routes) instead of refusing them; refused when absent. */
  keepPathParameters?: boolean;
}

const HEX = '0123456789ABCDEF';

/** Fast test: does this path need the full walk? Most real paths do not. */
function isPlain(path: string): boolean {
  let previous = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x25 /* % */ || c === 0x5c /* \ */ || c === 0x3b /* ; */ || c === 0x23 /* # */ || c <= 0x20 || c >= 0x7f) return false;
    if (previous === 0x2f /* / */ && (c === 0x2f || c === 0x2e /* . */)) return false;
    previous = c;
  }
  return path.charCodeAt(0) === 0x2f;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

function isUnreserved(c: number): boolean {
  return (
    (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e
  );
}

interface Refused {
  refused: NormalizeFailure;
}

/** Canonical percent-encoding of one segment, or the reason it is refused. */
function canonicalSegment(segment: string, options: NormalizeOptions): string | Refused {
  let out = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    if (c === 0x25) {
      const hi = hexValue(segment.charCodeAt(i + 1));
      const lo = hexValue(segment.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return { refused: 'invalid_escape' };
      const byte = hi * 16 + lo;
      i += 2;
      if (byte === 0) return { refused: 'nul' };
      if (isUnreserved(byte)) out += String.fromCharCode(byte);
      else if ((byte === 0x2f || byte === 0x5c) && !options.keepEscapedSlashes) return { refused: 'encoded_slash' };
      else out += '%' + HEX[hi]! + HEX[lo]!;
    } else if (c === 0) {
      return { refused: 'nul' };
    } else if (c === 0x5c) {
      return { refused: 'backslash' };
    } else if (c === 0x23) {
      return { refused: 'fragment' };
    } else if (c <= 0x20 || c >= 0x7f) {
      // Node hands request-target bytes over as latin1: one char, one byte.
      const byte = c & 0xff;
      out += '%' + HEX[byte >> 4]! + HEX[byte & 15]!;
    } else {
      out += segment[i];
    }
  }
  return out;
}

export function normalizePath(path: string, options: NormalizeOptions): NormalizeResult {
  if (isPlain(path)) return { ok: true, path };
  const parts = path.split('/');
  const out: string[] = [];
  // parts[0] is what precedes the first "/": empty for an origin-form path.
  const last = parts.length - 1;
  let trailingSlash = false;
  for (let i = 0; i <= last; i++) {
    const segment = canonicalSegment(parts[i]!, options);
    if (typeof segment !== 'string') return { ok: false, reason: segment.refused };
    if (segment === '' || segment === '.') {
      trailingSlash = i === last && i > 0;
      continue;
    }
    if (segment === '..') {
      if (out.length === 0) return { ok: false, reason: 'escapes_root' };
      out.pop();
      trailingSlash = i === last;
      continue;
    }
    if (segment.startsWith('.;') || segment.startsWith('..;')) return { ok: false, reason: 'dot_segment_parameter' };
    if (options.keepPathParameters !== true && segment.includes(';')) return { ok: false, reason: 'path_parameter' };
    out.push(segment);
    trailingSlash = false;
  }
  let result = '/' + out.join('/');
  if (trailingSlash && out.length > 0) result += '/';
  return { ok: true, path: result };
}

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): the traceparent
 * and tracestate headers read strictly and written back. Both come from the
 * client, so nothing here trusts them: a traceparent that is not exactly
 * right is ignored (the request starts a new trace), and a tracestate is
 * forwarded only when it parses, cut to a bounded size the way the spec says.
 * Pure functions, no allocation on the way out except what is returned.
 */

/** A traceparent that passed every check. */
export interface ParentContext {
  /** 32 lower-case hex digits, not all zero. */
  readonly traceId: string;
  /** The caller's span: 16 lower-case hex digits, not all zero. */
  readonly parentId: string;
  /** The sampled flag (bit 0 of trace-flags); the other flags are not passed on (the spec says set unknown ones to zero). */
  readonly sampled: boolean;
}

/** "00-" + 32 + "-" + 16 + "-" + 2. */
const VERSION_00_LENGTH = 55;
/** The spec's ceiling on list members. */
export const MAX_TRACESTATE_MEMBERS = 32;
/** Members longer than this are the first removed when a tracestate must be cut (spec §3.3.1.5). */
const LONG_MEMBER = 128;

function isLowerHex(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

function isAllZero(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (text.charCodeAt(i) !== 0x30) return false;
  return true;
}

/**
 * Reads a traceparent header. Undefined for anything the spec says to
 * ignore: a repeated header (Node joins repeats with ", ", which no valid
 * value survives), a wrong length, upper-case or non-hex digits, version ff,
 * an all-zero trace or parent id. A version above 00 is read the way the
 * spec asks of a future version: the 00 fields in their places, and after
 * the flags either the end or a dash (what follows is not understood and
 * not passed on: the gateway writes version 00).
 */
export function parseTraceparent(value: string | string[] | undefined): ParentContext | undefined {
  if (typeof value !== 'string' || value.length < VERSION_00_LENGTH) return undefined;
  if (!isLowerHex(value, 0, 2) || value.charCodeAt(2) !== 0x2d) return undefined;
  const version = value.slice(0, 2);
  if (version === 'ff') return undefined;
  if (version === '00') {
    if (value.length !== VERSION_00_LENGTH) return undefined;
  } else if (value.length > VERSION_00_LENGTH && value.charCodeAt(VERSION_00_LENGTH) !== 0x2d) {
    return undefined;
  }
  if (value.charCodeAt(35) !== 0x2d || value.charCodeAt(52) !== 0x2d) return undefined;
  if (!isLowerHex(value, 3, 35) || !isLowerHex(value, 36, 52) || !isLowerHex(value, 53, 55)) return undefined;
  if (isAllZero(value, 3, 35) || isAllZero(value, 36, 52)) return undefined;
  return {
    traceId: value.slice(3, 35),
    parentId: value.slice(36, 52),
    sampled: (parseInt(value.slice(53, 55), 16) & 1) === 1,
  };
}

/** The traceparent the gateway sends: always version 00, only the sampled flag. */
export function formatTraceparent(traceId: string, parentId: string, sampled: boolean): string {
  return `00-${traceId}-${parentId}-${sampled ? '01' : '00'}`;
}

/** tracestate keys (spec §3.3.1.3.1): a simple key, or tenant@system for multi-tenant vendors. */
const KEY = /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})$/;
/** Values: printable ASCII without "," and "=", not ending in a space, at most 256 characters. */
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * Reads a tracestate header (repeats already joined with ", " by Node, which
 * is how the spec combines them) and returns what may be forwarded: the
 * members as "key=value" joined with ",", at most `maxLength` characters, or
 * undefined. A header that does not parse (a bad key or value, a key twice,
 * more than 32 members) is dropped whole, as the spec asks. `maxInput`
 * bounds the work: a longer header is not read at all.
 * When the members do not fit in maxLength, members over 128 characters go
 * first, then members from the end (spec §3.3.1.5).
 */
export function boundedTracestate(value: string | string[] | undefined, maxLength: number, maxInput = 4 * maxLength): string | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  if (text.length === 0 || text.length > maxInput) return undefined;
  const members: string[] = [];
  const keys = new Set<string>();
  for (const raw of text.split(',')) {
    const member = raw.trim();
    if (member === '') continue; // empty list members are allowed, and not counted
    if (members.length === MAX_TRACESTATE_MEMBERS) return undefined;
    const eq = member.indexOf('=');
    if (eq <= 0) return undefined;
    const key = member.slice(0, eq);
    if (!KEY.test(key) || !VALUE.test(member.slice(eq + 1)) || keys.has(key)) return undefined;
    keys.add(key);
    members.push(member);
  }
  if (members.length === 0) return undefined;
  let joined = members.join(',');
  if (joined.length <= maxLength) return joined;
  let kept = members.filter((m) => m.length <= LONG_MEMBER);
  joined = kept.join(',');
  while (joined.length > maxLength && kept.length > 0) {
    kept = kept.slice(0, -1);
    joined = kept.join(',');
  }
  return kept.length === 0 ? undefined : joined;
}

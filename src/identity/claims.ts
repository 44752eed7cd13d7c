/**
 * Reading identity out of verified claims (JWT payloads, introspection
 * answers, ID tokens): scopes, and values safe to put in the identity headers
 * the upstream trusts.
 */

/** Printable ASCII, no leading or trailing space, at most 256 characters: safe as a header value. */
const HEADER_SAFE = /^[\x21-\x7e](?:[\x20-\x7e]{0,254}[\x21-\x7e])?$/;
/** RFC 6749 §3.3 scope-token characters. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,256}$/;
const MAX_SCOPES = 256;

export function isHeaderSafe(value: unknown): value is string {
  return typeof value === 'string' && HEADER_SAFE.test(value);
}

/** Scopes from `scope` (space-separated string, RFC 8693/9068) or `scp` (array or string). */
export function scopesOf(claims: Readonly<Record<string, unknown>>): string[] {
  const out: string[] = [];
  const add = (value: unknown) => {
    if (typeof value === 'string') {
      for (const s of value.split(' ')) if (SCOPE_TOKEN.test(s) && !out.includes(s) && out.length < MAX_SCOPES) out.push(s);
    } else if (Array.isArray(value)) {
      for (const item of value) if (typeof item === 'string') add(item);
    }
  };
  add(claims.scope);
  add(claims.scp);
  return out;
}

/** A claim's string values (one string, or the strings of an array); used for groups and roles. */
export function stringValues(value: unknown, limit = 256): string[] {
  const list = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
  const out: string[] = [];
  for (const item of list) {
    if (out.length >= limit) break;
    // Groups are sent as one comma-separated header: a comma inside one would split it.
    if (isHeaderSafe(item) && !item.includes(',') && !out.includes(item)) out.push(item);
  }
  return out;
}

/** Looks up a claim by name, or by a path of names into nested objects. */
export function claimAt(claims: Readonly<Record<string, unknown>>, path: string | readonly string[]): unknown {
  if (typeof path === 'string') return Object.hasOwn(claims, path) ? claims[path] : undefined;
  let at: unknown = claims;
  for (const name of path) {
    if (at === null || typeof at !== 'object' || Array.isArray(at) || !Object.hasOwn(at, name)) return undefined;
    at = (at as Record<string, unknown>)[name];
  }
  return at;
}

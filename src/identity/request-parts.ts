/** Reading and removing one query parameter or one cookie, for credentials carried there. */
import { withoutCookies } from '../lib/cookie-header.js';

/** The decoded value of the first `name=` parameter, or undefined. */
export function queryParam(query: string, name: string): string | undefined {
  if (query === '') return undefined;
  const prefix = `${encodeURIComponent(name)}=`;
  for (const pair of query.split('&')) {
    if (!pair.startsWith(prefix)) continue;
    try {
      return decodeURIComponent(pair.slice(prefix.length).replace(/\+/g, ' '));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export function withoutQueryParam(query: string, name: string): string {
  const prefix = `${encodeURIComponent(name)}=`;
  return query
    .split('&')
    .filter((pair) => !pair.startsWith(prefix) && pair !== encodeURIComponent(name))
    .join('&');
}

/** The value of cookie `name` in a Cookie header (RFC 6265 §5.4 pairs), or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    return value;
  }
  return undefined;
}

/** The Cookie header without cookie `name`; undefined when nothing is left. */
export function withoutCookie(header: string, name: string): string | undefined {
  return withoutCookies(header, new Set([name]));
}

/**
 * HTTP Basic credentials (RFC 7617) with the UTF-8 charset: strict base64,
 * strict UTF-8, both parts in Unicode Normalization Form C as §2.1 asks, and
 * a user-id without a colon.
 */
export interface BasicCredentials {
  readonly username: string;
  readonly password: string;
}

export type BasicParse = { kind: 'missing' } | { kind: 'malformed' } | { kind: 'ok'; credentials: BasicCredentials };

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });
/** RFC 7617 §2: the user-id and password must not contain control characters. */
const CONTROL = /[\u0000-\u001f\u007f]/;
const MAX_ENCODED = 4096;

export const MISSING: BasicParse = { kind: 'missing' };
export const MALFORMED: BasicParse = { kind: 'malformed' };

/** Reads an Authorization header value; anything that is not the Basic scheme counts as missing. */
export function parseBasic(header: string | undefined): BasicParse {
  if (header === undefined) return MISSING;
  const space = header.indexOf(' ');
  if (space === -1 || header.slice(0, space).toLowerCase() !== 'basic') return MISSING;
  const encoded = header.slice(space + 1).trim();
  if (encoded.length === 0 || encoded.length > MAX_ENCODED || encoded.length % 4 !== 0 || !BASE64.test(encoded)) return MALFORMED;
  let decoded: string;
  try {
    decoded = utf8.decode(Buffer.from(encoded, 'base64'));
  } catch {
    return MALFORMED;
  }
  const colon = decoded.indexOf(':');
  if (colon === -1) return MALFORMED;
  const username = decoded.slice(0, colon).normalize('NFC');
  const password = decoded.slice(colon + 1).normalize('NFC');
  if (username.length === 0 || CONTROL.test(username) || CONTROL.test(password)) return MALFORMED;
  return { kind: 'ok', credentials: { username, password } };
}

export function basicChallenge(realm: string): string {
  return `Basic realm=${quote(realm)}, charset="UTF-8"`;
}

/** An RFC 9110 quoted-string. */
export function quote(text: string): string {
  return `"${text.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * The bearer token of an admin route, held as its SHA-256 digest (config/
 * admin.ts). The presented token is hashed and the two digests compared with
 * timingSafeEqual: equal lengths always, so the time taken says nothing of
 * how much of the token was right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Longer than any sensible token: refused before hashing. */
const MAX_TOKEN = 4096;

export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined || header.length > MAX_TOKEN + 7) return undefined;
  const m = /^Bearer +(\S+) *$/i.exec(header);
  return m?.[1];
}

/** Whether the request carries the token whose hex SHA-256 is `digestHex`. */
export function bearerMatches(req: IncomingMessage, digestHex: string): boolean {
  const token = bearerToken(req);
  const expected = Buffer.from(digestHex, 'hex');
  const presented = createHash('sha256')
    .update(token ?? '')
    .digest();
  // Hash even when nothing was presented, so a missing token takes the time a wrong one does.
  return timingSafeEqual(presented, expected) && token !== undefined;
}

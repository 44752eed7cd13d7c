/** Content-Digest (RFC 9530): every digest we know must match the body, and at least one must be there. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { parseDictionary } from './structured-fields.js';

const ALGORITHMS: Record<string, string> = { 'sha-256': 'sha256', 'sha-512': 'sha512' };

export function digestMatches(header: string, body: Buffer): boolean {
  let dict;
  try {
    dict = parseDictionary(header);
  } catch {
    return false;
  }
  let checked = 0;
  for (const [name, member] of dict) {
    const algorithm = ALGORITHMS[name];
    if (!algorithm) continue;
    if (member.kind !== 'item' || member.value.type !== 'binary') return false;
    const expected = createHash(algorithm).update(body).digest();
    const given = member.value.value;
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
    checked++;
  }
  return checked > 0;
}

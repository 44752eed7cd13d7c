/**
 * Password hashes for consumer credentials.
 *
 * New hashes are scrypt (node:crypto) in this PHC-style string:
 *
 *     $scrypt$ln=<log2 N>,r=<block size>,p=<parallelism>$<salt>$<hash>
 *
 * salt and hash in standard base64 without padding; 16-byte salt, 32-byte
 * hash; defaults ln=15, r=8, p=1 (32 MiB, about 0.1 s here). bcrypt hashes
 * ($2a$, $2b$, $2y$) are accepted for import from other systems. Make one with
 * `portcullis hash-password`.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import bcrypt from 'bcryptjs';

export interface ScryptParams {
  readonly ln: number;
  readonly r: number;
  readonly p: number;
}

export const DEFAULT_SCRYPT: ScryptParams = { ln: 15, r: 8, p: 1 };

export type PasswordHash =
  | { kind: 'scrypt'; params: ScryptParams; salt: Buffer; hash: Buffer }
  | { kind: 'bcrypt'; encoded: string };

const SCRYPT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{16,88})\$([A-Za-z0-9+/]{22,88})$/;
const BCRYPT = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;

/** Parses a stored hash, or explains what is wrong with it (for a config error). */
export function parsePasswordHash(text: string): PasswordHash | string {
  const s = SCRYPT.exec(text);
  if (s) {
    const params = { ln: Number(s[1]), r: Number(s[2]), p: Number(s[3]) };
    if (params.ln < 10 || params.ln > 20) return 'scrypt ln must be between 10 and 20';
    if (params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16) return 'scrypt r must be 1-32 and p 1-16';
    const salt = Buffer.from(s[4]!, 'base64');
    const hash = Buffer.from(s[5]!, 'base64');
    if (salt.length < 16) return 'the scrypt salt must be at least 16 bytes';
    if (hash.length < 16) return 'the scrypt hash must be at least 16 bytes';
    return { kind: 'scrypt', params, salt, hash };
  }
  const b = BCRYPT.exec(text);
  if (b) {
    const cost = Number(b[1]);
    if (cost < 4 || cost > 31) return 'the bcrypt cost must be between 4 and 31';
    return { kind: 'bcrypt', encoded: text };
  }
  return 'expected "$scrypt$ln=..,r=..,p=..$salt$hash" (portcullis hash-password) or a bcrypt "$2b$..." hash';
}

function scrypt(password: string, salt: Buffer, length: number, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.ln;
  const options: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 128 * N * params.r * params.p + 16 * 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scryptCallback(password.normalize('NFC'), salt, length, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** A new scrypt hash string for a password (NFC-normalized, as Basic credentials are). */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, 32, params);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${unpadded(salt.toString('base64'))}$${unpadded(hash.toString('base64'))}`;
}

/** Base64 without its "=" padding (a loop, not /=+$/: every regex in src/ is checked for linear time). */
function unpadded(base64: string): string {
  let end = base64.length;
  while (end > 0 && base64.charCodeAt(end - 1) === 0x3d) end--;
  return base64.slice(0, end);
}

/** Checks a password against a stored hash in constant time; runs off the event loop. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  if (stored.kind === 'bcrypt') return bcrypt.compare(password.normalize('NFC'), stored.encoded);
  const computed = await scrypt(password, stored.salt, stored.hash.length, stored.params);
  return timingSafeEqual(computed, stored.hash);
}

let dummy: Promise<PasswordHash> | undefined;

/**
 * A hash of a random password with the default parameters: an unknown user's
 * password is checked against it, so "no such user" costs as long as
 * "wrong password".
 */
export function dummyHash(): Promise<PasswordHash> {
  dummy ??= hashPassword(randomBytes(16).toString('hex')).then((text) => parsePasswordHash(text) as PasswordHash);
  return dummy;
}

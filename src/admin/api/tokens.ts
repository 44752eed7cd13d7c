/**
 * Admin tokens: the file holds each token's SHA-256 only; the presented
 * token is hashed and compared with every configured digest in constant time
 * (timingSafeEqual over equal lengths, no early exit), so neither the time
 * taken nor which token matched says anything of how much was right.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AdminApiConfig } from '../../config/admin.js';
import { bearerToken } from '../auth.js';

export interface Principal {
  readonly name: string;
  readonly role: string;
  /** How it proved who it is: an admin token, or a client certificate (mTLS, clients.ts). */
  readonly via: 'token' | 'certificate';
}

export function identify(req: IncomingMessage, api: AdminApiConfig): Principal | undefined {
  const token = bearerToken(req);
  const presented = createHash('sha256')
    .update(token ?? '')
    .digest();
  let found: Principal | undefined;
  for (const t of api.tokens ?? []) {
    const match = timingSafeEqual(presented, Buffer.from(t.token_sha256, 'hex'));
    if (match && found === undefined) found = { name: t.name, role: t.role, via: 'token' };
  }
  return token === undefined ? undefined : found;
}

/** A new token (256 random bits) and the digest the config keeps: `portcullis admin-token` prints both, once. */
export function newToken(): { token: string; sha256: string } {
  const token = `pca_${randomBytes(32).toString('base64url')}`;
  return { token, sha256: createHash('sha256').update(token).digest('hex') };
}

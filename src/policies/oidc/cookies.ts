/**
 * Sealed cookies: a JWT encrypted with AES-256-GCM (JWE "dir"), which both
 * hides and authenticates its content; the key is derived from the configured
 * secret with HKDF, one key per purpose and per client of a provider, so a
 * cookie sealed for one application is nothing to another that happens to
 * share the secret. Set-Cookie always carries HttpOnly and Secure, and
 * SameSite as configured.
 */
import { createHash, hkdfSync } from 'node:crypto';
import { EncryptJWT, jwtDecrypt, type JWTPayload } from 'jose';

export class CookieSeal {
  private readonly key: Uint8Array;

  /** `client` names who the cookie is for: the provider's issuer and the client id there. */
  constructor(secret: string, purpose: string, client: { issuer: string; clientId: string }) {
    // Hashed, as HKDF's info is bounded (1024 bytes in node:crypto) and an issuer URL is not.
    const scope = createHash('sha256').update(JSON.stringify([client.issuer, client.clientId])).digest('base64url');
    this.key = new Uint8Array(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), `portcullis oidc ${purpose} v2 ${scope}`, 32));
  }

  seal(payload: JWTPayload, expiresAtSec: number): Promise<string> {
    return new EncryptJWT(payload).setProtectedHeader({ alg: 'dir', enc: 'A256GCM' }).setIssuedAt().setExpirationTime(expiresAtSec).encrypt(this.key);
  }

  /** The payload, or undefined for anything tampered, expired, or sealed with another key. */
  async open(value: string): Promise<JWTPayload | undefined> {
    try {
      const { payload } = await jwtDecrypt(value, this.key, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] });
      return payload;
    } catch {
      return undefined;
    }
  }
}

export function setCookie(name: string, value: string, options: { maxAgeSec: number; sameSite: 'Lax' | 'Strict'; path: string }): string {
  return `${name}=${value}; Path=${options.path}; Max-Age=${Math.max(0, Math.floor(options.maxAgeSec))}; HttpOnly; Secure; SameSite=${options.sameSite}`;
}

export function clearCookie(name: string, path: string): string {
  return `${name}=; Path=${path}; Max-Age=0; HttpOnly; Secure; SameSite=Lax`;
}

/**
 * Verification keys and which algorithms each may check. A key is only ever
 * used for the algorithm family it is: an RSA public key never becomes an
 * HMAC secret, whatever a token's header says.
 */
import { createPublicKey, createSecretKey, type JsonWebKey, type KeyObject } from 'node:crypto';

export const ALGORITHMS = [
  'HS256', 'HS384', 'HS512',
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512',
  'EdDSA', 'Ed25519',
] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

export interface VerificationKey {
  readonly kid: string | undefined;
  /** The JWK's own alg, when it names one: the key is then used for that algorithm only. */
  readonly alg: string | undefined;
  readonly key: KeyObject;
}

const CURVES: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };

export function isHmac(alg: string): boolean {
  return alg.startsWith('HS');
}

/** Can this key check this algorithm? */
export function keyFits(key: KeyObject, alg: string): boolean {
  if (isHmac(alg)) return key.type === 'secret';
  if (key.type !== 'public') return false;
  const type = key.asymmetricKeyType;
  if (alg.startsWith('RS')) return type === 'rsa';
  if (alg.startsWith('PS')) return type === 'rsa' || type === 'rsa-pss';
  if (alg.startsWith('ES')) return type === 'ec' && key.asymmetricKeyDetails?.namedCurve === CURVES[alg];
  if (alg === 'Ed25519') return type === 'ed25519';
  if (alg === 'EdDSA') return type === 'ed25519' || type === 'ed448';
  return false;
}

/** Candidate keys for a token header: matching kid (when the token names one), alg and family. */
export function candidates(keys: readonly VerificationKey[], alg: string, kid: string | undefined): VerificationKey[] {
  const out: VerificationKey[] = [];
  for (const k of keys) {
    if (kid !== undefined && k.kid !== kid) continue;
    if (k.alg !== undefined && k.alg !== alg) continue;
    if (keyFits(k.key, alg)) out.push(k);
  }
  return out;
}

/**
 * A public key from a JWK as a JWKS serves it; undefined for keys that are
 * not for verifying signatures (use "enc", no "verify" in key_ops) or that
 * are not public keys. Private parts, if a careless JWKS carries them, are
 * dropped.
 */
export function publicKeyFromJwk(jwk: Record<string, unknown>): VerificationKey | undefined {
  if (jwk.use !== undefined && jwk.use !== 'sig') return undefined;
  if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify')) return undefined;
  if (jwk.kty !== 'RSA' && jwk.kty !== 'EC' && jwk.kty !== 'OKP') return undefined;
  const kid = typeof jwk.kid === 'string' && jwk.kid.length <= 256 ? jwk.kid : undefined;
  const alg = typeof jwk.alg === 'string' ? jwk.alg : undefined;
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, oth: _oth, ...pub } = jwk;
  try {
    const key = createPublicKey({ key: pub as JsonWebKey, format: 'jwk' });
    return { kid, alg, key };
  } catch {
    return undefined;
  }
}

export function publicKeyFromPem(pem: string): KeyObject {
  const key = createPublicKey(pem);
  if (key.type !== 'public') throw new Error('expected a public key');
  return key;
}

export function secretKey(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

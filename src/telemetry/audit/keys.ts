/**
 * The audit trail's keys: an Ed25519 key pair (the gateway signs with the
 * private key; a verifier holds only the public key, so a verifier's copy can
 * never be used to forge) or an HMAC-SHA256 key (the verifier holds the same
 * key, so it can forge: simpler, weaker). Each record names its key by `kid`,
 * so a trail that outlived a key rotation is verified with both keys.
 */
import { createHash, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';

/** HMAC keys shorter than this are refused: a short key can be guessed from a record and its MAC. */
export const MIN_HMAC_KEY_BYTES = 32;

export interface SigningKey {
  readonly algorithm: 'ed25519' | 'hmac-sha256';
  readonly kid: string;
  sign(message: Buffer): string;
  /** The matching verifier: the gateway checks the tail it continues with it. */
  readonly verifier: VerifyingKey;
}

export interface VerifyingKey {
  readonly algorithm: 'ed25519' | 'hmac-sha256';
  readonly kid: string;
  verify(message: Buffer, signature: string): boolean;
}

const PEM = /^\s*-----BEGIN ([A-Z0-9 ]+)-----/;

function kidOfPublic(key: KeyObject): string {
  return createHash('sha256').update(key.export({ format: 'der', type: 'spki' })).digest('hex').slice(0, 16);
}

/** Names an HMAC key without revealing it: a 32-byte key cannot be found from 64 bits of its hash. */
function kidOfHmac(secret: Buffer): string {
  return createHash('sha256').update('portcullis-audit-hmac\0').update(secret).digest('hex').slice(0, 16);
}

function hmacKey(secret: Buffer): SigningKey & VerifyingKey {
  const kid = kidOfHmac(secret);
  const mac = (message: Buffer) => createHmac('sha256', secret).update(message).digest('base64url');
  const key: SigningKey & VerifyingKey = {
    algorithm: 'hmac-sha256',
    kid,
    sign: mac,
    verify(message, signature) {
      const expected = Buffer.from(mac(message));
      const given = Buffer.from(String(signature));
      return expected.length === given.length && timingSafeEqual(expected, given);
    },
    get verifier() {
      return key;
    },
  };
  return key;
}

function ed25519Verifier(publicKey: KeyObject): VerifyingKey {
  return {
    algorithm: 'ed25519',
    kid: kidOfPublic(publicKey),
    verify(message, signature) {
      try {
        return verify(null, message, publicKey, Buffer.from(String(signature), 'base64url'));
      } catch {
        return false;
      }
    },
  };
}

/**
 * The gateway's signing key from telemetry.audit.key: an Ed25519 private key
 * in PEM, or HMAC key bytes. Throws with a message fit for a config error
 * (never the key itself).
 */
export function signingKey(text: string): SigningKey {
  const pem = PEM.exec(text);
  if (pem) {
    if (!pem[1]!.includes('PRIVATE KEY')) throw new Error(`expected an Ed25519 private key in PEM, got a PEM "${pem[1]}" block (the gateway signs; verifiers hold the public key)`);
    let key: KeyObject;
    try {
      key = createPrivateKey(text);
    } catch {
      throw new Error('a PEM private key that cannot be read (encrypted keys are not supported)');
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`expected an Ed25519 private key, got ${key.asymmetricKeyType ?? 'another kind of key'} (make one with portcullis audit keygen)`);
    const publicKey = createPublicKey(key);
    return { algorithm: 'ed25519', kid: kidOfPublic(publicKey), sign: (message) => sign(null, message, key).toString('base64url'), verifier: ed25519Verifier(publicKey) };
  }
  const secret = Buffer.from(text, 'utf8');
  if (secret.length < MIN_HMAC_KEY_BYTES) throw new Error(`an HMAC key must be at least ${MIN_HMAC_KEY_BYTES} bytes (got ${secret.length}); make one with: openssl rand -hex 32`);
  return hmacKey(secret);
}

/**
 * A verifier's key from a key file's text: an Ed25519 public key in PEM (the
 * usual case), an Ed25519 private key (its public half is used), or HMAC key
 * bytes (the same bytes the gateway's config holds).
 */
export function verifyingKey(text: string): VerifyingKey {
  const pem = PEM.exec(text);
  if (pem) {
    let publicKey: KeyObject;
    try {
      publicKey = createPublicKey(text);
    } catch {
      throw new Error(`a PEM "${pem[1]}" block that cannot be read as an Ed25519 key`);
    }
    if (publicKey.asymmetricKeyType !== 'ed25519') throw new Error(`expected an Ed25519 key, got ${publicKey.asymmetricKeyType ?? 'another kind of key'}`);
    return ed25519Verifier(publicKey);
  }
  const secret = Buffer.from(text, 'utf8');
  if (secret.length < MIN_HMAC_KEY_BYTES) throw new Error(`not a PEM key, and too short for an HMAC key (${secret.length} bytes, at least ${MIN_HMAC_KEY_BYTES})`);
  return hmacKey(secret);
}

/** A fresh Ed25519 key pair in PEM: the private key for the gateway, the public one for verifiers. */
export function generateAuditKeyPair(): { privateKey: string; publicKey: string; kid: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKey: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    kid: kidOfPublic(publicKey),
  };
}

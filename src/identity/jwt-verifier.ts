/**
 * Verifies a compact JWS JWT against configured issuers. What it refuses,
 * and why:
 * - any algorithm not in the issuer's allowlist, so "none" in every spelling,
 *   and HS256 against an RS256 issuer;
 * - keys from the token itself: jwk, jku, x5u and x5c headers are never read,
 *   kid is only a map key, and a key checks only its own algorithm family;
 * - exp is required; iss, aud, nbf, iat are checked with the configured skew.
 * The issuer is chosen by the unverified iss (to know which keys to use) and
 * then checked again by the verification itself.
 */
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import type { JwksSource } from './jwks.js';
import { candidates, type VerificationKey } from './keys.js';

export interface IssuerVerification {
  readonly issuer: string;
  /** Shown in X-Credential-Id and logs: the issuer's configured name, or the issuer itself. */
  readonly name: string;
  readonly algorithms: readonly string[];
  readonly audiences: readonly string[] | undefined;
  readonly requiredClaims: readonly string[];
  /** Accepted `typ` header values (compared without "application/", case-insensitive); undefined accepts any. */
  readonly types: readonly string[] | undefined;
  readonly staticKeys: readonly VerificationKey[];
  readonly jwks: JwksSource | undefined;
}

export interface VerifierOptions {
  readonly clockSkewSec: number;
  readonly maxTokenAgeSec: number | undefined;
}

export type Verification =
  | { ok: true; payload: JWTPayload; issuer: IssuerVerification; kid: string | undefined }
  | { ok: false; reason: string };

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_KID = 256;
/** Tokens without kid against several fitting keys: try at most this many. */
const MAX_TRIES = 5;

function refuse(reason: string): Verification {
  return { ok: false, reason };
}

export class JwtVerifier {
  private readonly byIssuer: ReadonlyMap<string, IssuerVerification>;

  constructor(
    issuers: readonly IssuerVerification[],
    private readonly options: VerifierOptions,
  ) {
    this.byIssuer = new Map(issuers.map((i) => [i.issuer, i]));
  }

  get issuers(): Iterable<IssuerVerification> {
    return this.byIssuer.values();
  }

  async verify(token: string): Promise<Verification> {
    if (!COMPACT_JWS.test(token)) return refuse('not a compact JWS');
    let header: ProtectedHeaderParameters;
    let claims: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      claims = decodeJwt(token);
    } catch {
      return refuse('malformed token');
    }
    const issuer = typeof claims.iss === 'string' ? this.byIssuer.get(claims.iss) : undefined;
    if (!issuer) return refuse('unknown issuer');
    const alg = header.alg;
    if (typeof alg !== 'string' || !issuer.algorithms.includes(alg)) return refuse('algorithm not allowed');
    const kid = header.kid;
    if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID)) return refuse('bad kid');
    if (issuer.types && !typeAccepted(header.typ, issuer.types)) return refuse('token type not accepted');

    let keys = this.keysFor(issuer, alg, kid);
    if (keys.length === 0 && kid !== undefined && issuer.jwks && (await issuer.jwks.refetchForUnknownKid())) {
      keys = this.keysFor(issuer, alg, kid);
    }
    if (keys.length === 0) return refuse(kid === undefined ? 'no key fits the token' : 'unknown kid');

    let last = 'bad signature';
    for (const key of keys.slice(0, MAX_TRIES)) {
      try {
        const { payload } = await jwtVerify(token, key.key, {
          algorithms: [alg],
          issuer: issuer.issuer,
          audience: issuer.audiences as string[] | undefined,
          clockTolerance: this.options.clockSkewSec,
          maxTokenAge: this.options.maxTokenAgeSec,
          requiredClaims: issuer.requiredClaims as string[],
        });
        // jose checks iat only against maxTokenAge; a token issued in the future is refused here.
        if (payload.iat !== undefined && payload.iat > Date.now() / 1000 + this.options.clockSkewSec) return refuse('claim iat: issued in the future');
        return { ok: true, payload, issuer, kid };
      } catch (err) {
        last = describe(err);
        if (!(err instanceof joseErrors.JWSSignatureVerificationFailed)) return refuse(last);
      }
    }
    return refuse(last);
  }

  private keysFor(issuer: IssuerVerification, alg: string, kid: string | undefined): VerificationKey[] {
    const fromConfig = candidates(issuer.staticKeys, alg, kid);
    return issuer.jwks ? [...fromConfig, ...candidates(issuer.jwks.current(), alg, kid)] : fromConfig;
  }
}

function typeAccepted(typ: unknown, accepted: readonly string[]): boolean {
  if (typeof typ !== 'string') return false;
  const t = typ.toLowerCase().replace(/^application\//, '');
  return accepted.some((a) => a.toLowerCase().replace(/^application\//, '') === t);
}

/** A short reason for the security event; never sent to the client. */
function describe(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `claim ${err.claim}: ${err.reason}`;
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad signature';
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (err instanceof joseErrors.JWTInvalid || err instanceof joseErrors.JWSInvalid) return 'malformed token';
  if (err instanceof joseErrors.JOSENotSupported) return 'unsupported token feature';
  return 'invalid token';
}

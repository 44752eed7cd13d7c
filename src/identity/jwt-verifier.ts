/**
 * Verifies a compact JWS JWT against configured issuers. What it refuses,
 * and why:
 * - any algorithm not in the issuer's allowlist, so "none" in every spelling,
 *   and HS256 against an RS256 issuer;
 * - keys from the token itself: jwk, jku, x5u and x5c headers are never read,
 *   kid is only a map key, and a key checks only its own algorithm family;
 * - exp is required; iss, aud, nbf, iat are checked with the configured skew.
 * The issuer is chosen by the unverified iss (to know which keys to use) and
 * then checked again by the verification itself. When no key fits and the
 * issuer's JWKS could not be fetched, verify() throws DependencyUnavailableError:
 * the gateway could not ask, so it does not say the token is bad.
 */
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import type { JwksSource } from './jwks.js';
import type { AuthReason } from '../pipeline/events.js';
import { candidates, type VerificationKey } from './keys.js';
import { DependencyUnavailableError } from '../errors.js';

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
  | { ok: false; refusal: Refusal };

/**
 * Why a token was refused, for the security event only: a stable reason, a
 * sentence, and what names the culprit (the claim, the kid, the algorithm,
 * the issuer). The client always gets the same 401.
 */
export interface Refusal {
  readonly reason: AuthReason;
  readonly message: string;
  readonly claim?: string;
  readonly kid?: string;
  readonly alg?: string;
  readonly issuer?: string;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_KID = 256;
/** Tokens without kid against several fitting keys: try at most this many. */
const MAX_TRIES = 5;

function refuse(reason: AuthReason, message: string, about: Omit<Refusal, 'reason' | 'message'> = {}): Verification {
  return { ok: false, refusal: { reason, message, ...about } };
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
    if (!COMPACT_JWS.test(token)) return refuse('malformed', 'not a compact JWS');
    let header: ProtectedHeaderParameters;
    let claims: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      claims = decodeJwt(token);
    } catch {
      return refuse('malformed', 'malformed token');
    }
    const issuer = typeof claims.iss === 'string' ? this.byIssuer.get(claims.iss) : undefined;
    // The issuer the token names is not one this policy trusts: the most common IdP setup mistake, so it is named.
    if (!issuer) return refuse('wrong_issuer', 'the token\'s issuer is not a configured one', { claim: 'iss', issuer: typeof claims.iss === 'string' ? claims.iss : undefined });
    const alg = header.alg;
    if (typeof alg !== 'string' || !issuer.algorithms.includes(alg)) {
      return refuse('alg_not_allowed', 'algorithm not allowed', { issuer: issuer.name, alg: typeof alg === 'string' ? alg : undefined });
    }
    const kid = header.kid;
    if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID)) return refuse('malformed', 'bad kid', { issuer: issuer.name });
    if (issuer.types && !typeAccepted(header.typ, issuer.types)) return refuse('type_not_accepted', 'token type not accepted', { issuer: issuer.name });

    let keys = this.keysFor(issuer, alg, kid);
    if (keys.length === 0 && kid !== undefined && issuer.jwks && (await issuer.jwks.refetchForUnknownKid())) {
      keys = this.keysFor(issuer, alg, kid);
    }
    // No key fits and the provider could not be asked: not a bad token but an outage (503, the policy's fail mode), never 401.
    if (keys.length === 0 && issuer.jwks?.unreachable()) {
      throw new DependencyUnavailableError('JWKS', { cause: new Error(`no key of issuer ${issuer.name} fits and its JWKS could not be fetched`) });
    }
    if (keys.length === 0) {
      return kid === undefined ? refuse('no_matching_key', 'no key fits the token', { issuer: issuer.name, alg }) : refuse('unknown_key', 'unknown kid', { issuer: issuer.name, kid, alg });
    }

    let last: Verification | undefined;
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
        if (payload.iat !== undefined && payload.iat > Date.now() / 1000 + this.options.clockSkewSec) return refuse('issued_in_future', 'claim iat: issued in the future', { issuer: issuer.name, claim: 'iat' });
        return { ok: true, payload, issuer, kid };
      } catch (err) {
        last = describe(err, { issuer: issuer.name, kid, alg });
        if (!(err instanceof joseErrors.JWSSignatureVerificationFailed)) return last;
      }
    }
    return last ?? refuse('bad_signature', 'bad signature', { issuer: issuer.name, kid, alg });
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

/**
 * jose's error, as the security event says it (never sent to the client).
 * JWTExpired is a JWTClaimValidationFailed on "exp", so it is asked first;
 * the other claim failures are told apart by the claim and jose's reason
 * ("check_failed" for a value that is wrong, "missing" for one that is absent).
 */
function describe(err: unknown, about: Omit<Refusal, 'reason' | 'message'>): Verification {
  if (err instanceof joseErrors.JWTExpired) {
    // jose reports an iat older than maxTokenAge as JWTExpired on "iat".
    return err.claim === 'iat' ? refuse('too_old', 'claim iat: older than max_token_age', { ...about, claim: 'iat' }) : refuse('expired', 'claim exp: expired', { ...about, claim: 'exp' });
  }
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    const claim = err.claim;
    const message = `claim ${claim}: ${err.reason}`;
    if (err.reason === 'missing') return refuse('missing_claim', message, { ...about, claim });
    if (claim === 'iss') return refuse('wrong_issuer', message, { ...about, claim });
    if (claim === 'aud') return refuse('wrong_audience', message, { ...about, claim });
    if (claim === 'nbf' && err.reason === 'check_failed') return refuse('not_yet_valid', message, { ...about, claim });
    // With max_token_age, jose itself refuses an iat in the future (with it off, verify() does).
    if (claim === 'iat' && err.reason === 'check_failed') return refuse('issued_in_future', message, { ...about, claim });
    return refuse('invalid_claim', message, { ...about, claim });
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return refuse('bad_signature', 'bad signature', about);
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return refuse('alg_not_allowed', 'algorithm not allowed', about);
  if (err instanceof joseErrors.JWTInvalid || err instanceof joseErrors.JWSInvalid) return refuse('malformed', 'malformed token', about);
  if (err instanceof joseErrors.JOSENotSupported) return refuse('unsupported', 'unsupported token feature', about);
  return refuse('malformed', 'invalid token', about);
}

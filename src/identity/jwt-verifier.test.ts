/**
 * Why the verifier refuses a token, as the security event says it: each of
 * jose's errors (and the verifier's own checks) maps to one stable reason.
 * Real keys, real tokens, the verifier as the jwt policy builds it; the
 * end-to-end view (same 401 for all) is in test/e2e/security-events.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { JwtVerifier, type IssuerVerification } from './jwt-verifier.js';

const ISS = 'https://issuer.test';
const now = () => Math.floor(Date.now() / 1000);
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

const issuer: IssuerVerification = {
  issuer: ISS,
  name: 'test',
  algorithms: ['RS256'],
  audiences: ['api'],
  requiredClaims: ['sub'],
  types: ['at+jwt'],
  staticKeys: [{ kid: 'k1', alg: 'RS256', key: rsa.publicKey }],
  jwks: undefined,
};
const verifier = new JwtVerifier([issuer], { clockSkewSec: 0, maxTokenAgeSec: 600 });

const sign = (claims: JWTPayload, header: Record<string, unknown> = {}) =>
  new SignJWT({ iss: ISS, sub: 's', aud: 'api', iat: now(), exp: now() + 60, ...claims }).setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'at+jwt', ...header }).sign(rsa.privateKey);

async function reasonOf(token: string): Promise<[string, Record<string, unknown>]> {
  const result = await verifier.verify(token);
  assert.equal(result.ok, false);
  if (result.ok) throw new Error('accepted');
  const { reason, message, ...about } = result.refusal;
  assert.ok(message.length > 0);
  return [reason, about];
}

describe('jwt verifier refusal reasons', () => {
  it('accepts a good token', async () => {
    assert.equal((await verifier.verify(await sign({}))).ok, true);
  });

  it('names each way a token is wrong by a stable reason and what it is about', async () => {
    const cases: Array<[string, Promise<string> | string, string, Record<string, unknown>]> = [
      ['not a JWS', 'abc', 'malformed', {}],
      ['wrong issuer', sign({ iss: 'https://other.test' }), 'wrong_issuer', { claim: 'iss', issuer: 'https://other.test' }],
      ['wrong audience', sign({ aud: 'other' }), 'wrong_audience', { claim: 'aud', issuer: 'test' }],
      ['expired', sign({ exp: now() - 5 }), 'expired', { claim: 'exp' }],
      ['not yet valid', sign({ nbf: now() + 300 }), 'not_yet_valid', { claim: 'nbf' }],
      ['issued in the future', sign({ iat: now() + 300 }), 'issued_in_future', { claim: 'iat' }],
      ['older than max_token_age', sign({ iat: now() - 3600, exp: now() + 60 }), 'too_old', { claim: 'iat' }],
      ['a required claim missing', sign({ sub: undefined }), 'missing_claim', { claim: 'sub' }],
      ['nbf not a number', sign({ nbf: 'soon' as unknown as number }), 'invalid_claim', { claim: 'nbf' }],
      ['unknown kid', sign({}, { kid: 'k9' }), 'unknown_key', { kid: 'k9', alg: 'RS256' }],
      ['wrong typ', sign({}, { typ: 'JWT' }), 'type_not_accepted', {}],
      ['alg none', `${b64({ alg: 'none', kid: 'k1' })}.${b64({ iss: ISS, sub: 's' })}.`, 'alg_not_allowed', { alg: 'none' }],
      ['HS256 against an RS256 issuer', `${b64({ alg: 'HS256', kid: 'k1' })}.${b64({ iss: ISS, sub: 's' })}.c2ln`, 'alg_not_allowed', { alg: 'HS256' }],
      ['bad signature', sign({}).then((t) => t.slice(0, -6) + (t.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA')), 'bad_signature', { kid: 'k1', alg: 'RS256' }],
    ];
    for (const [what, token, reason, about] of cases) {
      const [got, details] = await reasonOf(await token);
      assert.equal(got, reason, what);
      for (const [k, v] of Object.entries(about)) assert.equal(details[k], v, `${what}: ${k}`);
    }
  });
});

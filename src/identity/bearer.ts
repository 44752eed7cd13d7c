/** The answers a bearer-token method gives (RFC 6750 §3), shared by jwt, oauth2-introspection and oidc. */
import { deny, type Deny } from '../pipeline/decision.js';
import { MISSING_CREDENTIALS, type AuthReason } from '../pipeline/events.js';
import { quote } from './basic.js';
import { NAMESPACE_EVENT, NAMESPACE_REASON } from './consumers.js';

/** What names the culprit in an invalid-token event (never the token). */
export interface TokenRefusalDetails {
  readonly claim?: string;
  readonly kid?: string;
  readonly alg?: string;
  readonly issuer?: string;
}

export interface BearerRefusals {
  readonly missing: Deny;
  readonly malformed: Deny;
  /** The same 401 whatever the reason: `reason`, `message` and `about` go only into the security event. */
  invalid(reason: AuthReason, message: string, about?: TokenRefusalDetails): Deny;
  /** A name from an unprefixed party that holds ":" (could be another party's name): consumers.ts NamespaceRefusal. */
  readonly namespace: Deny;
}

export function bearerRefusals(realm: string, policy: string): BearerRefusals {
  const plain = `Bearer realm=${quote(realm)}`;
  const invalidChallenge = { 'www-authenticate': `${plain}, error="invalid_token"` };
  return {
    missing: deny('unauthorized', {
      headers: { 'www-authenticate': plain },
      event: { type: MISSING_CREDENTIALS, severity: 'low', message: 'no bearer token', data: { method: policy } },
    }),
    malformed: deny('unauthorized', {
      headers: { 'www-authenticate': `${plain}, error="invalid_request"` },
      event: { type: 'auth.malformed_credentials', severity: 'medium', reason: 'malformed', message: 'malformed bearer token', data: { method: policy } },
    }),
    namespace: deny('unauthorized', {
      headers: invalidChallenge,
      event: { type: NAMESPACE_EVENT, severity: 'medium', message: `${policy}: ${NAMESPACE_REASON}` },
    }),
    // One answer for every kind of bad token; the reason goes only into the event.
    invalid: (reason, message, about = {}) =>
      deny('unauthorized', {
        headers: invalidChallenge,
        event: { type: 'auth.invalid_credentials', severity: 'medium', reason, message: `${policy}: ${message}`, data: { method: policy, ...about } },
      }),
  };
}

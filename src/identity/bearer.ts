/** The answers a bearer-token method gives (RFC 6750 §3), shared by jwt, oauth2-introspection and oidc. */
import { deny, type Deny } from '../pipeline/decision.js';
import { MISSING_CREDENTIALS } from '../pipeline/events.js';
import { quote } from './basic.js';
import { NAMESPACE_EVENT, NAMESPACE_REASON } from './consumers.js';

export interface BearerRefusals {
  readonly missing: Deny;
  readonly malformed: Deny;
  invalid(reason: string): Deny;
  /** A name from an unprefixed party that holds ":" (could be another party's name): consumers.ts NamespaceRefusal. */
  readonly namespace: Deny;
}

export function bearerRefusals(realm: string, policy: string): BearerRefusals {
  const plain = `Bearer realm=${quote(realm)}`;
  const invalidChallenge = { 'www-authenticate': `${plain}, error="invalid_token"` };
  return {
    missing: deny('unauthorized', {
      headers: { 'www-authenticate': plain },
      event: { type: MISSING_CREDENTIALS, severity: 'low', reason: 'no bearer token' },
    }),
    malformed: deny('unauthorized', {
      headers: { 'www-authenticate': `${plain}, error="invalid_request"` },
      event: { type: 'auth.malformed_credentials', severity: 'medium', reason: 'malformed bearer token' },
    }),
    namespace: deny('unauthorized', {
      headers: invalidChallenge,
      event: { type: NAMESPACE_EVENT, severity: 'medium', reason: `${policy}: ${NAMESPACE_REASON}` },
    }),
    // One answer for every kind of bad token; the reason goes only into the event.
    invalid: (reason) =>
      deny('unauthorized', {
        headers: invalidChallenge,
        event: { type: 'auth.invalid_credentials', severity: 'medium', reason: `${policy}: ${reason}` },
      }),
  };
}

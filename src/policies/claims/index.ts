/**
 * claims: what a token-based identity must carry. Required scopes (from
 * `scope` or `scp`, as the authentication method found them) and rules on
 * claims (equals, one_of, contains) combined with all or any. Works on what
 * jwt, oauth2-introspection and oidc verified; an identity without claims
 * (an API key) passes no rule.
 */
import { ConfigError } from '../../config/errors.js';
import { deny } from '../../pipeline/decision.js';
import { definePolicy } from '../../pipeline/policy.js';
import { quote } from '../../identity/basic.js';
import { claimAt } from '../../identity/claims.js';
import { ClaimsSchema } from './schema.js';
import type { Static } from '@sinclair/typebox';
import type { ClaimRuleSchema } from './schema.js';

type Rule = Static<typeof ClaimRuleSchema>;
type Check = (claims: Readonly<Record<string, unknown>>) => boolean;

function compileRule(rule: Rule, index: number): Check {
  const operators = [rule.equals, rule.one_of, rule.contains].filter((v) => v !== undefined).length;
  if (operators !== 1) throw new ConfigError('a rule needs exactly one of "equals", "one_of" or "contains"', ['rules', index]);
  const path = rule.claim;
  if (rule.equals !== undefined) {
    const expected = rule.equals;
    return (claims) => claimAt(claims, path) === expected;
  }
  if (rule.one_of !== undefined) {
    const allowed = rule.one_of;
    return (claims) => allowed.includes(claimAt(claims, path) as string);
  }
  const word = rule.contains!;
  return (claims) => {
    const value = claimAt(claims, path);
    if (Array.isArray(value)) return value.includes(word);
    return typeof value === 'string' && value.split(' ').includes(word);
  };
}

export default definePolicy({
  name: 'claims',
  phase: 'authorize',
  description: 'Requires scopes and claim values of token-based identities.',
  config: ClaimsSchema,
  compile(config, deps) {
    if (config.scopes.length === 0 && config.rules.length === 0) throw new ConfigError('give "scopes", "rules" or both');
    if (config.services && deps.route !== undefined) throw new ConfigError('"services" is for global policies', ['services']);
    const checks = config.rules.map(compileRule);
    const services = config.services ? new Set(config.services) : undefined;
    const insufficient = deny('insufficient_scope', {
      headers: {
        'www-authenticate': `Bearer realm=${quote(config.realm)}, error="insufficient_scope", scope=${quote(config.scopes.join(' '))}`,
      },
      event: { type: 'authz.insufficient_scope', severity: 'medium', message: `claims: a required scope is missing (${config.scopes.join(' ')})`, data: { required: config.scopes.join(' ') } },
    });
    const noClaims = deny('forbidden', { event: { type: 'authz.no_claims', severity: 'medium', message: 'claims: the identity carries no claims' } });
    const ruleFailed = deny('forbidden', { event: { type: 'authz.claim_mismatch', severity: 'medium', reason: 'rules_failed', message: 'claims: the claim rules do not hold' } });
    const any = config.match === 'any';
    const wrongIssuer = deny('forbidden', { event: { type: 'authz.claim_mismatch', severity: 'medium', reason: 'untrusted_issuer', message: 'claims: the identity is not from an issuer these rules trust' } });
    const issuers = config.issuers;
    return {
      readsClaimsOf: issuers ?? 'any',
      onRequest(ctx) {
        if (services && !services.has(ctx.serviceName ?? '')) return undefined;
        // A scope or claim value means what these rules expect only from the issuers named.
        if (issuers && !(typeof ctx.claims?.iss === 'string' && issuers.includes(ctx.claims.iss))) return wrongIssuer;
        if (config.scopes.length > 0) {
          const held = ctx.scopes ?? [];
          for (const scope of config.scopes) if (!held.includes(scope)) return insufficient;
        }
        if (checks.length === 0) return undefined;
        const claims = ctx.claims;
        if (!claims) return noClaims;
        const ok = any ? checks.some((c) => c(claims)) : checks.every((c) => c(claims));
        return ok ? undefined : ruleFailed;
      },
    };
  },
});

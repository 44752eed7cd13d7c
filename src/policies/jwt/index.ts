/**
 * jwt: bearer JSON Web Tokens checked against configured issuers, each with
 * its own algorithm allowlist and keys (config, PEM, JWKS URL or OIDC
 * discovery). Verified tokens are cached by digest until their exp at the
 * latest, so the hot path of a repeat caller is synchronous.
 */
import type { Deny } from '../../pipeline/decision.js';
import type { RequestContext } from '../../pipeline/context.js';
import { definePolicy } from '../../pipeline/policy.js';
import { parseDuration } from '../../config/units.js';
import { bearerRefusals } from '../../identity/bearer.js';
import { scopesOf } from '../../identity/claims.js';
import { ConsumerResolver } from '../../identity/consumers.js';
import { buildIssuer } from '../../identity/issuers.js';
import { JwtVerifier } from '../../identity/jwt-verifier.js';
import { TokenSource } from '../../identity/token-source.js';
import { applyIdentity, tokenDigest, VerifiedCache, type VerifiedIdentity } from '../../identity/verified-cache.js';
import { JwtSchema } from './schema.js';

export default definePolicy({
  name: 'jwt',
  phase: 'authenticate',
  description: 'Authenticates callers by a signed JSON Web Token from configured issuers.',
  config: JwtSchema,
  compile(config, deps) {
    const timing = {
      refreshMs: parseDuration(config.jwks.refresh_interval),
      cooldownMs: parseDuration(config.jwks.cooldown),
      timeoutMs: parseDuration(config.jwks.timeout),
    };
    const issuers = config.issuers.map((issuer, i) => buildIssuer(issuer, ['issuers', i], timing, deps.logger));
    const maxTokenAgeSec = config.max_token_age === undefined ? undefined : parseDuration(config.max_token_age) / 1000;
    const verifier = new JwtVerifier(issuers, { clockSkewSec: parseDuration(config.clock_skew) / 1000, maxTokenAgeSec });
    const resolver = new ConsumerResolver(config.consumer, deps.consumers);
    const source = new TokenSource(config.token);
    const cache = new VerifiedCache(config.cache.max_entries, parseDuration(config.cache.ttl));
    const refusals = bearerRefusals(config.realm, 'jwt');

    const accept = (ctx: RequestContext, identity: VerifiedIdentity, from: 'header' | 'cookie' | 'query'): undefined => {
      applyIdentity(ctx, identity, 'jwt');
      if (!config.keep_credential) source.strip(ctx, from);
      return undefined;
    };

    const verify = async (ctx: RequestContext, token: string, digest: string, from: 'header' | 'cookie' | 'query'): Promise<Deny | undefined> => {
      const result = await verifier.verify(token);
      if (!result.ok) return refusals.invalid(result.reason);
      const claims = result.payload as Readonly<Record<string, unknown>>;
      const resolved = resolver.fromClaims(claims);
      if (!resolved) return refusals.invalid('no usable consumer claim, or not a known consumer');
      const identity: VerifiedIdentity = {
        consumer: resolved.consumer,
        credentialId: `${result.issuer.name}:${resolved.subject}`,
        scopes: scopesOf(claims),
        claims,
      };
      // Kept no longer than the token is acceptable: its exp, and its iat + max_token_age when that is set.
      const { exp, iat } = result.payload;
      cache.set(digest, identity, maxTokenAgeSec !== undefined && iat !== undefined && exp !== undefined ? Math.min(exp, iat + maxTokenAgeSec) : exp);
      return accept(ctx, identity, from);
    };

    return {
      async ready() {
        await Promise.all(issuers.flatMap((i) => (i.jwks ? [i.jwks.ready()] : [])));
      },
      onRequest(ctx) {
        const found = source.find(ctx);
        if (found.kind === 'missing') return refusals.missing;
        if (found.kind === 'malformed') return refusals.malformed;
        const digest = tokenDigest(found.token);
        const hit = cache.get(digest);
        if (hit) return accept(ctx, hit, found.from);
        return verify(ctx, found.token, digest, found.from);
      },
    };
  },
});

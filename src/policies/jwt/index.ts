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
import type { Static } from '@sinclair/typebox';
import { ConfigError, formatPath, type ConfigPath } from '../../config/errors.js';
import type { Consumer } from '../../pipeline/context.js';
import { ConsumerResolver, type ConsumerMapping } from '../../identity/consumers.js';
import { buildIssuer } from '../../identity/issuers.js';
import { JwtVerifier } from '../../identity/jwt-verifier.js';
import { TokenSource } from '../../identity/token-source.js';
import { declareCredentialName } from '../../pipeline/credential-names.js';
import { applyIdentity, tokenDigest, VerifiedCache, type VerifiedIdentity } from '../../identity/verified-cache.js';
import { JwtSchema } from './schema.js';

type JwtConfig = Static<typeof JwtSchema>;

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
    const warn = deps.warn ?? ((path, message) => deps.logger.warn({ path: formatPath(path) }, message));
    const issuers = config.issuers.map((issuer, i) => buildIssuer(issuer, ['issuers', i], timing, { logger: deps.logger, env: deps.env, warn }));
    const maxTokenAgeSec = config.max_token_age === undefined ? undefined : parseDuration(config.max_token_age) / 1000;
    const verifier = new JwtVerifier(issuers, { clockSkewSec: parseDuration(config.clock_skew) / 1000, maxTokenAgeSec });
    const resolvers = consumerResolvers(config, deps.consumers);
    warnUnboundTokens(config, warn);
    const source = new TokenSource(config.token);
    // the waf's CRS engine keeps no value held under these names across requests
    declareCredentialName(config.token.header);
    if (config.token.query !== undefined) declareCredentialName(config.token.query);
    const cache = new VerifiedCache(config.cache.max_entries, parseDuration(config.cache.ttl));
    const refusals = bearerRefusals(config.realm, 'jwt');

    const accept = (ctx: RequestContext, identity: VerifiedIdentity, from: 'header' | 'cookie' | 'query'): undefined => {
      applyIdentity(ctx, identity, 'jwt');
      if (!config.keep_credential) source.strip(ctx, from);
      return undefined;
    };

    const verify = async (ctx: RequestContext, token: string, digest: string, from: 'header' | 'cookie' | 'query'): Promise<Deny | undefined> => {
      const result = await verifier.verify(token);
      if (!result.ok) {
        const { reason, message, ...about } = result.refusal;
        return refusals.invalid(reason, message, about);
      }
      const claims = result.payload as Readonly<Record<string, unknown>>;
      const resolved = resolvers[issuers.indexOf(result.issuer)]!.resolveClaims(claims);
      if (!resolved) return refusals.invalid('unknown_consumer', 'no usable consumer claim, or not a known consumer', { issuer: result.issuer.name });
      if ('refused' in resolved) return refusals.namespace;
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
      ...source.cookies(config.keep_credential),
      identityNamespaces: config.issuers.flatMap((issuer, i) => resolvers[i]!.namespaces(issuer.issuer)),
      claimsFrom: config.issuers.map((issuer) => issuer.issuer),
      async ready() {
        await Promise.all(issuers.flatMap((i) => (i.jwks ? [i.jwks.ready()] : [])));
      },
      readiness() {
        const waiting = issuers.filter((i) => i.jwks && !i.jwks.reached()).map((i) => i.name);
        return waiting.length === 0 ? undefined : `jwt: no signing keys fetched yet from ${waiting.join(', ')}`;
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

/** Settings that say which issuer's values to trust: with several issuers, they belong to one of them. */
const ISSUER_BOUND = ['mapping', 'groups_claim', 'match_names', 'prefix'] as const;

/**
 * One consumer resolver per issuer: a mapping, a groups claim or match_names
 * trusts the issuer it is given for and no other, and the names of consumers
 * that are not configured carry their issuer's prefix, so "jdoe" of one
 * issuer is never "jdoe" of another. One issuer: the policy-wide `consumer`
 * applies to it, unprefixed, as it always did.
 */
function consumerResolvers(config: JwtConfig, consumers: ReadonlyMap<string, Consumer>): ConsumerResolver[] {
  const several = config.issuers.length > 1;
  const shared = config.consumer;
  if (several) {
    for (const key of ISSUER_BOUND) {
      const value = shared[key];
      const given = key === 'mapping' ? Object.keys(shared.mapping).length > 0 : key === 'match_names' ? shared.match_names : value !== undefined;
      if (given) {
        throw new ConfigError(
          `with several issuers this would trust every one of them (a partner's "billing-service" would be yours): move it to issuers[i].consumer.${key} of the issuer that assigns these values`,
          ['consumer', key],
        );
      }
    }
  }
  const prefixes = new Map<string, number>();
  return config.issuers.map((issuer, i) => {
    const path = ['issuers', i, 'consumer'];
    if (issuer.consumer && !isDefault(shared)) {
      throw new ConfigError('give the consumer settings either for the policy or for its issuers, not both', ['consumer']);
    }
    const own: ConsumerMapping = issuer.consumer ?? { ...shared, mapping: several ? {} : shared.mapping };
    let prefix = own.prefix;
    if (prefix === undefined && several) {
      if (issuer.name === undefined) {
        throw new ConfigError(
          'with several issuers, consumers that are not configured are named "<issuer name>:<subject>": give this issuer a short name (or set consumer.prefix)',
          ['issuers', i, 'name'],
        );
      }
      prefix = `${issuer.name}:`;
    }
    prefix ??= '';
    const other = prefixes.get(prefix);
    if (other !== undefined) {
      throw new ConfigError(
        `issuers[${other}] names its consumers the same way ("${prefix}<subject>"): one subject of either issuer would be one consumer; give each issuer its own prefix`,
        [...path, 'prefix'],
      );
    }
    prefixes.set(prefix, i);
    return new ConsumerResolver({ ...own, prefix }, consumers, issuer.consumer ? path : ['consumer']);
  });
}

function isDefault(c: ConsumerMapping): boolean {
  const claim = typeof c.claim === 'string' ? c.claim : c.claim.length === 1 ? c.claim[0] : undefined;
  return claim === 'sub' && Object.keys(c.mapping).length === 0 && !c.known_only && !c.match_names && c.groups_claim === undefined && c.prefix === undefined;
}

/**
 * An issuer with neither audiences nor types accepts any JWT it signed: an
 * ID token or access token it gave another client (another application)
 * passes as a bearer token for this API. Logged when the config loads.
 */
function warnUnboundTokens(config: JwtConfig, warn: (path: ConfigPath, message: string) => void): void {
  config.issuers.forEach((issuer, i) => {
    if (issuer.audiences === undefined && issuer.types === undefined) {
      warn(
        ['issuers', i],
        'neither audiences nor types: any token this issuer signed for another client (an ID token, another API\'s access token) is accepted here; set audiences (and types: [at+jwt] where the issuer follows RFC 9068)',
      );
    }
  });
}

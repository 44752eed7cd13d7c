/**
 * oauth2-introspection: opaque bearer tokens checked by asking the provider
 * (RFC 7662), with the gateway authenticating as a client. Answers are cached
 * by the token's digest, an active one never past the token's exp; inactive
 * tokens are refused (and that answer is cached too, so a bad token cannot
 * make every request a provider call). A provider that does not answer is a
 * DependencyUnavailableError: fail closed gives 503, fail open lets the next
 * method (or the anonymous consumer) decide.
 */
import { ConfigError, formatPath } from '../../config/errors.js';
import { parseDuration } from '../../config/units.js';
import type { RequestContext } from '../../pipeline/context.js';
import type { Deny } from '../../pipeline/decision.js';
import { definePolicy } from '../../pipeline/policy.js';
import { bearerRefusals } from '../../identity/bearer.js';
import { scopesOf } from '../../identity/claims.js';
import { ConsumerResolver, NAMESPACE_REASON } from '../../identity/consumers.js';
import { Discovery } from '../../identity/discovery.js';
import { callJson, checkProviderUrl, isObject } from '../../identity/http.js';
import { warnPlainHttp } from '../../identity/issuers.js';
import { providerLink } from '../../identity/provider-link.js';
import { BoundedCache } from '../../lib/bounded-cache.js';
import { TokenSource } from '../../identity/token-source.js';
import { declareCredentialName } from '../../pipeline/credential-names.js';
import { applyIdentity, tokenDigest, type VerifiedIdentity } from '../../identity/verified-cache.js';
import { IntrospectionSchema } from './schema.js';
import { DependencyUnavailableError } from '../../errors.js';
import type { AuthReason } from '../../pipeline/events.js';

/** A cached answer: who the token is, or why it is refused. */
type Answer = { active: true; identity: VerifiedIdentity } | { active: false; reason: AuthReason; message: string; claim?: string; namespace?: true };

export default definePolicy({
  name: 'oauth2-introspection',
  phase: 'authenticate',
  description: 'Authenticates callers by bearer tokens checked at the provider\'s RFC 7662 introspection endpoint.',
  config: IntrospectionSchema,
  compile(config, deps) {
    if ((config.endpoint === undefined) === (config.issuer === undefined)) {
      throw new ConfigError('give exactly one of "endpoint" or "issuer" (to discover the endpoint)');
    }
    const timeoutMs = parseDuration(config.timeout);
    const link = providerLink(config, deps.env, []);
    const warn = deps.warn ?? ((path, message) => deps.logger.warn({ path: formatPath(path) }, message));
    const checked = config.endpoint ? checkProviderUrl(config.endpoint, ['endpoint'], link.allowHttp) : checkProviderUrl(config.issuer!, ['issuer'], link.allowHttp);
    warnPlainHttp(checked, [config.endpoint ? 'endpoint' : 'issuer'], warn);
    const fixed = config.endpoint ? checked.href : undefined;
    const discovery = config.issuer ? new Discovery(config.issuer, timeoutMs, deps.logger, link) : undefined;
    const endpoint = async (): Promise<string> => {
      if (fixed) return fixed;
      const metadata = await discovery!.get();
      if (!metadata.introspection_endpoint) throw new DependencyUnavailableError('introspection endpoint', { cause: new Error('not in the provider metadata') });
      return metadata.introspection_endpoint;
    };
    const resolver = new ConsumerResolver(config.consumer, deps.consumers);
    const source = new TokenSource(config.token);
    // the waf's CRS engine keeps no value held under these names across requests
    declareCredentialName(config.token.header);
    if (config.token.query !== undefined) declareCredentialName(config.token.query);
    const refusals = bearerRefusals(config.realm, 'oauth2-introspection');
    const ttlMs = parseDuration(config.cache.ttl);
    const cache = config.cache.max_entries > 0 && ttlMs > 0 ? new BoundedCache<Answer>(config.cache.max_entries) : undefined;
    const clientAuth =
      config.auth_method === 'client_secret_basic'
        ? // RFC 6749 §2.3.1: id and secret are form-encoded before Basic encoding.
          { authorization: `Basic ${Buffer.from(`${formEncode(config.client_id)}:${formEncode(config.client_secret)}`).toString('base64')}` }
        : undefined;
    /** Concurrent requests with one new token share one call. */
    const inflight = new Map<string, Promise<Answer>>();

    const interpret = (body: unknown): Answer => {
      if (!isObject(body) || typeof body.active !== 'boolean') throw new DependencyUnavailableError('introspection endpoint', { cause: new Error('not an introspection answer') });
      if (!body.active) return { active: false, reason: 'introspection_inactive', message: 'inactive token' };
      const now = Date.now() / 1000;
      if (typeof body.exp === 'number' && body.exp <= now) return { active: false, reason: 'expired', message: 'expired', claim: 'exp' };
      if (typeof body.nbf === 'number' && body.nbf > now + 30) return { active: false, reason: 'not_yet_valid', message: 'not yet valid', claim: 'nbf' };
      if (config.issuer && body.iss !== undefined && body.iss !== config.issuer) return { active: false, reason: 'wrong_issuer', message: 'wrong issuer', claim: 'iss' };
      if (config.audiences) {
        const aud = typeof body.aud === 'string' ? [body.aud] : Array.isArray(body.aud) ? body.aud : [];
        if (!aud.some((a) => config.audiences!.includes(a as string))) return { active: false, reason: 'wrong_audience', message: 'wrong audience', claim: 'aud' };
      }
      const resolved = resolver.resolveClaims(body);
      if (!resolved) return { active: false, reason: 'unknown_consumer', message: 'no usable consumer claim, or not a known consumer' };
      if ('refused' in resolved) return { active: false, reason: 'unknown_consumer', message: NAMESPACE_REASON, namespace: true };
      return { active: true, identity: { consumer: resolved.consumer, credentialId: `introspection:${resolved.subject}`, scopes: scopesOf(body), claims: body } };
    };

    const introspect = async (token: string, digest: string): Promise<Answer> => {
      const form = new URLSearchParams({ token });
      if (config.token_type_hint) form.set('token_type_hint', config.token_type_hint);
      if (!clientAuth) {
        form.set('client_id', config.client_id);
        form.set('client_secret', config.client_secret);
      }
      const res = await callJson(await endpoint(), { method: 'POST', form, headers: clientAuth, timeoutMs, what: 'introspection endpoint', link });
      // 400: the provider will not look at this token (oidc-provider says so for JWTs); refuse it, uncached.
      if (res.status === 400) return { active: false, reason: 'introspection_refused', message: 'the provider refused to introspect the token (HTTP 400)' };
      if (res.status !== 200) {
        // 401/403: the gateway's own client credentials are refused; no caller can be checked.
        throw new DependencyUnavailableError('introspection endpoint', { cause: new Error(`HTTP ${res.status}`) });
      }
      const answer = interpret(res.body);
      if (cache) {
        const now = Date.now();
        const exp = answer.active && isObject(answer.identity.claims) && typeof answer.identity.claims.exp === 'number' ? answer.identity.claims.exp * 1000 : Infinity;
        cache.set(digest, answer, Math.min(now + ttlMs, exp), now);
      }
      return answer;
    };

    const settle = (ctx: RequestContext, answer: Answer, from: 'header' | 'cookie' | 'query'): Deny | undefined => {
      if (!answer.active) return answer.namespace ? refusals.namespace : refusals.invalid(answer.reason, answer.message, { claim: answer.claim });
      applyIdentity(ctx, answer.identity, 'oauth2-introspection');
      if (!config.keep_credential) source.strip(ctx, from);
      return undefined;
    };

    return {
      ...source.cookies(config.keep_credential),
      // The provider is the party: named by its issuer, or by its endpoint when only that is given.
      identityNamespaces: resolver.namespaces(config.issuer ?? config.endpoint!),
      claimsFrom: [config.issuer ?? config.endpoint!],
      onRequest(ctx) {
        const found = source.find(ctx);
        if (found.kind === 'missing') return refusals.missing;
        if (found.kind === 'malformed') return refusals.malformed;
        const digest = tokenDigest(found.token);
        const hit = cache?.get(digest);
        if (hit) return settle(ctx, hit, found.from);
        let pending = inflight.get(digest);
        if (!pending) {
          pending = introspect(found.token, digest).finally(() => inflight.delete(digest));
          inflight.set(digest, pending);
        }
        return pending.then((answer) => settle(ctx, answer, found.from));
      },
    };
  },
});

function formEncode(text: string): string {
  return encodeURIComponent(text).replace(/%20/g, '+');
}

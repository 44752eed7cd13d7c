/**
 * ldap-auth: HTTP Basic credentials checked by binding to an LDAP directory
 * (search with a service account, then bind as the user), over ldaps:// or
 * StartTLS. Successful binds are remembered briefly by a keyed digest; wrong
 * passwords are not, so the directory's own lockout still counts them. A
 * directory that does not answer follows the policy's fail mode.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { ConfigError } from '../../config/errors.js';
import { parseDuration } from '../../config/units.js';
import type { RequestContext } from '../../pipeline/context.js';
import { deny, type Deny } from '../../pipeline/decision.js';
import { MISSING_CREDENTIALS } from '../../pipeline/events.js';
import { definePolicy } from '../../pipeline/policy.js';
import { basicChallenge, parseBasic } from '../../identity/basic.js';
import { stringValues } from '../../identity/claims.js';
import { ConsumerResolver, NAMESPACE_EVENT, NAMESPACE_REASON, type ResolvedIdentity } from '../../identity/consumers.js';
import { BoundedCache } from '../../lib/bounded-cache.js';
import type { AuthReason } from '../../pipeline/events.js';
import { searchThenBind, tlsOptionsFor, type DirectorySettings } from './directory.js';
import { LdapAuthSchema } from './schema.js';

/** "(uid={username})" in a filter: the attribute the typed username is compared with. */
const FILTER_ATTRIBUTE = /\(([A-Za-z][A-Za-z0-9-]*)=\{username\}\)/;

export default definePolicy({
  name: 'ldap-auth',
  phase: 'authenticate',
  description: 'Authenticates callers by HTTP Basic credentials bound against an LDAP directory.',
  config: LdapAuthSchema,
  compile(config, deps) {
    const ldaps = config.url.startsWith('ldaps:');
    if (ldaps && config.start_tls) throw new ConfigError('start_tls is for ldap:// URLs; ldaps:// is TLS already', ['start_tls']);
    if (!ldaps && !config.start_tls && !config.allow_insecure) {
      throw new ConfigError('passwords would cross the network in clear: use ldaps://, start_tls: true, or (not advised) allow_insecure: true', ['url']);
    }
    if (!config.filter.includes('{username}')) throw new ConfigError('the filter must contain {username}', ['filter']);
    const usernameAttribute = config.username_attribute ?? FILTER_ATTRIBUTE.exec(config.filter)?.[1];
    if (usernameAttribute === undefined) {
      throw new ConfigError('name the attribute that holds the username (username_attribute): the filter compares {username} with none', ['filter']);
    }
    try {
      new URL(config.url);
    } catch {
      throw new ConfigError(`not a URL: ${JSON.stringify(config.url)}`, ['url']);
    }
    const settings: DirectorySettings = {
      url: config.url,
      startTls: config.start_tls,
      tls: tlsOptionsFor(config.url, config.tls.ca, config.tls.server_name),
      bindDn: config.bind_dn,
      bindPassword: config.bind_password,
      baseDn: config.base_dn,
      filter: config.filter,
      scope: config.scope,
      usernameAttribute,
      groupAttribute: config.group_attribute,
      timeoutMs: parseDuration(config.timeout),
    };
    const resolver = new ConsumerResolver(
      // The directory is the operator's: its usernames name configured consumers directly.
      { claim: 'sub', mapping: config.consumer.mapping, known_only: config.consumer.known_only, match_names: true, prefix: config.consumer.prefix },
      deps.consumers,
    );
    const challenge = { 'www-authenticate': basicChallenge(config.realm) };
    const missing = deny('unauthorized', { headers: challenge, event: { type: MISSING_CREDENTIALS, severity: 'low', message: 'no Basic credentials' } });
    const refuse = (type: 'auth.malformed_credentials' | 'auth.invalid_credentials' | typeof NAMESPACE_EVENT, message: string, reason?: AuthReason) =>
      deny('unauthorized', { headers: challenge, event: { type, severity: 'medium', reason, message: `ldap-auth: ${message}`, data: { method: 'ldap-auth' } } });
    const malformed = refuse('auth.malformed_credentials', 'malformed Basic credentials', 'malformed');
    const ttlMs = parseDuration(config.cache.ttl);
    const cache = config.cache.max_entries > 0 && ttlMs > 0 ? new BoundedCache<ResolvedIdentity>(config.cache.max_entries) : undefined;
    const cacheKey = randomBytes(32);
    const digest = (username: string, password: string) => createHmac('sha256', cacheKey).update(username).update('\0').update(password).digest('base64url');

    const accept = (ctx: RequestContext, identity: ResolvedIdentity): undefined => {
      ctx.authenticate(identity.consumer, `ldap:${identity.subject}`, 'ldap-auth');
      if (!config.keep_credential) ctx.removeUpstreamHeader('authorization');
      return undefined;
    };

    const check = async (ctx: RequestContext, username: string, password: string, key: string): Promise<Deny | undefined> => {
      const result = await searchThenBind(settings, username, password);
      if (!result.ok) return refuse('auth.invalid_credentials', result.reason, result.reason === 'wrong password' ? 'wrong_password' : 'unknown_user');
      // Named as the directory spells the user, never as typed: "ALICE" must not be a consumer apart from alice.
      const identity = resolver.resolveName(result.username, stringValues(result.groups));
      if (!identity) return refuse('auth.invalid_credentials', 'not a known consumer', 'unknown_consumer');
      if ('refused' in identity) return refuse(NAMESPACE_EVENT, NAMESPACE_REASON);
      cache?.set(key, identity, Date.now() + ttlMs);
      return accept(ctx, identity);
    };

    return {
      identityNamespaces: resolver.namespaces(config.url),
      onRequest(ctx) {
        const parsed = parseBasic(ctx.header('authorization'));
        if (parsed.kind === 'missing') return missing;
        if (parsed.kind === 'malformed') return malformed;
        const { username, password } = parsed.credentials;
        // An empty password is an LDAP "unauthenticated bind", which many directories accept: never send one.
        if (password === '') return refuse('auth.invalid_credentials', 'empty password', 'empty_password');
        const key = digest(username, password);
        const hit = cache?.get(key);
        if (hit) return accept(ctx, hit);
        return check(ctx, username, password, key);
      },
    };
  },
});

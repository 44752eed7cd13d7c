/**
 * oidc: browser sign-in with the authorization code flow and PKCE (S256)
 * against a provider found by discovery. state and nonce are checked; the
 * session lives in a sealed (encrypted and authenticated), HttpOnly, Secure,
 * SameSite cookie; tokens are refreshed before they expire when the provider
 * gave a refresh token; logout clears the session and goes through the
 * provider's end_session_endpoint. Requests that are not a browser navigation
 * (API clients) get 401, never a redirect: put a jwt policy on the same route
 * for their bearer tokens.
 *
 * The protocol (discovery, the authorization URL, the code exchange and the
 * ID token checks, refresh, revocation, the end-session URL) is
 * openid-client's, a certified relying party (provider.ts); the session, its
 * sealed cookie, its revocation at logout and the consumer binding are ours.
 *
 * The redirects and the callback are answered through the pipeline's refusal
 * path (deny with a 302), so they appear as info-level events.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as rp from 'openid-client';
import { ConfigError, formatPath } from '../../config/errors.js';
import { parseDuration } from '../../config/units.js';
import { type RequestContext } from '../../pipeline/context.js';
import { deny, type Deny } from '../../pipeline/decision.js';
import { MISSING_CREDENTIALS } from '../../pipeline/events.js';
import { definePolicy } from '../../pipeline/policy.js';
import { quote } from '../../identity/basic.js';
import { scopesOf } from '../../identity/claims.js';
import { ConsumerResolver } from '../../identity/consumers.js';
import { checkProviderUrl, isObject } from '../../identity/http.js';
import { warnPlainHttp } from '../../identity/issuers.js';
import { providerLink } from '../../identity/provider-link.js';
import { cookieValue, queryParam } from '../../identity/request-parts.js';
import { clearCookie, CookieSeal, setCookie } from './cookies.js';
import { Provider, ProtocolRefusal, sortError } from './provider.js';
import { OidcSchema } from './schema.js';

const LOGIN_TTL_SEC = 600;
/** Claims not worth keeping in the cookie: they only served the ID token check. */
const DROPPED_CLAIMS = ['aud', 'nonce', 'at_hash', 'c_hash', 'azp', 'iat', 'exp', 'nbf', 'jti', 'sid', 'auth_time', 'acr', 'amr'];

interface Session {
  /** A random id naming this sign-in, kept across refreshes; logout revokes it. */
  id: string;
  /** ID token claims kept for the consumer and for the claims policy. */
  claims: Record<string, unknown>;
  refreshToken: string | undefined;
  /** When the tokens expire (seconds). */
  tokensExpireAt: number;
  /** When the session ends whatever happens (seconds). */
  endsAt: number;
}

const b64url = (bytes: Buffer) => bytes.toString('base64url');
const nowSec = () => Math.floor(Date.now() / 1000);

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Why a sign-in callback failed (the auth.login_failed reasons of telemetry/event-types.ts). */
type LoginFailure = 'provider_error' | 'no_login' | 'state_mismatch' | 'code_exchange_refused' | 'invalid_id_token' | 'unknown_consumer';

export default definePolicy({
  name: 'oidc',
  phase: 'authenticate',
  description: 'Signs people in through an OpenID Connect provider (code flow with PKCE) and keeps a sealed session cookie.',
  config: OidcSchema,
  compile(config, deps) {
    const link = providerLink(config, deps.env, []);
    const issuerUrl = checkProviderUrl(config.issuer, ['issuer'], link.allowHttp);
    warnPlainHttp(issuerUrl, ['issuer'], deps.warn ?? ((path, message) => deps.logger.warn({ path: formatPath(path) }, message)));
    if (Buffer.byteLength(config.session.secret) < 32) throw new ConfigError('the session secret must be at least 32 bytes', ['session', 'secret']);
    if (!config.scopes.includes('openid')) throw new ConfigError('scopes must include "openid"', ['scopes']);
    const redirect = new URL(config.redirect_uri);
    const callbackPath = redirect.pathname;
    const timeoutMs = parseDuration(config.timeout);
    const skewSec = parseDuration(config.clock_skew) / 1000;
    const sessionTtlSec = parseDuration(config.session.ttl) / 1000;
    const refreshBeforeSec = parseDuration(config.session.refresh_before) / 1000;
    const sameSite = config.session.same_site === 'strict' ? 'Strict' : 'Lax';
    const cookieName = config.session.cookie;
    const loginCookie = `${cookieName}-login`;
    const cookiePath = config.session.path;
    if (cookieName.startsWith('__Host-') && cookiePath !== '/') {
      throw new ConfigError('a __Host- cookie must have Path=/ (browsers drop it otherwise): name the cookie without the __Host- prefix to give it a path', ['session', 'path']);
    }
    if (!callbackPathUnder(new URL(config.redirect_uri).pathname, cookiePath)) {
      throw new ConfigError(`the redirect_uri path is not under ${cookiePath}: the browser would not send the sign-in cookie back to the callback`, ['session', 'path']);
    }
    /** Sessions ended by logout, by session id, until they would have expired anyway. */
    const revoked = deps.stores.secure.values('oidc:revoked');
    // Sealed for this client of this provider: another oidc policy sharing the secret cannot open them.
    const client = { issuer: config.issuer, clientId: config.client_id };
    const sessions = new CookieSeal(config.session.secret, 'session', client);
    const logins = new CookieSeal(config.session.secret, 'login', client);
    const provider = new Provider(
      {
        issuer: config.issuer,
        clientId: config.client_id,
        clientSecret: config.client_secret,
        timeoutMs,
        clockSkewSec: skewSec,
        algorithms: config.id_token_algorithms,
        link,
      },
      deps.logger,
    );
    const resolver = new ConsumerResolver(config.consumer, deps.consumers);
    /** Set-Cookie headers to add to the response of a request whose session was refreshed. */
    const pendingCookies = new WeakMap<RequestContext, string[]>();
    /** One refresh per refresh token at a time: providers that rotate them revoke the grant on reuse. */
    const refreshing = new Map<string, Promise<Session | undefined>>();

    const missing = deny('unauthorized', {
      headers: { 'www-authenticate': `Bearer realm=${quote(config.realm)}` },
      event: { type: MISSING_CREDENTIALS, severity: 'low', message: 'oidc: no session' },
    });
    const loginFailed = (reason: LoginFailure, message: string, cookies: string[] = [clearCookie(loginCookie, cookiePath)]) =>
      deny('login_failed', { headers: { 'set-cookie': cookies }, event: { type: 'auth.login_failed', severity: 'medium', reason, message: `oidc: ${message}` } });

    /**
     * A session from a token endpoint answer, whose ID token openid-client has
     * validated (signature, iss, aud, azp, exp, iat, and the nonce on login).
     */
    const sessionFrom = (tokens: rp.TokenEndpointResponse & rp.TokenEndpointResponseHelpers, previous: Session | undefined): Session | string => {
      let claims = previous?.claims;
      let idExp: number | undefined;
      const payload = tokens.claims();
      if (payload) {
        provider.checkAlgorithm(tokens.id_token);
        if (previous && payload.sub !== previous.claims.sub) return 'the refreshed ID token is for another subject';
        claims = keptClaims(payload);
        idExp = payload.exp;
      }
      if (!claims) return 'no ID token';
      const expiresIn = tokens.expiresIn();
      const tokensExpireAt = expiresIn !== undefined ? nowSec() + expiresIn : (idExp ?? nowSec() + 300);
      const refreshToken = typeof tokens.refresh_token === 'string' ? tokens.refresh_token : previous?.refreshToken;
      return { id: previous?.id ?? b64url(randomBytes(18)), claims, refreshToken, tokensExpireAt, endsAt: previous?.endsAt ?? nowSec() + sessionTtlSec };
    };

    const sessionCookie = async (session: Session): Promise<string> => {
      const value = await sessions.seal({ si: session.id, cl: session.claims, rt: session.refreshToken, te: session.tokensExpireAt }, session.endsAt);
      if (value.length > 3800) deps.logger.warn({ bytes: value.length }, 'oidc session cookie is near the 4 KiB browsers keep; ask for fewer claims');
      return setCookie(cookieName, value, { maxAgeSec: session.endsAt - nowSec(), sameSite, path: cookiePath });
    };

    const readSession = async (value: string): Promise<Session | undefined> => {
      const payload = await sessions.open(value);
      // A cookie sealed before sessions had ids cannot be revoked: it is no session.
      if (!payload || typeof payload.si !== 'string' || !isObject(payload.cl) || typeof payload.te !== 'number' || typeof payload.exp !== 'number') return undefined;
      if ((await revoked.get(payload.si)) !== undefined) return undefined;
      return { id: payload.si, claims: payload.cl, refreshToken: typeof payload.rt === 'string' ? payload.rt : undefined, tokensExpireAt: payload.te, endsAt: payload.exp };
    };

    const refresh = (session: Session): Promise<Session | undefined> => {
      const key = createHash('sha256').update(session.refreshToken!).digest('base64url');
      let pending = refreshing.get(key);
      if (!pending) {
        pending = (async () => {
          let next: Session | string;
          try {
            next = sessionFrom(await rp.refreshTokenGrant(await provider.config(), session.refreshToken!), session);
          } catch (err) {
            const sorted = sortError(err, 'token endpoint');
            if (!(sorted instanceof ProtocolRefusal)) throw sorted;
            next = sorted.message;
          }
          if (typeof next === 'string') {
            deps.logger.info({ error: next.slice(0, 200) }, 'oidc refresh refused; the session ends');
            return undefined;
          }
          return next;
        })().finally(() => setTimeout(() => refreshing.delete(key), 5000).unref());
        refreshing.set(key, pending);
      }
      return pending;
    };

    const startLogin = async (ctx: RequestContext): Promise<Deny> => {
      const configuration = await provider.config();
      const state = rp.randomState();
      const nonce = rp.randomNonce();
      const verifier = rp.randomPKCECodeVerifier();
      const returnTo = ctx.query === '' ? ctx.path : `${ctx.path}?${ctx.query}`;
      const sealed = await logins.seal({ st: state, n: nonce, v: verifier, r: returnTo }, nowSec() + LOGIN_TTL_SEC);
      const parameters: Record<string, string> = {
        redirect_uri: config.redirect_uri,
        scope: config.scopes.join(' '),
        state,
        nonce,
        code_challenge: await rp.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      };
      if (config.scopes.includes('offline_access')) parameters.prompt = 'consent';
      let url: URL;
      try {
        url = rp.buildAuthorizationUrl(configuration, parameters);
      } catch (err) {
        throw sortError(err, 'authorization endpoint');
      }
      return deny('login_required', {
        headers: { location: url.href, 'set-cookie': [setCookie(loginCookie, sealed, { maxAgeSec: LOGIN_TTL_SEC, sameSite: 'Lax', path: cookiePath })] },
        event: { type: 'auth.login_redirect', severity: 'info', message: 'oidc: sign-in started' },
      });
    };

    const finishLogin = async (ctx: RequestContext): Promise<Deny> => {
      const error = queryParam(ctx.query, 'error');
      if (error !== undefined) return loginFailed('provider_error', `the provider answered ${error.slice(0, 64)}`);
      const code = queryParam(ctx.query, 'code');
      const state = queryParam(ctx.query, 'state');
      const sealed = cookieValue(ctx.header('cookie'), loginCookie);
      const login = sealed ? await logins.open(sealed) : undefined;
      if (!code || !state || !login || typeof login.st !== 'string' || typeof login.n !== 'string' || typeof login.v !== 'string') {
        return loginFailed('no_login', 'no sign-in in progress, or it expired');
      }
      // Compared here in constant time, and again by openid-client with the rest of the response.
      if (!sameText(state, login.st)) return loginFailed('state_mismatch', 'state mismatch');
      // The callback as the provider sent it; openid-client checks state, RFC 9207 iss (mix-up attacks),
      // exchanges the code with the PKCE verifier and validates the ID token with its nonce.
      const callback = new URL(config.redirect_uri);
      callback.search = ctx.query;
      let session: Session | string;
      try {
        const tokens = await rp.authorizationCodeGrant(await provider.config(), callback, {
          pkceCodeVerifier: login.v,
          expectedState: login.st,
          expectedNonce: login.n,
          idTokenExpected: true,
        });
        session = sessionFrom(tokens, undefined);
      } catch (err) {
        const sorted = sortError(err, 'token endpoint');
        if (!(sorted instanceof ProtocolRefusal)) throw sorted;
        return loginFailed('code_exchange_refused', `code exchange refused: ${sorted.message.slice(0, 64)}`);
      }
      if (typeof session === 'string') return loginFailed('invalid_id_token', session);
      if (!resolver.fromClaims(session.claims)) return loginFailed('unknown_consumer', 'no usable consumer claim, or not a known consumer');
      const returnTo = typeof login.r === 'string' && login.r.startsWith('/') && !login.r.startsWith('//') ? login.r : '/';
      return deny('redirect', {
        headers: { location: returnTo, 'set-cookie': [await sessionCookie(session), clearCookie(loginCookie, cookiePath)] },
        event: { type: 'auth.login_complete', severity: 'info', message: 'oidc: signed in' },
      });
    };

    const logout = async (ctx: RequestContext): Promise<Deny> => {
      // Revoked, not only cleared: a copy of the cookie (kept by an upstream, a proxy, a shared machine) ends with it.
      const value = cookieValue(ctx.header('cookie'), cookieName);
      const session = value === undefined ? undefined : await readSession(value);
      if (session) await revoked.set(session.id, '1', Math.max(1, session.endsAt - nowSec() + skewSec) * 1000);
      let location = config.post_logout_redirect_uri ?? '/';
      const configuration = await provider.config().catch(() => undefined);
      const metadata = configuration?.serverMetadata();
      // The grant ends at the provider too (RFC 7009); best effort, the browser is not kept waiting on a failure.
      if (configuration && session?.refreshToken && metadata?.revocation_endpoint) {
        await rp
          .tokenRevocation(configuration, session.refreshToken, { token_type_hint: 'refresh_token' })
          .catch((err: unknown) => deps.logger.info({ err: (err as Error).message }, 'oidc refresh token revocation failed'));
      }
      if (configuration && metadata?.end_session_endpoint) {
        const parameters: Record<string, string> = { client_id: config.client_id };
        if (config.post_logout_redirect_uri) parameters.post_logout_redirect_uri = config.post_logout_redirect_uri;
        location = rp.buildEndSessionUrl(configuration, parameters).href;
      }
      return deny('redirect', {
        headers: { location, 'set-cookie': [clearCookie(cookieName, cookiePath)] },
        event: { type: 'auth.logout', severity: 'info', message: 'oidc: signed out' },
      });
    };

    const isNavigation = (ctx: RequestContext): boolean =>
      (ctx.method === 'GET' || ctx.method === 'HEAD') &&
      ctx.header('authorization') === undefined &&
      (ctx.header('sec-fetch-mode') === 'navigate' || (ctx.header('accept') ?? '').includes('text/html'));

    const withSession = async (ctx: RequestContext, value: string): Promise<Deny | undefined> => {
      let session = await readSession(value);
      const now = nowSec();
      let cookies: string[] | undefined;
      if (session && session.tokensExpireAt - now <= refreshBeforeSec && session.refreshToken) {
        const refreshed = await refresh(session).catch((err: unknown) => {
          // The provider is down: keep serving until the tokens expire, then fail as configured.
          if (session!.tokensExpireAt > now) return session;
          throw err;
        });
        if (refreshed && refreshed !== session) cookies = [await sessionCookie(refreshed)];
        session = refreshed;
      }
      if (!session || session.tokensExpireAt + skewSec <= now) {
        const answer = isNavigation(ctx) ? await startLogin(ctx) : missing;
        const cleared = { ...answer, headers: { ...answer.headers, 'set-cookie': [clearCookie(cookieName, cookiePath), ...toList(answer.headers?.['set-cookie'])] } };
        return cleared;
      }
      const resolved = resolver.fromClaims(session.claims);
      if (!resolved) return missing;
      ctx.authenticate(resolved.consumer, `oidc:${resolved.subject}`, 'oidc', scopesOf(session.claims), session.claims);
      ctx.removeUpstreamCookie(cookieName);
      if (cookies) pendingCookies.set(ctx, cookies);
      return undefined;
    };

    return {
      // No upstream of any route sees these: a public route's upstream could replay the session.
      ownedCookies: [cookieName, loginCookie],
      identityNamespaces: resolver.namespaces(config.issuer),
      claimsFrom: [config.issuer],
      async ready() {
        await provider.config().catch(() => undefined);
      },
      readiness: () => (provider.reached() ? undefined : `oidc: discovery of ${config.issuer} not done yet`),
      onRequest(ctx) {
        if (ctx.path === callbackPath && ctx.method === 'GET') return finishLogin(ctx);
        if (config.logout_path !== undefined && ctx.path === config.logout_path) return logout(ctx);
        const value = cookieValue(ctx.header('cookie'), cookieName);
        if (value !== undefined) return withSession(ctx, value);
        return isNavigation(ctx) ? startLogin(ctx) : missing;
      },
      onResponse(ctx) {
        const cookies = pendingCookies.get(ctx);
        if (!cookies) return;
        const headers = ctx.response.headers;
        headers['set-cookie'] = [...toList(headers['set-cookie']), ...cookies];
      },
    };
  },
});

function keptClaims(payload: rp.IDToken): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(payload)) if (!DROPPED_CLAIMS.includes(key)) out[key] = value;
  return out;
}

function toList(value: string | number | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? [...(value as string[])] : [String(value)];
}

/** Is `path` at or under the cookie path `under` (RFC 6265 §5.1.4 path-match)? */
function callbackPathUnder(path: string, under: string): boolean {
  return under === '/' || path === under || path.startsWith(under.endsWith('/') ? under : `${under}/`);
}

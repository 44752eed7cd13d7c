import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { send, startGateway, type TestGateway } from '../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../test/helpers/upstream.js';
import { API_RESOURCE, startIdp, type TestIdp } from '../../../test/helpers/idp.js';
import { compilePolicy, decide, requestContext } from '../../../test/helpers/policy.js';
import { DependencyUnavailableError } from '../../errors.js';
import type { ConfigError } from '../../config/errors.js';
import type { AnyPolicyDefinition } from '../../pipeline/policy.js';
import oidc from './index.js';

const WEB = { client_id: 'web', client_secret: 'web-client-secret-for-the-tests' };
/** A second application at the same provider, behind the same gateway, with the same session secret. */
const OTHER = { client_id: 'other', client_secret: 'other-client-secret-for-the-tests' };
const SESSION_SECRET = 'a-session-secret-of-at-least-32-bytes!!';
const SESSION = '__Host-portcullis-session';

interface Hop {
  status: number;
  location: string | undefined;
  setCookies: string[];
  body: string;
}

/** One request, no redirect following: the test walks the flow hop by hop as a browser would. */
async function hop(url: string, options: { method?: 'GET' | 'POST'; cookies?: Map<string, string>; form?: Record<string, string>; accept?: string } = {}): Promise<Hop> {
  const headers: Record<string, string> = { accept: options.accept ?? 'text/html' };
  if (options.cookies && options.cookies.size > 0) headers.cookie = [...options.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  let body: string | undefined;
  if (options.form) {
    body = new URLSearchParams(options.form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  const res = await request(url, { method: options.method ?? 'GET', headers, body });
  const raw = res.headers['set-cookie'];
  const setCookies = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  const location = res.headers.location as string | undefined;
  return { status: res.statusCode, location: location ? new URL(location, url).href : undefined, setCookies, body: await res.body.text() };
}

/** Applies Set-Cookie lines to a jar (name → value); Max-Age=0 deletes. */
function store(jar: Map<string, string>, setCookies: string[]): void {
  for (const line of setCookies) {
    const [pair] = line.split(';');
    const eq = pair!.indexOf('=');
    const name = pair!.slice(0, eq).trim();
    if (/max-age=0/i.test(line) || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(name);
    else jar.set(name, pair!.slice(eq + 1));
  }
}

describe('oidc browser sign-in against oidc-provider', () => {
  let upstream: TestUpstream;
  let idp: TestIdp;
  let gw: TestGateway;
  /** The gateway's cookies, as the browser keeps them. */
  const browser = new Map<string, string>();

  /** Drives the provider's login and consent pages until it sends the browser back to the gateway. */
  async function signInAtProvider(authorizeUrl: string, login: string): Promise<string> {
    const jar = new Map<string, string>();
    let next: string | undefined = authorizeUrl;
    for (let i = 0; i < 12 && next; i++) {
      if (next.startsWith(gw.url)) return next;
      const page = await hop(next, { cookies: jar });
      store(jar, page.setCookies);
      if (page.status === 200 && page.body.includes('name="prompt" value="login"')) {
        const post = await hop(next, { method: 'POST', cookies: jar, form: { prompt: 'login', login, password: 'any' } });
        store(jar, post.setCookies);
        next = post.location;
      } else if (page.status === 200 && page.body.includes('name="prompt" value="consent"')) {
        const post = await hop(next, { method: 'POST', cookies: jar, form: { prompt: 'consent' } });
        store(jar, post.setCookies);
        next = post.location;
      } else {
        assert.ok(page.location, `the provider stopped at ${next}: ${page.status} ${page.body.slice(0, 200)}`);
        next = page.location;
      }
    }
    assert.fail('the provider never sent the browser back');
  }

  /** Starts at a protected page and ends with a session cookie in the browser jar. */
  async function signIn(path: string, login = 'alice'): Promise<Hop> {
    const start = await hop(`${gw.url}${path}`, { cookies: browser });
    assert.equal(start.status, 302);
    store(browser, start.setCookies);
    const callback = await signInAtProvider(start.location!, login);
    const done = await hop(callback, { cookies: browser });
    store(browser, done.setCookies);
    return done;
  }

  before(async () => {
    upstream = await startUpstream();
    // The gateway's port must be known to register the redirect URI: start it, then load the real config by reload.
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: placeholder, service: echo, public: true }]
`);
    idp = await startIdp({
      accessTokenTtl: 30,
      clients: [
        {
          ...WEB,
          redirect_uris: [`${gw.url}/app/callback`],
          post_logout_redirect_uris: [`${gw.url}/bye`],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
        },
        { ...OTHER, redirect_uris: [`${gw.url}/other/callback`], grant_types: ['authorization_code'], response_types: ['code'] },
      ],
    });
    const reloaded = await gw.reload(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: app
    service: echo
    match: { paths: [/app] }
    policies:
      - oidc:
          issuer: "${idp.issuer}"
          client_id: ${WEB.client_id}
          client_secret: ${WEB.client_secret}
          redirect_uri: "${gw.url}/app/callback"
          scopes: [openid, email, groups, offline_access]
          logout_path: /app/logout
          post_logout_redirect_uri: "${gw.url}/bye"
          session: { secret: "${SESSION_SECRET}", refresh_before: 60s }
          consumer: { groups_claim: groups }
      - jwt: { issuers: [{ issuer: "${idp.issuer}", discovery: true, algorithms: [RS256], audiences: ["${API_RESOURCE}"] }], consumer: { claim: [sub, client_id] } }
  - name: other
    service: echo
    match: { paths: [/other] }
    policies:
      - oidc:
          issuer: "${idp.issuer}"
          client_id: ${OTHER.client_id}
          client_secret: ${OTHER.client_secret}
          redirect_uri: "${gw.url}/other/callback"
          session: { secret: "${SESSION_SECRET}", refresh_before: 1s }
  - name: scoped
    service: echo
    match: { paths: [/scoped] }
    policies:
      - oidc:
          issuer: "${idp.issuer}"
          client_id: ${OTHER.client_id}
          client_secret: ${OTHER.client_secret}
          redirect_uri: "${gw.url}/scoped/callback"
          session: { secret: "${SESSION_SECRET}", cookie: scoped-session, path: /scoped }
  - { name: bye, service: echo, public: true, match: { paths: [/bye] } }
  - { name: public-api, service: echo, public: true, match: { paths: [/public] } }
`);
    assert.deepEqual(reloaded, { ok: true, version: 2 });
  });
  after(async () => {
    await gw.close();
    await idp.close();
    await upstream.close();
  });

  it('sends a browser without a session to the provider with PKCE, state and nonce', async () => {
    const res = await hop(`${gw.url}/app/page`);
    assert.equal(res.status, 302);
    const url = new URL(res.location!);
    assert.equal(url.origin + url.pathname, `${idp.issuer}/auth`);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.match(url.searchParams.get('code_challenge')!, /^[A-Za-z0-9_-]{43}$/);
    assert.match(url.searchParams.get('state')!, /^[A-Za-z0-9_-]{43}$/);
    assert.match(url.searchParams.get('nonce')!, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(url.searchParams.get('redirect_uri'), `${gw.url}/app/callback`);
    assert.match(res.setCookies[0]!, /^__Host-portcullis-session-login=[^;]+; Path=\/; Max-Age=600; HttpOnly; Secure; SameSite=Lax$/);
  });

  it('answers an API client without credentials with 401, not a redirect', async () => {
    const res = await send(gw.url, '/app/data', { headers: { accept: 'application/json' } });
    assert.equal(res.status, 401);
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="portcullis"');
  });

  it('signs a person in through the provider\'s login and consent and returns to the page asked for', async () => {
    const done = await signIn('/app/page?tab=2');
    assert.equal(done.status, 302);
    assert.equal(done.location, `${gw.url}/app/page?tab=2`);
    const session = done.setCookies.find((c) => c.startsWith(`${SESSION}=`))!;
    assert.match(session, /; Path=\/; Max-Age=\d+; HttpOnly; Secure; SameSite=Lax$/);
    assert.ok(!browser.has(`${SESSION}-login`), 'the login cookie is cleared');
    // The cookie is sealed: five JWE parts, nothing readable in it.
    assert.equal(browser.get(SESSION)!.split('.').length, 5);
    assert.ok(!Buffer.from(browser.get(SESSION)!.split('.')[3]!, 'base64url').toString().includes('alice'));
  });

  it('refreshes the tokens before they expire and sends the renewed cookie', async () => {
    // Access tokens live 30 s and refresh_before is 60 s: the next request refreshes.
    const refreshes = idp.hits.filter((h) => h === '/token').length;
    const res = await hop(`${gw.url}/app/again`, { cookies: browser });
    assert.equal(res.status, 200);
    assert.equal(idp.hits.filter((h) => h === '/token').length, refreshes + 1);
    const renewed = res.setCookies.find((c) => c.startsWith(`${SESSION}=`));
    assert.ok(renewed, 'a renewed session cookie');
    const before = browser.get(SESSION);
    store(browser, res.setCookies);
    assert.notEqual(browser.get(SESSION), before);
    // The renewed session works, and a burst of requests does not refresh again.
    assert.equal((await hop(`${gw.url}/app/after-refresh`, { cookies: browser })).status, 200);
    assert.equal(idp.hits.filter((h) => h === '/token').length, refreshes + 1);
  });

  it('lets the signed-in browser through as its consumer, keeping the session cookie from the upstream', async () => {
    browser.set('theme', 'dark');
    const res = await hop(`${gw.url}/app/page?tab=2`, { cookies: browser });
    assert.equal(res.status, 200);
    store(browser, res.setCookies);
    const seen = JSON.parse(res.body);
    assert.equal(seen.headers['x-consumer-name'], 'alice');
    assert.equal(seen.headers['x-consumer-groups'], 'staff,admins');
    assert.equal(seen.headers.cookie, 'theme=dark');
  });

  it('strips the session and sign-in cookies on every route, public ones too, so no other upstream can replay them', async () => {
    const cookies = new Map([...browser, [`${SESSION}-login`, 'x'], ['scoped-session', 'y'], ['lang', 'en']]);
    for (const path of ['/public/page', '/bye']) {
      const res = await hop(`${gw.url}${path}`, { cookies });
      assert.equal(res.status, 200);
      assert.equal(JSON.parse(res.body).headers.cookie, 'theme=dark; lang=en', path);
    }
    const onlySession = await hop(`${gw.url}/public/page`, { cookies: new Map([[SESSION, browser.get(SESSION)!]]) });
    assert.equal(JSON.parse(onlySession.body).headers.cookie, undefined);
  });

  it('sets the session cookies on the configured path', async () => {
    const res = await hop(`${gw.url}/scoped/page`);
    assert.equal(res.status, 302);
    const login = res.setCookies.find((c) => c.startsWith('scoped-session-login='));
    assert.match(login ?? '', /; Path=\/scoped;/);
  });

  it('does not take a session signed in through another client as its own, even with the same secret', async () => {
    // The provider decides per client who may sign in; a session it granted for "web" says nothing about "other".
    const before = upstream.seen.length;
    const res = await hop(`${gw.url}/other/page`, { cookies: browser });
    assert.equal(res.status, 302);
    assert.equal(new URL(res.location!).searchParams.get('client_id'), OTHER.client_id);
    assert.equal(upstream.seen.length, before);
  });

  it('refuses a tampered session cookie and starts over', async () => {
    const value = browser.get(SESSION)!;
    const parts = value.split('.');
    parts[3] = parts[3]!.slice(0, -2) + (parts[3]!.endsWith('AA') ? 'BB' : 'AA');
    const tampered = new Map([[SESSION, parts.join('.')]]);
    const before = upstream.seen.length;
    const res = await hop(`${gw.url}/app/page`, { cookies: tampered });
    assert.equal(res.status, 302);
    assert.ok(res.location!.startsWith(`${idp.issuer}/auth`));
    const api = await hop(`${gw.url}/app/page`, { cookies: tampered, accept: 'application/json' });
    assert.equal(api.status, 401);
    assert.equal(upstream.seen.length, before);
  });

  it('refuses a callback whose state does not match the sign-in in progress', async () => {
    const start = await hop(`${gw.url}/app/x`);
    const login = new Map<string, string>();
    store(login, start.setCookies);
    const res = await hop(`${gw.url}/app/callback?code=stolen-code&state=forged-state`, { cookies: login });
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.body).error.code, 'login_failed');
    const noLogin = await hop(`${gw.url}/app/callback?code=x&state=y`);
    assert.equal(noLogin.status, 400);
  });

  it('refuses a callback naming another issuer (RFC 9207 mix-up) before any code exchange, and a forged code at the exchange', async () => {
    const start = await hop(`${gw.url}/app/x`);
    const login = new Map<string, string>();
    store(login, start.setCookies);
    const state = new URL(start.location!).searchParams.get('state')!;
    const exchanges = idp.hits.filter((h) => h === '/token').length;
    const mixUp = await hop(`${gw.url}/app/callback?code=a-code&state=${state}&iss=${encodeURIComponent('https://evil.example')}`, { cookies: login });
    assert.equal(mixUp.status, 400);
    assert.equal(JSON.parse(mixUp.body).error.code, 'login_failed');
    assert.equal(idp.hits.filter((h) => h === '/token').length, exchanges, 'no code exchange for a mix-up');
    const forged = await hop(`${gw.url}/app/callback?code=forged-code&state=${state}&iss=${encodeURIComponent(idp.issuer)}`, { cookies: login });
    assert.equal(forged.status, 400);
    assert.equal(JSON.parse(forged.body).error.code, 'login_failed');
    assert.equal(idp.hits.filter((h) => h === '/token').length, exchanges + 1, 'the provider refused the code');
  });

  it('keeps serving API clients with bearer tokens on the same route', async () => {
    const token = await idp.token();
    const res = await send(gw.url, '/app/data', { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
    assert.equal(res.status, 200);
    assert.equal(res.json().headers['x-consumer-name'], 'svc');
  });

  it('logs out: the session cookie is cleared and the browser goes to the provider\'s end_session_endpoint', async () => {
    const kept = new Map([[SESSION, browser.get(SESSION)!]]);
    assert.equal((await hop(`${gw.url}/app/page`, { cookies: kept, accept: 'application/json' })).status, 200);
    const revocations = idp.hits.filter((h) => h.startsWith('/token/revocation')).length;
    const res = await hop(`${gw.url}/app/logout`, { cookies: browser });
    assert.equal(idp.hits.filter((h) => h.startsWith('/token/revocation')).length, revocations + 1, 'the refresh token is revoked at the provider');
    assert.equal(res.status, 302);
    const url = new URL(res.location!);
    assert.equal(url.origin + url.pathname, `${idp.issuer}/session/end`);
    assert.equal(url.searchParams.get('client_id'), WEB.client_id);
    assert.equal(url.searchParams.get('post_logout_redirect_uri'), `${gw.url}/bye`);
    assert.ok(res.setCookies.some((c) => c.startsWith(`${SESSION}=;`) && c.includes('Max-Age=0')));
    store(browser, res.setCookies);
    assert.equal((await hop(`${gw.url}/app/page`, { cookies: browser })).status, 302);
    // A copy of the cookie taken before logout (by an upstream, a proxy, a stolen laptop) is revoked with it.
    const before = upstream.seen.length;
    assert.equal((await hop(`${gw.url}/app/page`, { cookies: kept, accept: 'application/json' })).status, 401);
    assert.equal((await hop(`${gw.url}/app/page`, { cookies: kept })).status, 302);
    assert.equal(upstream.seen.length, before);
  });
});

describe('oidc cookie path settings', () => {
  const settings = (session: Record<string, unknown>, redirect = 'https://app.example.com/app/callback') => ({
    issuer: 'https://login.example.com',
    client_id: 'web',
    client_secret: 'web-client-secret-for-the-tests',
    redirect_uri: redirect,
    session: { secret: SESSION_SECRET, ...session },
  });
  const refusal = (config: Record<string, unknown>) => {
    try {
      compilePolicy(oidc as unknown as AnyPolicyDefinition, config);
    } catch (err) {
      return `${(err as ConfigError).path.join('.')}: ${(err as Error).message}`;
    }
    return 'accepted';
  };

  it('refuses a path for a __Host- cookie, and a path the callback is not under', () => {
    assert.match(refusal(settings({ path: '/app' })), /^session\.path: a __Host- cookie must have Path=\/ .*without the __Host- prefix/);
    assert.match(refusal(settings({ cookie: 'app-session', path: '/other' })), /^session\.path: the redirect_uri path is not under \/other/);
    assert.match(refusal(settings({ cookie: 'app-session', path: '/ap' })), /^session\.path: the redirect_uri path is not under \/ap/);
    assert.equal(refusal(settings({ cookie: 'app-session', path: '/app' })), 'accepted');
  });
});

describe('oidc with its provider out of reach', () => {
  it('fails as unavailable (503 when closed), not as a refused sign-in', async () => {
    const instance = compilePolicy(oidc as unknown as AnyPolicyDefinition, {
      issuer: 'http://127.0.0.1:9',
      client_id: 'web',
      client_secret: 'web-client-secret-for-the-tests',
      redirect_uri: 'https://app.example.com/app/callback',
      session: { secret: SESSION_SECRET },
      timeout: '2s',
    });
    await assert.rejects(decide(instance, requestContext({ path: '/app/page', headers: { accept: 'text/html' } })), DependencyUnavailableError);
  });
});

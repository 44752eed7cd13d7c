import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkShadowedRoutes, guardKey, literalStart } from './shadow.js';
import type { RouteConfig } from '../config/schema.js';

type Match = { paths?: string[]; hosts?: string[]; methods?: string[] };

/**
 * The messages for routes given as [name, guards, match, service]: guards
 * true is key-auth, or a list of policy entries ({ name: settings }).
 */
function check(...routes: Array<[string, boolean | Array<Record<string, unknown>>, Match, string?]>): string[] {
  const out: string[] = [];
  checkShadowedRoutes(
    routes.map(([name, guarded, match, service], index) => {
      const entries = guarded === true ? [{ 'key-auth': {} }] : guarded === false ? [] : guarded;
      const guards = new Map(entries.map((e) => Object.entries(e)[0]!).map(([n, v]) => [guardKey(n, v), n] as [string, string]));
      return { route: { name, match, service: service ?? 'app' } as unknown as RouteConfig, index, guards };
    }),
    (path, message) => out.push(`${path.join('.')}: ${message}`),
  );
  return out;
}

describe('protected regex routes shadowed by public routes', () => {
  it('reads the literal start of an anchored regex', () => {
    assert.equal(literalStart('^/v[0-9]+/private'), '/v');
    assert.equal(literalStart('^/api/v1\\.0/x$'), '/api/v1.0/x');
    assert.equal(literalStart('^/items?/x'), '/item');
    assert.equal(literalStart('^/a|/b'), undefined, 'an alternation may be unanchored');
    assert.equal(literalStart('^/a\\|b'), '/a|b', 'an escaped bar is literal');
    assert.equal(literalStart('^/a\\d'), '/a');
    assert.equal(literalStart('/private$'), undefined);
  });

  it('refuses a public prefix or exact path that takes requests a protected regex was written for', () => {
    const [root] = check(['root', false, { paths: ['/'] }], ['private', true, { paths: ['~ ^/v[0-9]+/private'] }]);
    assert.match(root!, /^routes\.1\.match\.paths\.0: route "private" is protected \(key-auth\), but the route "root" \(without key-auth, path "\/"\)/);
    assert.match(root!, /exact and prefix paths are tried before regular expressions/);
    assert.equal(check(['v1', false, { paths: ['/v1'] }], ['private', true, { paths: ['~ ^/v[0-9]+/private'] }]).length, 1, 'a prefix the regex may continue');
    assert.equal(check(['v', false, { paths: ['/v2/private'] }], ['private', true, { paths: ['~ ^/v[0-9]+/private'] }]).length, 1, 'a prefix inside the regex');
    assert.equal(check(['exact', false, { paths: ['= /v3/private'] }], ['private', true, { paths: ['~ ^/v[0-9]+/private'] }]).length, 1, 'an exact path it matches');
    assert.equal(check(['docs', false, { paths: ['/docs'] }], ['json', true, { paths: ['~ \\.json$'] }]).length, 1, 'an unanchored regex');
    assert.equal(check(['root', false, { hosts: ['API.example.com'] }], ['private', true, { hosts: ['api.example.com'], paths: ['~ ^/private'] }]).length, 1, 'the same host');
    assert.equal(check(['get', false, { paths: ['/'], methods: ['GET'] }], ['head', true, { paths: ['~ ^/x'], methods: ['HEAD'] }]).length, 1, 'HEAD goes with GET');
  });

  it('accepts routes that cannot take the same request', () => {
    const regex: [string, boolean, Match] = ['private', true, { paths: ['~ ^/v[0-9]+/private'] }];
    assert.deepEqual(check(['docs', false, { paths: ['/docs'] }], regex), [], 'another prefix');
    assert.deepEqual(check(['other', false, { paths: ['/vx'] }], ['private', true, { paths: ['~ ^/v1/private'] }]), [], 'a prefix off the segment boundary');
    assert.deepEqual(check(['exact', false, { paths: ['= /v1/public'] }], regex), [], 'an exact path it does not match');
    assert.deepEqual(check(['read', false, { paths: ['/'], methods: ['GET'] }], ['write', true, { paths: ['~ ^/v1'], methods: ['POST'] }]), [], 'other methods');
    assert.deepEqual(check(['host', false, { paths: ['/'], hosts: ['docs.example.com'] }, 'docs'], regex), [], 'a host route for another service');
    assert.deepEqual(check(['any', false, { paths: ['/'] }], ['private', true, { hosts: ['api.example.com'], paths: ['~ ^/private'] }]), [], 'a host route is tried first');
    assert.deepEqual(check(['both', true, { paths: ['/'] }], regex), [], 'both protected');
    assert.deepEqual(check(regex, ['public-regex', false, { paths: ['~ ^/v1'] }]), [], 'a regex after the protected one');
    assert.deepEqual(check(['v1-public', false, { paths: ['~ ^/v1/public'] }], ['private', true, { paths: ['~ ^/v1/private'] }]), [], 'regexes with different literal starts');
    assert.deepEqual(check(['same', [{ 'ip-restriction': { allow: ['10.0.0.0/8'] } }], { paths: ['/'] }], ['internal', [{ 'ip-restriction': { allow: ['10.0.0.0/8'] } }], { paths: ['~ ^/internal'] }]), [], 'the same guard');
  });

  it('counts every access-control policy as protection, not only authentication', () => {
    const ip = [{ 'ip-restriction': { allow: ['10.0.0.0/8'] } }];
    const [shadowed] = check(['site', false, { paths: ['/'] }], ['internal', ip, { paths: ['~ ^/v[0-9]+/internal/'] }]);
    assert.match(shadowed!, /^routes\.1\.match\.paths\.0: route "internal" is protected \(ip-restriction\), but the route "site" \(without ip-restriction, path "\/"\)/);
    const [acl] = check(['api', true, { paths: ['/api'] }], ['admin', [{ 'key-auth': {} }, { acl: { allow: ['admins'] } }], { paths: ['~ ^/api/admin'] }]);
    assert.match(acl!, /route "admin" is protected \(key-auth, acl\), but the route "api" \(without acl, path "\/api"\)/);
    assert.equal(check(['api', [{ 'key-auth': { header: 'x-a' } }], { paths: ['/'] }], ['private', [{ 'key-auth': { header: 'x-b' } }], { paths: ['~ ^/p'] }]).length, 1, 'other settings');
  });

  it('refuses a regex without the protection listed before a protected regex that it may take requests from', () => {
    const [first] = check(['pub', false, { paths: ['~ ^/'] }], ['priv', true, { paths: ['~ ^/v[0-9]+/private'] }]);
    assert.match(first!, /route "priv" is protected \(key-auth\), but the route "pub" \(without key-auth, path "~ \^\/"\) takes requests .* regular expressions are tried in config order. List "priv" before "pub"/);
    assert.equal(check(['json', false, { paths: ['~ \\.json$'] }], ['priv', true, { paths: ['~ ^/private'] }]).length, 1, 'an unanchored regex before it');
  });

  it('refuses a route naming hosts for the same service that takes requests a protected route without hosts was written for', () => {
    const [host] = check(['pub', false, { paths: ['/'], hosts: ['api.example.com'] }], ['priv', true, { paths: ['~ ^/v[0-9]+/private'] }]);
    assert.match(host!, /route "priv" is protected \(key-auth\), but the route "pub" \(without key-auth, path "\/"\) takes requests for the hosts api\.example\.com/);
    assert.equal(check(['pub', false, { paths: ['/admin/docs'], hosts: ['api.example.com'] }], ['priv', true, { paths: ['/admin'] }]).length, 1, 'a prefix under a protected prefix');
    assert.deepEqual(check(['pub', false, { paths: ['/docs'], hosts: ['api.example.com'] }], ['priv', true, { paths: ['/admin'] }]), [], 'paths that do not overlap');
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkShadowedRoutes, literalStart } from './shadow.js';
import type { RouteConfig } from '../config/schema.js';

type Match = { paths?: string[]; hosts?: string[]; methods?: string[] };

/** The messages for routes given as [name, authenticates, match]. */
function check(...routes: Array<[string, boolean, Match]>): string[] {
  const out: string[] = [];
  checkShadowedRoutes(
    routes.map(([name, authenticates, match], index) => ({ route: { name, match } as unknown as RouteConfig, index, authenticates })),
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
    assert.match(root!, /^routes\.1\.match\.paths\.0: route "private" is protected, but the route "root" \(no authentication, path "\/"\)/);
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
    assert.deepEqual(check(['host', false, { paths: ['/'], hosts: ['docs.example.com'] }], regex), [], 'another host');
    assert.deepEqual(check(['any', false, { paths: ['/'] }], ['private', true, { hosts: ['api.example.com'], paths: ['~ ^/private'] }]), [], 'a host route is tried first');
    assert.deepEqual(check(['both', true, { paths: ['/'] }], regex), [], 'both protected');
    assert.deepEqual(check(['public-regex', false, { paths: ['~ ^/v1'] }], regex), [], 'regexes keep config order');
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkMethod } from './method.js';
import { Router, type RouteEntry } from './router.js';

const STANDARD = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'];

function entry(route: string, paths: string[], methods?: string[]): RouteEntry<string> {
  return { route, hosts: undefined, paths, methods, headers: undefined };
}

/** The shape of issue 10 item 1: a public prefix and protected method-restricted routes on the same paths. */
const router = new Router([
  entry('public-docs', ['/docs']),
  entry('protected-docs', ['/docs'], ['POST', 'PUT', 'PATCH', 'DELETE']),
  entry('protected-report', ['/report'], ['GET']),
  entry('public-root', ['/']),
]);

/** The route the gateway picks for a raw method, "refused" when it refuses the method (400), undefined for none. */
function gatewayRoute(raw: string, path: string): string | undefined {
  const method = checkMethod(raw);
  if (method === undefined) return 'refused';
  return router.match(method, 'api.example.com', path, {})?.route;
}

describe('request methods', () => {
  it('accepts every standard method in upper case, and refuses every other casing of it', () => {
    fc.assert(
      fc.property(fc.constantFrom(...STANDARD).chain((m) => fc.tuple(fc.constant(m), fc.mixedCase(fc.constant(m)))), ([canonical, cased]) => {
        assert.equal(checkMethod(cased), cased === canonical ? canonical : undefined, cased);
      }),
      { numRuns: 2000 },
    );
  });

  it('routes no casing of a method differently from how an upstream that upper-cases methods (Werkzeug) reads it', () => {
    const paths = ['/docs', '/docs/item', '/report', '/report/7', '/other'];
    fc.assert(
      fc.property(fc.constantFrom(...STANDARD).chain((m) => fc.mixedCase(fc.constant(m))), fc.constantFrom(...paths), (cased, path) => {
        const routed = gatewayRoute(cased, path);
        if (routed === 'refused') return;
        // Accepted: the upstream, whether it upper-cases or not, reads the method the router compared.
        assert.equal(cased, cased.toUpperCase());
        assert.equal(routed, gatewayRoute(cased.toUpperCase(), path));
      }),
      { numRuns: 3000 },
    );
    for (const m of ['post', 'Post', 'pOST', 'delete', 'patch', 'put']) assert.equal(gatewayRoute(m, '/docs/item'), 'refused', m);
    for (const m of ['get', 'Get', 'head']) assert.equal(gatewayRoute(m, '/report'), 'refused', m);
    assert.equal(gatewayRoute('POST', '/docs/item'), 'protected-docs');
    assert.equal(gatewayRoute('GET', '/report'), 'protected-report');
  });

  it('matches HEAD to the routes that take GET (RFC 9110 §9.3.2)', () => {
    assert.equal(gatewayRoute('HEAD', '/report'), 'protected-report');
    assert.equal(gatewayRoute('HEAD', '/report/7'), 'protected-report');
    assert.equal(gatewayRoute('HEAD', '/docs'), 'public-docs');
    const getOnly = new Router([entry('get', ['/x'], ['GET'])]);
    assert.equal(getOnly.match('HEAD', 'h', '/x', {})?.route, 'get');
    assert.deepEqual(getOnly.allowedMethods('h', '/x', {}), ['GET', 'HEAD']);
  });

  it('refuses anything that is not an upper-case token', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 0, maxLength: 40 }), (raw) => {
        const accepted = checkMethod(raw) !== undefined;
        assert.equal(accepted, raw.length > 0 && raw.length <= 32 && /^[!#$%&'*+\-.^_`|~0-9A-Z]+$/.test(raw), JSON.stringify(raw));
      }),
      { numRuns: 3000 },
    );
    for (const bad of ['', 'GET ', 'G ET', 'GET\r\n', 'GÉT', 'get', 'P(OST', 'POST/1', 'A'.repeat(33), undefined]) assert.equal(checkMethod(bad), undefined, String(bad));
    for (const good of ['PURGE', 'MKCOL', 'M-SEARCH', 'X_CUSTOM', 'FOO']) assert.equal(checkMethod(good), good);
  });
});

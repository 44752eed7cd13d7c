import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import RE2 from 're2';
import { Router, type RouteEntry } from './router.js';

function entry(route: string, match: Partial<Omit<RouteEntry<string>, 'route'>> = {}): RouteEntry<string> {
  return { route, hosts: match.hosts, paths: match.paths, methods: match.methods, headers: match.headers };
}

const find = (router: Router<string>, path: string, opts: { method?: string; host?: string; headers?: Record<string, string> } = {}) =>
  router.match(opts.method ?? 'GET', opts.host ?? 'api.example.com', path, opts.headers ?? {})?.route;

describe('router', () => {
  it('matches prefixes on segment boundaries only', () => {
    const r = new Router([entry('orders', { paths: ['/v1/orders'] })]);
    assert.equal(find(r, '/v1/orders'), 'orders');
    assert.equal(find(r, '/v1/orders/'), 'orders');
    assert.equal(find(r, '/v1/orders/7'), 'orders');
    assert.equal(find(r, '/v1/ordersX'), undefined);
    assert.equal(find(r, '/v1'), undefined);
  });

  it('prefers exact over the longest prefix over regex', () => {
    const r = new Router([
      entry('regex', { paths: ['~ ^/v1/.*$'] }),
      entry('short', { paths: ['/v1'] }),
      entry('long', { paths: ['/v1/orders'] }),
      entry('exact', { paths: ['= /v1/orders/special'] }),
    ]);
    assert.equal(find(r, '/v1/orders/special'), 'exact');
    assert.equal(find(r, '/v1/orders/7'), 'long');
    assert.equal(find(r, '/v1/users'), 'short');
    const onlyRegex = new Router([entry('regex', { paths: ['~ ^/v[0-9]+/items$'] }), entry('root', { paths: ['/other'] })]);
    assert.equal(find(onlyRegex, '/v2/items'), 'regex');
    assert.equal(find(onlyRegex, '/v2/items/1'), undefined);
  });

  it('prefers an exact host over a wildcard over no host', () => {
    const r = new Router([entry('any', { paths: ['/'] }), entry('wild', { hosts: ['*.example.com'] }), entry('exact', { hosts: ['api.example.com'] })]);
    assert.equal(find(r, '/x', { host: 'api.example.com' }), 'exact');
    assert.equal(find(r, '/x', { host: 'www.example.com' }), 'wild');
    assert.equal(find(r, '/x', { host: 'a.b.example.com' }), 'wild');
    assert.equal(find(r, '/x', { host: 'example.com' }), 'any');
    assert.equal(find(r, '/x', { host: 'other.org' }), 'any');
  });

  it('prefers the longer wildcard suffix', () => {
    const r = new Router([entry('short', { hosts: ['*.example.com'] }), entry('long', { hosts: ['*.eu.example.com'] })]);
    assert.equal(find(r, '/', { host: 'api.eu.example.com' }), 'long');
    assert.equal(find(r, '/', { host: 'api.us.example.com' }), 'short');
  });

  it('tries many regex routes in config order, with their method conditions', () => {
    const r = new Router([
      entry('first', { paths: ['~ ^/items/[0-9]+$'], methods: ['POST'] }),
      entry('second', { paths: ['~ ^/items/.*$'] }),
      entry('third', { paths: ['~ ^/items/7$'] }),
      entry('other', { paths: ['~ ^/other$'] }),
    ]);
    assert.equal(find(r, '/items/7', { method: 'POST' }), 'first');
    assert.equal(find(r, '/items/7'), 'second');
    assert.equal(find(r, '/other'), 'other');
    assert.equal(find(r, '/nothing'), undefined);
  });

  it('falls through methods and headers to the next candidate', () => {
    const r = new Router([
      entry('read', { paths: ['/orders'], methods: ['GET'] }),
      entry('v2', { paths: ['/orders'], headers: [{ name: 'x-version', exact: '2', regex: undefined }] }),
      entry('beta', { paths: ['/orders'], headers: [{ name: 'x-beta', exact: undefined, regex: new RE2('^(yes|on)$') }] }),
      entry('fallback', { paths: ['/'] }),
    ]);
    assert.equal(find(r, '/orders', { method: 'GET' }), 'read');
    assert.equal(find(r, '/orders', { method: 'POST' }), 'fallback');
    assert.equal(find(r, '/orders', { method: 'POST', headers: { 'x-version': '2' } }), 'v2');
    assert.equal(find(r, '/orders', { method: 'POST', headers: { 'x-beta': 'on' } }), 'beta');
    assert.equal(find(r, '/orders', { method: 'POST', headers: { 'x-beta': 'nope' } }), 'fallback');
  });

  it('puts routes with more conditions first, then keeps config order', () => {
    const r = new Router([entry('first', { paths: ['/a'] }), entry('second', { paths: ['/a'] }), entry('get', { paths: ['/a'], methods: ['GET'] })]);
    assert.equal(find(r, '/a'), 'get');
    assert.equal(find(r, '/a', { method: 'PUT' }), 'first');
  });

  it('reports the matched prefix for strip_prefix', () => {
    const r = new Router([entry('api', { paths: ['/api/v1'] }), entry('exact', { paths: ['= /x'] })]);
    assert.equal(r.match('GET', 'h', '/api/v1/users', {})?.prefix, '/api/v1');
    assert.equal(r.match('GET', 'h', '/x', {})?.prefix, '');
  });

  it('compiles 10,000 routes and finds the last one by walking, not scanning', () => {
    const entries: RouteEntry<string>[] = [];
    for (let i = 0; i < 10_000; i++) entries.push(entry(`r${i}`, { hosts: [`h${i % 50}.example.com`], paths: [`/svc/${i}/items`], methods: ['GET'] }));
    const router = new Router(entries);
    assert.equal(find(router, '/svc/9999/items/1', { host: 'h49.example.com' }), 'r9999');
    assert.equal(find(router, '/svc/9999/items/1', { host: 'h48.example.com' }), undefined);
  });

  it('looks at the conditions of the routes on the request path only, not at all 10,000', () => {
    // Each route's header condition counts how often the router consults it: a scan would consult thousands.
    let consulted = 0;
    const counting = { test: () => (consulted++, true) } as unknown as RE2;
    const entries: RouteEntry<string>[] = [];
    for (let i = 0; i < 10_000; i++) entries.push(entry(`r${i}`, { paths: [`/svc/${i}/items`], headers: [{ name: 'x-t', exact: undefined, regex: counting }] }));
    const router = new Router(entries);
    assert.equal(find(router, '/svc/9999/items/1', { headers: { 'x-t': 'v' } }), 'r9999');
    assert.equal(find(router, '/svc/5000/items', { headers: { 'x-t': 'v' } }), 'r5000');
    assert.equal(consulted, 2);
  });
});

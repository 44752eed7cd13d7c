import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { requestContext } from '../../test/helpers/policy.js';
import { RequestSlot } from './context.js';

/** What the upstream gets for the Cookie header: removed from the client's copy, then the values set. */
const upstreamCookie = (ctx: ReturnType<typeof requestContext>) => ({
  clientCopy: !ctx.upstreamHeaderRemovals?.has('cookie'),
  set: ctx.upstreamHeaderSets?.get('cookie'),
});

describe('RequestContext cookie removal toward the upstream', () => {
  it('adds up removals of single cookies: a later one never brings back an earlier one', () => {
    const ctx = requestContext({ headers: { cookie: 'a=1; session=s; token=t; b=2' } });
    ctx.removeUpstreamCookie('session');
    ctx.removeUpstreamCookie('token');
    assert.deepEqual(upstreamCookie(ctx), { clientCopy: false, set: 'a=1; b=2' });
    ctx.removeUpstreamCookie('a');
    ctx.removeUpstreamCookie('b');
    assert.deepEqual(upstreamCookie(ctx), { clientCopy: false, set: undefined });
  });

  it('keeps a whole-header removal whatever single removals come before or after it', () => {
    const ctx = requestContext({ headers: { cookie: 'a=1; session=s' } });
    ctx.removeUpstreamCookie('session');
    ctx.removeUpstreamHeader('cookie');
    ctx.removeUpstreamCookie('a');
    assert.deepEqual(upstreamCookie(ctx), { clientCopy: false, set: undefined });
  });

  it('does nothing without a Cookie header', () => {
    const ctx = requestContext();
    ctx.removeUpstreamCookie('session');
    assert.deepEqual(upstreamCookie(ctx), { clientCopy: true, set: undefined });
  });
});

describe('RequestContext header changes toward the upstream', () => {
  it('replaces the client\'s header with a value set for it, rather than adding to it', () => {
    const ctx = requestContext({ headers: { 'x-tenant': 'from-client' } });
    ctx.setUpstreamHeader('X-Tenant', 'acme');
    assert.equal(ctx.upstreamHeaderRemovals?.has('x-tenant'), true, 'the client\'s value is not forwarded');
    assert.equal(ctx.upstreamHeaderSets?.get('x-tenant'), 'acme');
  });

  it('lets the last set or remove of a name win', () => {
    const ctx = requestContext({ headers: { 'x-tenant': 'from-client' } });
    ctx.setUpstreamHeader('x-tenant', 'acme');
    ctx.removeUpstreamHeader('x-tenant');
    assert.deepEqual([ctx.upstreamHeaderRemovals?.has('x-tenant'), ctx.upstreamHeaderSets?.get('x-tenant')], [true, undefined]);
    ctx.setUpstreamHeader('x-tenant', ['a', 'b']);
    assert.deepEqual([ctx.upstreamHeaderRemovals?.has('x-tenant'), ctx.upstreamHeaderSets?.get('x-tenant')], [true, ['a', 'b']]);
  });
});

describe('RequestSlot: a policy state kept on the request', () => {
  it('keeps each slot apart, per request, and forgets on delete', () => {
    const a = new RequestSlot<number>();
    const b = new RequestSlot<string>();
    const one = requestContext();
    const two = requestContext();
    assert.equal(a.get(one), undefined);
    a.set(one, 1);
    b.set(one, 'b');
    a.set(two, 2);
    assert.equal(a.get(one), 1);
    assert.equal(b.get(one), 'b');
    assert.equal(a.get(two), 2);
    assert.equal(b.get(two), undefined);
    a.set(one, 3);
    assert.equal(a.get(one), 3);
    a.delete(one);
    assert.equal(a.get(one), undefined);
    assert.equal(b.get(one), 'b');
  });
});

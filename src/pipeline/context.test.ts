import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { requestContext } from '../../test/helpers/policy.js';

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

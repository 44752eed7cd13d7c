/**
 * docs/writing-a-policy.md walks through test/docs-policy-example/tenant-gate.ts:
 * the page's code block must be that file (so the page cannot rot), and the
 * policy must compile and decide as the page says, with the harness.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { ConfigError } from '../src/config/errors.js';
import { upstreamRequestOf } from '../src/server/forwarded.js';
import type { CompiledRoute, RuntimeSettings } from '../src/snapshot.js';
import { compilePolicy, decide, requestContext } from './helpers/policy.js';
import tenantGate from './docs-policy-example/tenant-gate.js';

const page = readFileSync(new URL('../docs/writing-a-policy.md', import.meta.url), 'utf8');
const source = readFileSync(new URL('./docs-policy-example/tenant-gate.ts', import.meta.url), 'utf8');

/** What the upstream would receive for this context: header names and values, in order. */
function upstreamHeaders(ctx: ReturnType<typeof requestContext>): [string, string][] {
  const settings = { trustedProxies: { trusts: () => false }, requestIdHeader: 'x-request-id' } as unknown as RuntimeSettings;
  const route = { stripPrefix: false } as CompiledRoute;
  // The header lines as received, as node:http gives them beside the parsed headers.
  const rawHeaders = Object.entries(ctx.headers).flatMap(([name, value]) => (Array.isArray(value) ? value.flatMap((v) => [name, v]) : [name, String(value)]));
  const req = { headers: ctx.headers, rawHeaders } as IncomingMessage;
  const flat = upstreamRequestOf(ctx, req, settings, ctx.clientIp, route, false, false).headers;
  const pairs: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
  return pairs;
}

describe('docs/writing-a-policy.md worked example (tenant-gate)', () => {
  it('shows the example file as it is, with the imports a policy under src/policies/ has', () => {
    const block = /```ts\n(\/\*\*\n \* tenant-gate:[\s\S]*?\n)```\n/.exec(page);
    assert.ok(block, 'the page has the tenant-gate code block');
    assert.equal(block[1], source.replaceAll("'../../src/", "'../../"));
  });

  it('compiles with defaults filled in, and refuses a tenant listed twice with a ConfigError naming it', () => {
    assert.ok(compilePolicy(tenantGate, { tenants: ['acme'] }).onRequest);
    assert.throws(() => compilePolicy(tenantGate, {}), /invalid tenant-gate settings/);
    assert.throws(
      () => compilePolicy(tenantGate, { tenants: ['acme', 'globex', 'acme'] }),
      (err: unknown) => err instanceof ConfigError && err.path.join('.') === 'tenants.2' && /listed twice/.test(err.message),
    );
  });

  it('refuses a request without the header or with an unknown tenant', async () => {
    const gate = compilePolicy(tenantGate, { tenants: ['acme'] });
    const none = await decide(gate, requestContext());
    assert.deepEqual([none?.status, none?.code, none?.event?.type], [403, 'client_forbidden', 'policy.refused']);
    const unknown = await decide(gate, requestContext({ headers: { 'x-tenant': 'globex' } }));
    assert.deepEqual([unknown?.status, unknown?.event?.type, unknown?.event?.data], [403, 'policy.refused', { value: 'globex' }]);
  });

  it("lets a known tenant through and replaces the client's own upstream header with the checked value", async () => {
    const gate = compilePolicy(tenantGate, { tenants: ['acme'] });
    const ctx = requestContext({ headers: { 'x-tenant': 'acme', 'x-tenant-checked': 'forged' } });
    assert.equal(await decide(gate, ctx), undefined);
    const sent = upstreamHeaders(ctx);
    assert.deepEqual(sent.filter(([name]) => name === 'x-tenant-checked'), [['x-tenant-checked', 'acme']]);
    assert.deepEqual(sent.filter(([name]) => name === 'x-tenant'), [['x-tenant', 'acme']]);
  });

  it('adds its header to Vary on the response', () => {
    const gate = compilePolicy(tenantGate, { tenants: ['acme'] });
    const ctx = requestContext({ headers: { 'x-tenant': 'acme' } });
    ctx.response.headers = { vary: 'accept-encoding' };
    gate.onResponse!(ctx);
    assert.equal(ctx.response.headers.vary, 'accept-encoding, x-tenant');
  });
});

describe('header changes toward the upstream, as docs/writing-a-policy.md states them', () => {
  it("removes the client's headers, but not the ones the gateway writes", () => {
    const ctx = requestContext({ headers: { 'x-debug': '1', 'x-forwarded-for': '198.51.100.1' } });
    ctx.removeUpstreamHeader('x-debug');
    ctx.removeUpstreamHeader('x-forwarded-for');
    ctx.removeUpstreamHeader('x-request-id');
    const sent = upstreamHeaders(ctx);
    assert.equal(sent.find(([name]) => name === 'x-debug'), undefined);
    assert.deepEqual(sent.filter(([name]) => name === 'x-forwarded-for'), [['x-forwarded-for', ctx.clientIp]], "the gateway's value, never the client's");
    assert.deepEqual(sent.filter(([name]) => name === 'x-request-id'), [['x-request-id', ctx.id]]);
  });

  it('removes one cookie and keeps the others', () => {
    const ctx = requestContext({ headers: { cookie: 'a=1; session=s; b=2' } });
    ctx.removeUpstreamCookie('session');
    assert.deepEqual(upstreamHeaders(ctx).filter(([name]) => name === 'cookie'), [['cookie', 'a=1; b=2']]);
  });
});

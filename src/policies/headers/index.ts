/**
 * headers: sets, adds, removes and renames request headers on their way to
 * the upstream and response headers on their way to the client, with a few
 * variables (src/policies/headers/template.ts). Kong's request-transformer
 * and response-transformer, for headers.
 *
 * Transform phase: it runs after authentication, so `${consumer}` is known,
 * and after every policy that may refuse. Response changes run for every
 * response of the route, a refusal by an earlier policy included (response
 * hooks all run, docs/ARCHITECTURE.md). Hop-by-hop, framing, forwarding,
 * identity and request id headers are refused at load (reach.ts): the
 * gateway writes them, and a config that could would speak for it.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { ConfigErrors, type ConfigError } from '../../config/errors.js';
import type { RequestContext } from '../../pipeline/context.js';
import { definePolicy } from '../../pipeline/policy.js';
import { compilePlan, type Plan } from './plan.js';
import { HeadersSchema } from './schema.js';

export default definePolicy({
  name: 'headers',
  phase: 'transform',
  description: 'Sets, adds, removes and renames request headers before the upstream and response headers before the client.',
  config: HeadersSchema,
  compile(config, deps) {
    const errors: ConfigError[] = [];
    const requestIdHeader = deps.settings.request_id.header;
    const request = compilePlan(config.request, 'request', requestIdHeader, errors);
    const response = compilePlan(config.response, 'response', requestIdHeader, errors);
    ConfigErrors.throwIfAny(errors);
    return {
      onRequest: request.empty ? undefined : (ctx) => changeRequest(ctx, request),
      onResponse: response.empty ? undefined : (ctx) => changeResponse(ctx, response),
    };
  },
});

/** What the upstream would receive under `name` so far: a value a policy set, else the client's, unless removed. */
function upstreamValues(ctx: RequestContext, name: string): string[] {
  const set = ctx.upstreamHeaderSets?.get(name);
  if (set !== undefined) return Array.isArray(set) ? [...set] : [set];
  if (ctx.upstreamHeaderRemovals?.has(name)) return [];
  const client = ctx.headers[name];
  if (client === undefined) return [];
  return Array.isArray(client) ? [...client] : [client];
}

function changeRequest(ctx: RequestContext, plan: Plan): undefined {
  for (const name of plan.remove) ctx.removeUpstreamHeader(name);
  for (const [from, to] of plan.rename) {
    const values = upstreamValues(ctx, from);
    if (values.length === 0) continue;
    ctx.removeUpstreamHeader(from);
    ctx.setUpstreamHeader(to, values);
  }
  for (const [name, template] of plan.set) {
    const value = template(ctx);
    if (value !== undefined) ctx.setUpstreamHeader(name, value);
  }
  for (const [name, templates] of plan.add) {
    const added = templates.map((t) => t(ctx)).filter((v): v is string => v !== undefined);
    if (added.length > 0) ctx.setUpstreamHeader(name, [...upstreamValues(ctx, name), ...added]);
  }
  return undefined;
}

/** The header's key as the response holds it: upstream heads come lower case, a policy's own may not. */
function keyOf(headers: OutgoingHttpHeaders, name: string): string | undefined {
  if (name in headers) return name;
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return key;
  return undefined;
}

function valuesOf(value: OutgoingHttpHeaders[string]): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value.map(String) : [String(value)];
}

function changeResponse(ctx: RequestContext, plan: Plan): void {
  const headers = ctx.response.headers;
  const take = (name: string): string[] => {
    const key = keyOf(headers, name);
    if (key === undefined) return [];
    const values = valuesOf(headers[key]);
    delete headers[key];
    return values;
  };
  for (const name of plan.remove) take(name);
  for (const [from, to] of plan.rename) {
    const values = take(from);
    if (values.length === 0) continue;
    take(to);
    headers[to] = values.length === 1 ? values[0] : values;
  }
  for (const [name, template] of plan.set) {
    const value = template(ctx);
    if (value === undefined) continue;
    take(name);
    headers[name] = value;
  }
  for (const [name, templates] of plan.add) {
    const added = templates.map((t) => t(ctx)).filter((v): v is string => v !== undefined);
    if (added.length === 0) continue;
    const values = [...take(name), ...added];
    headers[name] = values.length === 1 ? values[0] : values;
  }
}

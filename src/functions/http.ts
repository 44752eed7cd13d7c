/**
 * Between the gateway's request context and what crosses into a sandbox:
 * the request's head as the function's Request sees it, and the function's
 * answer checked (status, header names and values, no framing headers of its
 * own: the gateway frames the body it sends) before it reaches a client.
 */
import { validateHeaderName, validateHeaderValue, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { RequestContext } from '../pipeline/context.js';

/** Headers a function neither receives as framing nor sets on its answer: the gateway owns them. */
const FRAMING = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'content-length', 'proxy-connection', 'http2-settings']);

export function headerPairs(headers: IncomingHttpHeaders | OutgoingHttpHeaders): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || FRAMING.has(k)) continue;
    for (const one of Array.isArray(v) ? v : [v]) out.push([k, String(one)]);
  }
  return out;
}

export function requestHead(ctx: RequestContext): { url: string; method: string; headers: [string, string][]; requestId: string; route: string | undefined } {
  const host = ctx.header('host') ?? ctx.header(':authority') ?? ctx.host;
  return {
    url: `${ctx.scheme}://${host}${ctx.path}${ctx.query ? `?${ctx.query}` : ''}`,
    method: ctx.method,
    headers: headerPairs(ctx.headers).filter(([k]) => !k.startsWith(':')),
    requestId: ctx.id,
    route: ctx.routeName,
  };
}

/** The head of a function's Response as the client will get it, or why it cannot be sent. */
export function responseHeaders(pairs: readonly (readonly [string, string])[]): OutgoingHttpHeaders | string {
  if (!Array.isArray(pairs) || pairs.length > 100) return 'too many response headers';
  const out: Record<string, string | string[]> = {};
  for (const pair of pairs as readonly unknown[]) {
    if (!Array.isArray(pair)) return 'a response header is not a name and a value';
    const name: unknown = pair[0];
    const value: unknown = pair[1];
    if (typeof name !== 'string' || typeof value !== 'string') return 'a response header is not a string';
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch {
      return `an invalid response header: ${name.slice(0, 64)}`;
    }
    if (FRAMING.has(name)) continue;
    const old = out[name];
    if (old === undefined) out[name] = value;
    else out[name] = Array.isArray(old) ? [...old, value] : [old, value];
  }
  return out;
}

export function validStatus(status: unknown): status is number {
  return typeof status === 'number' && Number.isInteger(status) && status >= 200 && status <= 599;
}

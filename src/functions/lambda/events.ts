/**
 * The API Gateway proxy integration formats, as Lambda functions behind API
 * Gateway expect them: the request as a v1 (REST API) or v2 (HTTP API) event,
 * and the function's proxy response back to an HTTP answer. Bodies that are
 * not text go base64 both ways (isBase64Encoded), as AWS does.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../../pipeline/context.js';
import { headerPairs, responseHeaders, validStatus } from '../http.js';

const TEXT = /^(text\/|application\/(json|xml|x-www-form-urlencoded|javascript|graphql)|[^;]*\+(json|xml))/i;

function encodeBody(body: Buffer | undefined, headers: IncomingHttpHeaders): { body: string | null; isBase64Encoded: boolean } {
  if (!body || body.length === 0) return { body: null, isBase64Encoded: false };
  const type = headers['content-type'] ?? '';
  if (TEXT.test(type)) {
    const text = body.toString('utf8');
    if (Buffer.byteLength(text) === body.length && !text.includes('\ufffd')) return { body: text, isBase64Encoded: false };
  }
  return { body: body.toString('base64'), isBase64Encoded: true };
}

function query(raw: string): { single: Record<string, string> | null; multi: Record<string, string[]> | null } {
  if (raw === '') return { single: null, multi: null };
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    single[k] = v;
    (multi[k] ??= []).push(v);
  }
  return { single, multi };
}

export function eventV1(ctx: RequestContext, body: Buffer | undefined, stage: string): object {
  const pairs = headerPairs(ctx.headers).filter(([k]) => !k.startsWith(':'));
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [k, v] of pairs) {
    headers[k] = v;
    (multiValueHeaders[k] ??= []).push(v);
  }
  const q = query(ctx.query);
  const now = new Date(ctx.startTime || Date.now());
  return {
    resource: '/{proxy+}',
    path: ctx.path,
    httpMethod: ctx.method,
    headers,
    multiValueHeaders,
    queryStringParameters: q.single,
    multiValueQueryStringParameters: q.multi,
    pathParameters: { proxy: ctx.path.replace(/^\//, '') },
    stageVariables: null,
    requestContext: {
      resourcePath: '/{proxy+}',
      httpMethod: ctx.method,
      path: ctx.path,
      stage,
      requestId: ctx.id,
      requestTimeEpoch: now.getTime(),
      protocol: 'HTTP/1.1',
      identity: { sourceIp: ctx.clientIp, userAgent: ctx.header('user-agent') ?? null },
      domainName: ctx.host,
      apiId: 'portcullis',
    },
    ...encodeBody(body, ctx.headers),
  };
}

export function eventV2(ctx: RequestContext, body: Buffer | undefined, stage: string): object {
  const pairs = headerPairs(ctx.headers).filter(([k]) => !k.startsWith(':') && k !== 'cookie');
  const headers: Record<string, string> = {};
  for (const [k, v] of pairs) headers[k] = headers[k] === undefined ? v : `${headers[k]},${v}`;
  const cookie = ctx.headers.cookie;
  const cookies = cookie ? (Array.isArray(cookie) ? cookie.join('; ') : cookie).split(/;\s*/).filter(Boolean) : undefined;
  const q = query(ctx.query);
  const single = q.multi ? Object.fromEntries(Object.entries(q.multi).map(([k, v]) => [k, v.join(',')])) : undefined;
  const now = new Date(ctx.startTime || Date.now());
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: ctx.path,
    rawQueryString: ctx.query,
    cookies,
    headers,
    queryStringParameters: single,
    requestContext: {
      accountId: 'anonymous',
      apiId: 'portcullis',
      domainName: ctx.host,
      domainPrefix: ctx.host.split('.')[0],
      http: { method: ctx.method, path: ctx.path, protocol: 'HTTP/1.1', sourceIp: ctx.clientIp, userAgent: ctx.header('user-agent') ?? '' },
      requestId: ctx.id || randomUUID(),
      routeKey: '$default',
      stage,
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...encodeBody(body, ctx.headers),
  };
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: OutgoingHttpHeaders;
  readonly body: Buffer;
}

/** The function's proxy response as an HTTP answer, or why it is not one. */
export function answerOf(payload: unknown, version: 'v1' | 'v2'): HttpAnswer | string {
  // v2: a payload without statusCode is the body of a 200 JSON answer (AWS's "format 2.0" inference).
  if (version === 'v2' && (payload === null || typeof payload !== 'object' || !('statusCode' in payload))) {
    return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(payload)) };
  }
  if (payload === null || typeof payload !== 'object') return 'the function answered no proxy response object';
  const p = payload as { statusCode?: unknown; headers?: unknown; multiValueHeaders?: unknown; cookies?: unknown; body?: unknown; isBase64Encoded?: unknown };
  if (!validStatus(p.statusCode)) return `the function answered statusCode ${String(p.statusCode)}`;
  const pairs: [string, string][] = [];
  if (p.headers && typeof p.headers === 'object') for (const [k, v] of Object.entries(p.headers)) pairs.push([k.toLowerCase(), String(v)]);
  if (p.multiValueHeaders && typeof p.multiValueHeaders === 'object') {
    for (const [k, list] of Object.entries(p.multiValueHeaders as Record<string, unknown>)) {
      if (!Array.isArray(list)) continue;
      const name = k.toLowerCase();
      for (let i = pairs.length - 1; i >= 0; i--) if (pairs[i]![0] === name) pairs.splice(i, 1);
      for (const v of list) pairs.push([name, String(v)]);
    }
  }
  if (Array.isArray(p.cookies)) for (const c of p.cookies) pairs.push(['set-cookie', String(c)]);
  const headers = responseHeaders(pairs);
  if (typeof headers === 'string') return headers;
  const text = typeof p.body === 'string' ? p.body : p.body === undefined || p.body === null ? '' : JSON.stringify(p.body);
  const body = p.isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
  return { status: p.statusCode, headers, body };
}

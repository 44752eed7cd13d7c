/**
 * cors: Cross-Origin Resource Sharing at the gateway. Preflights are answered
 * here (204 with the allowed methods and headers, or 403 when the origin,
 * method or a header is not allowed) and never reach the upstream; actual
 * responses get Access-Control-Allow-Origin for allowed origins and always
 * Vary: Origin, so caches keep one answer per origin. The gateway's CORS
 * headers replace any the upstream sent.
 *
 * Runs in the screen phase, before authentication: preflights carry no
 * credentials, and a 401 must still carry CORS headers for the browser to let
 * the application read it.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import RE2 from 're2';
import { ConfigError } from '../../config/errors.js';
import { parseDuration } from '../../config/units.js';
import type { RequestContext } from '../../pipeline/context.js';
import { deny, reply } from '../../pipeline/decision.js';
import { definePolicy } from '../../pipeline/policy.js';
import { CorsSchema } from './schema.js';

/** Request headers browsers send without asking (Fetch standard, CORS-safelisted). */
const SAFELISTED = new Set(['accept', 'accept-language', 'content-language', 'content-type', 'range']);

const UPSTREAM_CORS_HEADERS = [
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-expose-headers',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-max-age',
];

function parseOrigin(text: string, i: number): { exact?: string; regex?: RE2 } {
  const trimmed = text.trim();
  if (trimmed.startsWith('~')) {
    const source = trimmed.slice(1).trim();
    try {
      return { regex: new RE2(source) };
    } catch (err) {
      throw new ConfigError(`invalid regular expression ${JSON.stringify(source)}: ${(err as Error).message}`, ['origins', i]);
    }
  }
  if (trimmed === 'null') {
    throw new ConfigError('"null" is the origin of sandboxed frames and file: pages; allowing it lets any such page in', ['origins', i]);
  }
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new ConfigError(`${JSON.stringify(trimmed)} is not an origin like "https://app.example.com"`, ['origins', i]);
  }
  if (url.origin !== trimmed.toLowerCase().replace(/\/$/, '') || url.pathname !== '/' || url.search || url.hash) {
    throw new ConfigError(`${JSON.stringify(trimmed)} is not an origin: scheme, host and port only, like "${url.origin}"`, ['origins', i]);
  }
  return { exact: url.origin };
}

function appendVary(headers: OutgoingHttpHeaders, value: string): void {
  const existing = headers.vary;
  if (existing === undefined) {
    headers.vary = value;
    return;
  }
  const text = Array.isArray(existing) ? existing.join(', ') : String(existing);
  if (text.trim() === '*') return;
  const have = new Set(text.split(',').map((v) => v.trim().toLowerCase()));
  const missing = value.split(',').map((v) => v.trim()).filter((v) => !have.has(v.toLowerCase()));
  if (missing.length > 0) headers.vary = `${text}, ${missing.join(', ')}`;
}

export default definePolicy({
  name: 'cors',
  phase: 'screen',
  description: 'Answers CORS preflights at the gateway and sets CORS headers for allowed origins.',
  config: CorsSchema,
  compile(config) {
    const any = config.origins.some((o) => o.trim() === '*');
    if (any && config.credentials) {
      throw new ConfigError('"*" cannot be used with credentials: true (browsers refuse it, and echoing any origin with credentials opens the API to every site); list the origins', ['origins']);
    }
    if (any && config.origins.length > 1) throw new ConfigError('"*" already allows every origin; remove the others or remove "*"', ['origins']);
    const exact = new Set<string>();
    const patterns: RE2[] = [];
    if (!any) {
      config.origins.forEach((text, i) => {
        const parsed = parseOrigin(text, i);
        if (parsed.exact) exact.add(parsed.exact);
        if (parsed.regex) patterns.push(parsed.regex);
      });
    }
    const methods = new Set(config.methods);
    const allowedHeaders = new Set(config.headers.map((h) => h.toLowerCase()));
    const allowMethods = config.methods.join(', ');
    const allowHeaders = config.headers.map((h) => h.toLowerCase()).join(', ');
    const exposeHeaders = config.expose_headers.join(', ');
    const maxAge = String(Math.floor(parseDuration(config.max_age) / 1000));

    const allowed = (origin: string): boolean => {
      if (any) return true;
      if (exact.has(origin.toLowerCase())) return true;
      for (const pattern of patterns) if (pattern.test(origin)) return true;
      return false;
    };
    const allowOrigin = (origin: string) => (any ? '*' : origin);
    const rejected = (message: string, origin: string) =>
      deny('cors_rejected', { event: { type: 'cors.rejected', severity: 'low', message, data: { origin: origin.slice(0, 200) } } });

    function preflight(ctx: RequestContext, origin: string, method: string) {
      if (!allowed(origin)) return rejected('the origin is not allowed', origin);
      if (!methods.has(method)) return rejected(`the method ${method.slice(0, 20)} is not allowed`, origin);
      const asked = ctx.header('access-control-request-headers');
      if (asked) {
        for (const raw of asked.split(',')) {
          const name = raw.trim().toLowerCase();
          if (name !== '' && !allowedHeaders.has(name) && !SAFELISTED.has(name)) return rejected(`the header ${name.slice(0, 40)} is not allowed`, origin);
        }
      }
      const headers: OutgoingHttpHeaders = {
        'access-control-allow-origin': allowOrigin(origin),
        'access-control-allow-methods': allowMethods,
        'access-control-max-age': maxAge,
        vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
      };
      if (allowHeaders) headers['access-control-allow-headers'] = allowHeaders;
      if (config.credentials) headers['access-control-allow-credentials'] = 'true';
      return reply(204, 'cors_preflight', headers);
    }

    return {
      onRequest(ctx) {
        const origin = ctx.header('origin');
        if (origin === undefined) return undefined;
        const method = ctx.header('access-control-request-method');
        if (ctx.method === 'OPTIONS' && method !== undefined) return preflight(ctx, origin, method);
        if (config.reject_disallowed && !allowed(origin)) return rejected('the origin is not allowed', origin);
        return undefined;
      },
      onResponse(ctx) {
        const headers = ctx.response.headers;
        if (ctx.denial?.reply) return; // the preflight answer carries its own
        for (const name of UPSTREAM_CORS_HEADERS) delete headers[name];
        if (!any) appendVary(headers, 'Origin');
        if (ctx.denial?.code === 'cors_rejected') return; // a refused preflight carries no grant
        const origin = ctx.header('origin');
        if (origin === undefined || !allowed(origin)) return;
        headers['access-control-allow-origin'] = allowOrigin(origin);
        if (config.credentials) headers['access-control-allow-credentials'] = 'true';
        if (exposeHeaders) headers['access-control-expose-headers'] = exposeHeaders;
      },
    };
  },
});

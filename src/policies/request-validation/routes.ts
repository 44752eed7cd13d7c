/**
 * Routes from an OpenAPI description: one route per path of the spec, with
 * the methods it declares, an exact path or an RE2 path for templated ones,
 * and request-validation pointing at the same spec file. Printed as YAML for
 * `portcullis openapi-routes`, to paste under `routes:`.
 */
import { stringify } from 'yaml';
import { HTTP_METHODS } from './openapi.js';
import { parse as parseYaml } from 'yaml';

export interface RouteOptions {
  /** The spec file as the config will reference it (relative to the config file). */
  specFile: string;
  service: string;
  /** An authentication policy to add to each route, or "none" for public routes. */
  auth: string;
}

const REGEX_SPECIAL = new Set(['\\', '^', '$', '.', '|', '?', '*', '+', '(', ')', '[', ']', '{', '}']);

function escapeRegex(text: string): string {
  let out = '';
  for (const ch of text) out += REGEX_SPECIAL.has(ch) ? `\\${ch}` : ch;
  return out;
}

function slug(template: string): string {
  const text = template
    .replace(/[{}]/g, '')
    .split('/')
    .filter((s) => s !== '')
    .join('-')
    .replace(/[^A-Za-z0-9._-]/g, '-');
  return text === '' ? 'root' : text;
}

/**
 * Settings for the authentication methods that cannot run on `{}`: each
 * value the deployment alone knows is an \${env:} reference to set (or to
 * replace), so the printed routes validate as they are. The rest (key-auth,
 * basic-auth, hmac-auth, mtls-auth) take `{}`.
 */
const AUTH_SETTINGS: Record<string, Record<string, unknown>> = {
  jwt: { issuers: [{ issuer: '${env:JWT_ISSUER}', algorithms: ['RS256'], jwks_url: '${env:JWT_JWKS_URL}' }] },
  'oauth2-introspection': { issuer: '${env:OAUTH_ISSUER}', client_id: '${env:OAUTH_CLIENT_ID}', client_secret: '${env:OAUTH_CLIENT_SECRET}' },
  'ldap-auth': { url: '${env:LDAP_URL}', bind_dn: '${env:LDAP_BIND_DN}', bind_password: '${env:LDAP_BIND_PASSWORD}', base_dn: '${env:LDAP_BASE_DN}' },
};

/** Authentication policies that take `{}` as they are. */
const AUTH_AS_IS = new Set(['key-auth', 'basic-auth', 'hmac-auth', 'mtls-auth']);

/** The settings --auth NAME puts on each route; throws for a name that is no API authentication method. */
function authSettings(auth: string): Record<string, unknown> {
  if (AUTH_AS_IS.has(auth)) return {};
  const settings = AUTH_SETTINGS[auth];
  if (settings) return settings;
  if (auth === 'oidc') throw new Error('--auth oidc: oidc logs browsers in and needs a session store; write its settings by hand (docs/policies/oidc.md), or use --auth jwt for API tokens');
  throw new Error(`--auth is none or an authentication method (${[...AUTH_AS_IS, ...Object.keys(AUTH_SETTINGS)].join(', ')}), not "${auth}"`);
}

export function generateRoutes(specText: string, options: RouteOptions): string {
  const doc = parseYaml(specText) as { servers?: Array<{ url?: string }>; paths?: Record<string, Record<string, unknown>> };
  const auth = options.auth === 'none' ? undefined : authSettings(options.auth);
  if (!doc || typeof doc !== 'object' || !doc.paths) throw new Error('not an OpenAPI description: no "paths"');
  let base = '';
  const server = doc.servers?.[0]?.url;
  if (typeof server === 'string' && !server.includes('{')) {
    try {
      base = server.startsWith('/') ? server : new URL(server).pathname;
    } catch {
      base = '';
    }
    while (base.endsWith('/')) base = base.slice(0, -1);
  }
  const routes = Object.entries(doc.paths).map(([template, item]) => {
    const methods = HTTP_METHODS.filter((m) => item && typeof item === 'object' && m in item).map((m) => m.toUpperCase());
    if (methods.includes('GET') && !methods.includes('HEAD')) methods.push('HEAD');
    const full = `${base}${template}`;
    const templated = template.includes('{');
    const path = templated
      ? `~ ^${full
          .split('/')
          .map((segment) => (/^\{[^{}]+\}$/.test(segment) ? '[^/]+' : escapeRegex(segment)))
          .join('/')}$`
      : `= ${full}`;
    const policies: Array<Record<string, unknown>> = [];
    if (auth !== undefined) policies.push({ [options.auth]: auth });
    policies.push({ 'request-validation': { openapi: { spec: `\${file:${options.specFile}}`, strict: true } } });
    const route: Record<string, unknown> = { name: `${options.service}-${slug(template)}`.slice(0, 64), service: options.service };
    if (options.auth === 'none') route.public = true;
    route.match = { paths: [path], methods };
    route.policies = policies;
    return route;
  });
  return stringify(routes, { lineWidth: 0 });
}

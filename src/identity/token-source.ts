/**
 * Where a bearer token is read from: `Authorization: Bearer` by default; a
 * plain header, a cookie or a query parameter only when the policy names one.
 * After a successful check the token is removed from what goes upstream
 * unless the policy keeps it.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { RequestContext } from '../pipeline/context.js';
import { cookieValue, queryParam, withoutQueryParam } from './request-parts.js';

export const TokenSourceSchema = Type.Object(
  {
    header: Type.String({
      default: 'authorization',
      pattern: '^[A-Za-z0-9-]+$',
      description: 'the header that carries the token; "authorization" means the Bearer scheme (RFC 6750)',
    }),
    cookie: Type.Optional(Type.String({ pattern: '^[!#$%&\'*+.^_`|~0-9A-Za-z-]+$', description: 'also read the token from this cookie' })),
    query: Type.Optional(
      Type.String({ minLength: 1, description: 'also read the token from this query parameter (tokens in URLs end up in logs: avoid)' }),
    ),
  },
  { additionalProperties: false, default: {} },
);

export type TokenSourceConfig = Static<typeof TokenSourceSchema>;

export type TokenFound = { kind: 'missing' } | { kind: 'malformed' } | { kind: 'ok'; token: string; from: 'header' | 'cookie' | 'query' };

const MISSING: TokenFound = { kind: 'missing' };
const MALFORMED: TokenFound = { kind: 'malformed' };
/** RFC 6750 §2.1 b64token. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_TOKEN = 16 * 1024;

export class TokenSource {
  private readonly header: string;
  private readonly bearer: boolean;

  constructor(private readonly config: TokenSourceConfig) {
    this.header = config.header.toLowerCase();
    this.bearer = this.header === 'authorization';
  }

  find(ctx: RequestContext): TokenFound {
    const raw = ctx.header(this.header);
    if (raw !== undefined) {
      if (this.bearer) {
        const space = raw.indexOf(' ');
        if (space !== -1 && raw.slice(0, space).toLowerCase() === 'bearer') return checked(raw.slice(space + 1).trim(), 'header');
        // Another scheme (Basic, Signature): not ours; another method may take it.
      } else {
        return checked(raw.trim(), 'header');
      }
    }
    if (this.config.cookie) {
      const value = cookieValue(ctx.header('cookie'), this.config.cookie);
      if (value !== undefined) return checked(value, 'cookie');
    }
    if (this.config.query) {
      const value = queryParam(ctx.query, this.config.query);
      if (value !== undefined) return checked(value, 'query');
    }
    return MISSING;
  }

  /**
   * A token cookie is owned: browsers send it on every path of the host, so
   * no other route's upstream may see it (ownedCookies); the policy's own
   * route keeps it only with keep_credential.
   */
  cookies(keep: boolean): { ownedCookies?: readonly string[]; keptCookies?: readonly string[] } {
    const name = this.config.cookie;
    if (name === undefined) return {};
    return keep ? { ownedCookies: [name], keptCookies: [name] } : { ownedCookies: [name] };
  }

  /** Removes the token from the request the upstream receives. */
  strip(ctx: RequestContext, from: 'header' | 'cookie' | 'query'): void {
    if (from === 'header') ctx.removeUpstreamHeader(this.header);
    else if (from === 'cookie') ctx.removeUpstreamCookie(this.config.cookie!);
    else ctx.upstreamQuery = withoutQueryParam(ctx.upstreamQuery ?? ctx.query, this.config.query!);
  }
}

function checked(token: string, from: 'header' | 'cookie' | 'query'): TokenFound {
  if (token === '' || token.length > MAX_TOKEN || !B64TOKEN.test(token)) return MALFORMED;
  return { kind: 'ok', token, from };
}

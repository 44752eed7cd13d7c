/**
 * A protected regex route that a public route takes requests from.
 *
 * The router tries, for one host, exact paths, then the longest prefix, then
 * regular expressions (src/routing/router.ts). A public `/` (or `/v1`) therefore
 * takes every request a protected `~ ^/v[0-9]+/private` was written for, and the
 * protected route is silently never reached for them (issue 10, item 7). Such a
 * config is refused at load, naming both routes and the fix.
 *
 * Decided on the routes' path texts, without running the regex over all paths:
 * a public exact path is tested against the regex; a public prefix is compared
 * with the regex's literal start after `^` (an unanchored regex, or one with no
 * literal start, may match under any prefix). Routes compete only within one
 * host table (both without hosts, or naming the same host): a route for a host
 * is tried before routes without hosts, whatever its kind of path.
 */
import { parsePathSpec, type PathSpec } from './path-spec.js';
import type { ConfigPath } from '../config/errors.js';
import type { RouteConfig } from '../config/schema.js';

export interface RouteAccess {
  readonly route: RouteConfig;
  readonly index: number;
  /** An enforced authentication policy runs on the route (its own or a global one). */
  readonly authenticates: boolean;
}

export function checkShadowedRoutes(routes: readonly RouteAccess[], report: (path: ConfigPath, message: string) => void): void {
  const open = routes.filter((r) => !r.authenticates);
  if (open.length === 0) return;
  for (const protectedRoute of routes) {
    if (!protectedRoute.authenticates) continue;
    (protectedRoute.route.match.paths ?? []).forEach((text, p) => {
      const spec = parse(text);
      if (spec?.kind !== 'regex') return;
      const literal = literalStart(spec.source);
      for (const publicRoute of open) {
        if (!sameHostTable(publicRoute.route, protectedRoute.route) || !methodsOverlap(publicRoute.route, protectedRoute.route)) continue;
        const taking = (publicRoute.route.match.paths ?? ['/']).find((other) => {
          const o = parse(other);
          if (!o || o.kind === 'regex') return false;
          return o.kind === 'exact' ? spec.regex.test(o.path) : prefixMayOverlap(o.path, literal);
        });
        if (taking === undefined) continue;
        report(
          ['routes', protectedRoute.index, 'match', 'paths', p],
          `route "${protectedRoute.route.name}" is protected, but the route "${publicRoute.route.name}" (no authentication, path "${taking}") ` +
            `takes requests its regular expression ${JSON.stringify(spec.source)} matches: exact and prefix paths are tried before regular ` +
            `expressions. Narrow "${publicRoute.route.name}" (paths, hosts or methods), or give "${protectedRoute.route.name}" an exact or prefix path`,
        );
        break;
      }
    });
  }
}

function parse(text: string): PathSpec | undefined {
  try {
    return parsePathSpec(text);
  } catch {
    return undefined; // reported where the route is compiled
  }
}

/**
 * The literal text every match must start with: what follows `^` up to the
 * first operator; undefined when the regex is not anchored at the start (it
 * may match anywhere). `\` before a punctuation character is that character.
 */
export function literalStart(source: string): string | undefined {
  if (!source.startsWith('^')) return undefined;
  // A top-level alternation may have an unanchored branch (^/a|/b); any "|" is taken as one.
  if (source.replace(/\\./g, '').includes('|')) return undefined;
  let out = '';
  for (let i = 1; i < source.length; i++) {
    const c = source[i]!;
    let literal: string;
    let next = i + 1;
    if (c === '\\') {
      const e = source[i + 1];
      if (e === undefined || /[A-Za-z0-9]/.test(e)) break; // \d, \w, \b ... are not literal
      literal = e;
      next = i + 2;
    } else if ('^$.|?*+()[]{}'.includes(c)) {
      break;
    } else {
      literal = c;
    }
    // A quantifier after it makes this character optional.
    const after = source[next];
    if (after !== undefined && '?*{'.includes(after)) break;
    out += literal;
    i = next - 1;
  }
  return out;
}

/** Can a path under this prefix (the prefix itself or below it) start with `literal`? */
function prefixMayOverlap(prefix: string, literal: string | undefined): boolean {
  if (literal === undefined || prefix === '/') return true;
  if (prefix.startsWith(literal)) return true; // the regex may go on to match the prefix or below it
  return literal.startsWith(prefix) && (literal.length === prefix.length || literal[prefix.length] === '/');
}

function sameHostTable(a: RouteConfig, b: RouteConfig): boolean {
  const ha = a.match.hosts;
  const hb = b.match.hosts;
  if (ha === undefined || hb === undefined) return ha === hb;
  const set = new Set(ha.map((h) => h.toLowerCase()));
  return hb.some((h) => set.has(h.toLowerCase()));
}

function methodsOverlap(a: RouteConfig, b: RouteConfig): boolean {
  const ma = a.match.methods;
  const mb = b.match.methods;
  if (ma === undefined || mb === undefined) return true;
  const withHead = (m: readonly string[]) => (m.includes('GET') ? [...m, 'HEAD'] : m);
  const set = new Set(withHead(ma));
  return withHead(mb).some((m) => set.has(m));
}

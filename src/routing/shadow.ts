/**
 * A protected route that another route, without its protection, takes
 * requests from.
 *
 * The router tries, for one host, exact paths, then the longest prefix, then
 * regular expressions in config order (src/routing/router.ts); routes naming
 * the request's host before routes without hosts. A public `/` (or `/v1`)
 * therefore takes every request a protected `~ ^/v[0-9]+/private` was written
 * for, and the protected route is silently never reached for them (issue 10,
 * item 7). Such a config is refused at load, naming both routes and the fix.
 *
 * "Protected" is not only authentication: a route is shadowed when it
 * enforces an access-control policy (the authenticate and authorize phases,
 * ip-restriction) that the route taking its requests does not enforce with
 * the same settings. Refused:
 * - an exact or prefix path taking requests a regex was written for (same
 *   host table);
 * - a regex listed before it that may match the same paths (same host table);
 * - a route naming hosts, for the same service, taking requests a route
 *   without hosts was written for (the host's routes are tried first).
 *
 * Decided on the routes' path texts, without running the regex over all paths:
 * an exact path is tested against the regex; a prefix is compared with the
 * regex's literal start after `^` (an unanchored regex, or one with no
 * literal start, may match under any prefix); two regexes overlap unless
 * their literal starts differ.
 */
import { parsePathSpec, type PathSpec } from './path-spec.js';
import type { ConfigPath } from '../config/errors.js';
import type { RouteConfig } from '../config/schema.js';

export interface RouteAccess {
  readonly route: RouteConfig;
  readonly index: number;
  /**
   * The access-control policies the route enforces (not in monitor mode),
   * its own and the global ones it does not skip: a key of the policy and its
   * settings → the policy's name.
   */
  readonly guards: ReadonlyMap<string, string>;
}

/** A policy entry's key for comparing guards: its name and settings, with object keys sorted. */
export function guardKey(name: string, settings: unknown): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
    return v;
  };
  return `${name} ${JSON.stringify(canonical(settings))}`;
}

export function checkShadowedRoutes(routes: readonly RouteAccess[], report: (path: ConfigPath, message: string) => void): void {
  for (const guarded of routes) {
    if (guarded.guards.size === 0) continue;
    const written = guarded.route.match.paths;
    (written ?? ['/']).forEach((text, p) => {
      const spec = parse(text);
      if (!spec) return;
      for (const other of routes) {
        if (other === guarded) continue;
        const lacking = [...new Set([...guarded.guards].filter(([key]) => !other.guards.has(key)).map(([, name]) => name))];
        if (lacking.length === 0 || !methodsOverlap(other.route, guarded.route)) continue;
        const why = shadowing(other, guarded, spec);
        if (!why) continue;
        const protection = [...new Set(guarded.guards.values())].join(', ');
        report(
          written ? ['routes', guarded.index, 'match', 'paths', p] : ['routes', guarded.index, 'match'],
          `route "${guarded.route.name}" is protected (${protection}), but the route "${other.route.name}" (without ${lacking.join(', ')}, ` +
            `path "${why.taking}") takes requests ${why.reason}`,
        );
        break;
      }
    });
  }
}

/** How `other` takes requests that `guarded`'s path `spec` was written for, if it does. */
function shadowing(other: RouteAccess, guarded: RouteAccess, spec: PathSpec): { taking: string; reason: string } | undefined {
  const name = guarded.route.name;
  const otherName = other.route.name;
  const otherPaths = other.route.match.paths ?? ['/'];
  if (sameHostTable(other.route, guarded.route)) {
    if (spec.kind !== 'regex') return undefined; // among exact and prefix paths the most specific wins
    const literal = literalStart(spec.source);
    for (const text of otherPaths) {
      const o = parse(text);
      if (!o) continue;
      if (o.kind !== 'regex') {
        if (o.kind === 'exact' ? spec.regex.test(o.path) : prefixMayOverlap(o.path, literal)) {
          return {
            taking: text,
            reason:
              `its regular expression ${JSON.stringify(spec.source)} matches: exact and prefix paths are tried before regular ` +
              `expressions. Narrow "${otherName}" (paths, hosts or methods), or give "${name}" an exact or prefix path`,
          };
        }
      } else if (other.index < guarded.index && literalsMayOverlap(literalStart(o.source), literal)) {
        return {
          taking: text,
          reason:
            `its regular expression ${JSON.stringify(spec.source)} may match: regular expressions are tried in config order. ` +
            `List "${name}" before "${otherName}", or narrow "${otherName}"`,
        };
      }
    }
    return undefined;
  }
  // A route naming hosts is tried before every route without hosts, for those hosts: it shadows one for the same service.
  if (other.route.match.hosts === undefined || guarded.route.match.hosts !== undefined || other.route.service !== guarded.route.service) return undefined;
  for (const text of otherPaths) {
    const o = parse(text);
    if (o && pathsMayOverlap(o, spec)) {
      return {
        taking: text,
        reason:
          `for the hosts ${other.route.match.hosts.join(', ')} that "${name}" (no hosts) was written for, to the same service: routes naming ` +
          `the request's host are tried before routes without hosts. Narrow "${otherName}", or list those hosts on "${name}" too`,
      };
    }
  }
  return undefined;
}

/** Can one request path match both? */
function pathsMayOverlap(a: PathSpec, b: PathSpec): boolean {
  if (a.kind === 'regex' && b.kind === 'regex') return literalsMayOverlap(literalStart(a.source), literalStart(b.source));
  if (a.kind === 'regex') return pathsMayOverlap(b, a);
  if (b.kind === 'regex') return a.kind === 'exact' ? b.regex.test(a.path) : prefixMayOverlap(a.path, literalStart(b.source));
  if (a.kind === 'exact' && b.kind === 'exact') return a.path === b.path;
  if (a.kind === 'exact') return under(a.path, b.path);
  if (b.kind === 'exact') return under(b.path, a.path);
  return under(a.path, b.path) || under(b.path, a.path);
}

/** `path` is the prefix or below it. */
function under(path: string, prefix: string): boolean {
  if (prefix === '/' || path === prefix) return true;
  return path.startsWith(prefix) && (prefix.endsWith('/') || path[prefix.length] === '/');
}

function literalsMayOverlap(a: string | undefined, b: string | undefined): boolean {
  return a === undefined || b === undefined || a.startsWith(b) || b.startsWith(a);
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

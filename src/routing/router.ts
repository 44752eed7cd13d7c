/**
 * The compiled route table: host → path → method and headers.
 *
 * Most specific wins: an exact host over a wildcard host (longer suffix
 * first) over routes without hosts; within a host, an exact path over the
 * longest prefix over a regex (config order among regexes); among routes on
 * the same path, those with more header and method conditions first, then
 * config order. Lookups are map and trie walks: no scan over all routes.
 */
import RE2 from 're2';
import type { IncomingHttpHeaders } from 'node:http';
import { parsePathSpec } from './path-spec.js';

export interface HeaderCondition {
  readonly name: string;
  readonly exact: string | undefined;
  readonly regex: RE2 | undefined;
}

export interface RouteEntry<R> {
  readonly route: R;
  readonly hosts: readonly string[] | undefined;
  readonly paths: readonly string[] | undefined;
  readonly methods: readonly string[] | undefined;
  readonly headers: readonly HeaderCondition[] | undefined;
}

export interface RouteMatch<R> {
  readonly route: R;
  /** The path prefix the route matched ("" for exact and regex matches): what strip_prefix removes. */
  readonly prefix: string;
}

interface Candidate<R> {
  readonly route: R;
  readonly methods: ReadonlySet<string> | undefined;
  readonly headers: readonly HeaderCondition[] | undefined;
  readonly order: number;
  readonly prefix: string;
}

interface TrieNode<R> {
  children: Map<string, TrieNode<R>> | undefined;
  candidates: Candidate<R>[] | undefined;
}

class PathTable<R> {
  private readonly exact = new Map<string, Candidate<R>[]>();
  private readonly root: TrieNode<R> = { children: undefined, candidates: undefined };
  private readonly regexes: Array<{ regex: RE2; candidate: Candidate<R> }> = [];
  /** All regexes in one automaton: one pass over the path however many regex routes there are. */
  private regexSet: InstanceType<typeof RE2.Set> | undefined;

  /** Called once every route is added. */
  seal(): void {
    if (this.regexes.length > 1) this.regexSet = new RE2.Set(this.regexes.map((r) => r.regex));
  }

  add(pathText: string, candidate: Omit<Candidate<R>, 'prefix'>): void {
    const spec = parsePathSpec(pathText);
    if (spec.kind === 'exact') {
      insertSorted(getOrCreate(this.exact, spec.path), { ...candidate, prefix: '' });
    } else if (spec.kind === 'regex') {
      this.regexes.push({ regex: spec.regex, candidate: { ...candidate, prefix: '' } });
    } else {
      let node = this.root;
      for (const segment of segmentsOf(spec.path)) {
        node.children ??= new Map();
        let child = node.children.get(segment);
        if (!child) {
          child = { children: undefined, candidates: undefined };
          node.children.set(segment, child);
        }
        node = child;
      }
      insertSorted((node.candidates ??= []), { ...candidate, prefix: spec.path === '/' ? '' : spec.path });
    }
  }

  /** Methods of the routes that would take this path with another method; undefined when one takes any method. */
  methods(path: string, headers: IncomingHttpHeaders, into: Set<string>): boolean {
    const collect = (candidates: readonly Candidate<R>[] | undefined): boolean => {
      for (const candidate of candidates ?? []) {
        if (!accepts(candidate, undefined, headers)) continue;
        if (!candidate.methods) return false;
        for (const m of candidate.methods) into.add(m);
      }
      return true;
    };
    if (!collect(this.exact.get(path))) return false;
    let node: TrieNode<R> | undefined = this.root;
    if (!collect(node.candidates)) return false;
    let start = 1;
    while (node?.children && start <= path.length) {
      let end = path.indexOf('/', start);
      if (end === -1) end = path.length;
      if (end === start) break;
      node = node.children.get(path.slice(start, end));
      if (node && !collect(node.candidates)) return false;
      start = end + 1;
    }
    for (const { regex, candidate } of this.regexes) if (regex.test(path) && !collect([candidate])) return false;
    return true;
  }

  match(method: string, path: string, headers: IncomingHttpHeaders): Candidate<R> | undefined {
    const exact = this.exact.get(path);
    if (exact) {
      const found = pick(exact, method, headers);
      if (found) return found;
    }
    // Walk the trie as deep as the path goes, then try the deepest node first.
    const trail: TrieNode<R>[] = [this.root];
    let node: TrieNode<R> | undefined = this.root;
    let start = 1;
    while (node?.children && start <= path.length) {
      let end = path.indexOf('/', start);
      if (end === -1) end = path.length;
      if (end === start) break; // trailing slash
      node = node.children.get(path.slice(start, end));
      if (node) trail.push(node);
      start = end + 1;
    }
    for (let i = trail.length - 1; i >= 0; i--) {
      const candidates = trail[i]!.candidates;
      if (!candidates) continue;
      const found = pick(candidates, method, headers);
      if (found) return found;
    }
    if (this.regexSet) {
      const hits = this.regexSet.match(path);
      if (hits.length === 0) return undefined;
      hits.sort((a, b) => a - b); // config order
      for (const i of hits) {
        const candidate = this.regexes[i]!.candidate;
        if (accepts(candidate, method, headers)) return candidate;
      }
      return undefined;
    }
    const only = this.regexes[0];
    if (only && only.regex.test(path) && accepts(only.candidate, method, headers)) return only.candidate;
    return undefined;
  }
}

export class Router<R> {
  private readonly exactHosts = new Map<string, PathTable<R>>();
  /** Keyed by the suffix after "*", e.g. ".example.com". */
  private readonly wildcardHosts = new Map<string, PathTable<R>>();
  private readonly anyHost = new PathTable<R>();
  private readonly hasHostRoutes: boolean;

  constructor(entries: readonly RouteEntry<R>[]) {
    let order = 0;
    let hostRoutes = false;
    for (const entry of entries) {
      const candidate = {
        route: entry.route,
        methods: entry.methods ? methodSet(entry.methods) : undefined,
        headers: entry.headers && entry.headers.length > 0 ? entry.headers : undefined,
        order: order++,
      };
      const tables: PathTable<R>[] = [];
      if (!entry.hosts) tables.push(this.anyHost);
      else {
        hostRoutes = true;
        for (const host of entry.hosts) {
          const lower = host.toLowerCase();
          if (lower.startsWith('*.')) tables.push(getOrCreateTable(this.wildcardHosts, lower.slice(1)));
          else tables.push(getOrCreateTable(this.exactHosts, lower));
        }
      }
      for (const table of tables) for (const path of entry.paths ?? ['/']) table.add(path, candidate);
    }
    this.hasHostRoutes = hostRoutes;
    for (const table of [this.anyHost, ...this.exactHosts.values(), ...this.wildcardHosts.values()]) table.seal();
  }

  /**
   * After match() found nothing: the methods routes on this host and path
   * accept, sorted, for a 405 with Allow; undefined when no route holds the
   * path for any method (a 404).
   */
  allowedMethods(host: string, path: string, headers: IncomingHttpHeaders): string[] | undefined {
    const methods = new Set<string>();
    const tables: PathTable<R>[] = [];
    if (this.hasHostRoutes) {
      const exact = this.exactHosts.get(host);
      if (exact) tables.push(exact);
      for (let dot = host.indexOf('.'); dot !== -1; dot = host.indexOf('.', dot + 1)) {
        const wildcard = this.wildcardHosts.get(host.slice(dot));
        if (wildcard) tables.push(wildcard);
      }
    }
    tables.push(this.anyHost);
    for (const table of tables) if (!table.methods(path, headers, methods)) return undefined;
    if (methods.size === 0) return undefined;
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  }

  /** host: lower case, without port. path: normalized. */
  match(method: string, host: string, path: string, headers: IncomingHttpHeaders): RouteMatch<R> | undefined {
    if (this.hasHostRoutes) {
      const exact = this.exactHosts.get(host)?.match(method, path, headers);
      if (exact) return exact;
      for (let dot = host.indexOf('.'); dot !== -1; dot = host.indexOf('.', dot + 1)) {
        const found = this.wildcardHosts.get(host.slice(dot))?.match(method, path, headers);
        if (found) return found;
      }
    }
    return this.anyHost.match(method, path, headers);
  }
}

/**
 * A route's methods as the router compares them: exactly as written (RFC 9110
 * §9.1: methods are case-sensitive; src/routing/method.ts refuses any other
 * casing before the router), and HEAD wherever GET is (§9.3.2: HEAD is GET
 * without the body; a HEAD that missed a GET-only protected route fell to a
 * public catch-all, and the protected handler ran for it unauthenticated).
 */
function methodSet(methods: readonly string[]): ReadonlySet<string> {
  const set = new Set(methods);
  if (set.has('GET')) set.add('HEAD');
  return set;
}

function segmentsOf(path: string): string[] {
  return path === '/' ? [] : path.slice(1).split('/');
}

function getOrCreate<K, V>(map: Map<K, V[]>, key: K): V[] {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  return list;
}

function getOrCreateTable<R>(map: Map<string, PathTable<R>>, key: string): PathTable<R> {
  let table = map.get(key);
  if (!table) map.set(key, (table = new PathTable<R>()));
  return table;
}

function specificity(c: Omit<Candidate<unknown>, 'prefix'>): number {
  return (c.headers?.length ?? 0) * 2 + (c.methods ? 1 : 0);
}

/** Keeps the most specific first, config order among equals. */
function insertSorted<R>(list: Candidate<R>[], candidate: Candidate<R>): void {
  const s = specificity(candidate);
  let i = list.length;
  while (i > 0 && specificity(list[i - 1]!) < s) i--;
  list.splice(i, 0, candidate);
}

function pick<R>(candidates: readonly Candidate<R>[], method: string, headers: IncomingHttpHeaders): Candidate<R> | undefined {
  for (const candidate of candidates) if (accepts(candidate, method, headers)) return candidate;
  return undefined;
}

function accepts(candidate: Candidate<unknown>, method: string | undefined, headers: IncomingHttpHeaders): boolean {
  if (method !== undefined && candidate.methods && !candidate.methods.has(method)) return false;
  if (candidate.headers) {
    for (const condition of candidate.headers) {
      const raw = headers[condition.name];
      if (raw === undefined) return false;
      const value = Array.isArray(raw) ? raw.join(', ') : raw;
      if (condition.exact !== undefined ? value !== condition.exact : !condition.regex!.test(value)) return false;
    }
  }
  return true;
}

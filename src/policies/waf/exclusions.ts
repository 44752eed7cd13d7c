/**
 * Per-route exceptions for false positives: turn off some rules (or all) for
 * some targets (a parameter, a header, a JSON path) on some paths. An entry
 * applies when every field it sets matches; a field left out matches all.
 *
 *   exclusions:
 *     - { rules: [sqli], targets: ["body:comment", "query:q"] }
 *     - { paths: ["/v1/search"], targets: ["query:q"] }       # every rule
 *     - { rules: [xss.html-tag], paths: ["= /v1/cms/pages"] }
 */
import { ConfigError } from '../../config/errors.js';
import { parsePathSpec, type PathSpec } from '../../routing/path-spec.js';
import { CATEGORIES, RULES_BY_ID, type Category } from './rules.js';
import type { Location } from './location.js';

export interface ExclusionConfig {
  rules?: string[];
  targets?: string[];
  paths?: string[];
}

/** The rules (ids and categories) excluded for one target, or "all". */
export type RuleFilter = ReadonlySet<string>;

interface TargetSelector {
  readonly location: Location | '*';
  /** undefined: every name in that location. */
  readonly name: string | undefined;
  /** The name ends in "*": a prefix. */
  readonly prefix: boolean;
}

interface Exclusion {
  readonly rules: ReadonlySet<string> | undefined;
  readonly targets: readonly TargetSelector[] | undefined;
  readonly paths: readonly PathSpec[] | undefined;
}

const LOCATIONS: ReadonlySet<string> = new Set(['path', 'query', 'header', 'cookie', 'body', '*']);

function parseTarget(text: string, at: ReadonlyArray<string | number>): TargetSelector {
  const colon = text.indexOf(':');
  const location = (colon === -1 ? text : text.slice(0, colon)).trim().toLowerCase();
  if (!LOCATIONS.has(location)) {
    throw new ConfigError(`target ${JSON.stringify(text)} must start with path, query:, header:, cookie: or body: (e.g. "query:q", "body:user.bio", "header:referer")`, at);
  }
  let name = colon === -1 ? undefined : text.slice(colon + 1).trim();
  if (name === '' || name === '*') name = undefined;
  if (name !== undefined && location === 'header') name = name.toLowerCase();
  const prefix = name?.endsWith('*') ?? false;
  return { location: location as Location | '*', name: prefix ? name!.slice(0, -1) : name, prefix };
}

function matchesTarget(selector: TargetSelector, location: Location, name: string): boolean {
  if (selector.location !== '*' && selector.location !== location) return false;
  if (selector.name === undefined) return true;
  return selector.prefix ? name.startsWith(selector.name) : name === selector.name;
}

function matchesPath(spec: PathSpec, path: string): boolean {
  switch (spec.kind) {
    case 'exact':
      return path === spec.path;
    case 'prefix':
      return spec.path === '/' || path === spec.path || path.startsWith(spec.path + '/');
    case 'regex':
      return spec.regex.test(path);
  }
}

export class Exclusions {
  private readonly entries: readonly Exclusion[];

  constructor(configs: readonly ExclusionConfig[]) {
    this.entries = configs.map((config, i) => {
      const base = ['exclusions', i];
      for (const [k, id] of (config.rules ?? []).entries()) {
        if (!RULES_BY_ID.has(id) && !CATEGORIES.includes(id as Category)) {
          throw new ConfigError(`unknown rule or category ${JSON.stringify(id)} (categories: ${CATEGORIES.join(', ')}; rule ids are listed in docs/policies/waf.md)`, [...base, 'rules', k]);
        }
      }
      const paths = config.paths?.map((p, k) => {
        try {
          return parsePathSpec(p);
        } catch (err) {
          throw new ConfigError((err as Error).message, [...base, 'paths', k]);
        }
      });
      return {
        rules: config.rules ? new Set(config.rules) : undefined,
        targets: config.targets?.map((t, k) => parseTarget(t, [...base, 'targets', k])),
        paths,
      };
    });
  }

  get empty(): boolean {
    return this.entries.length === 0;
  }

  /** The exclusions that apply on this path; undefined when none do (the common case). */
  forPath(path: string): PathExclusions | undefined {
    if (this.entries.length === 0) return undefined;
    const active = this.entries.filter((e) => !e.paths || e.paths.some((p) => matchesPath(p, path)));
    return active.length === 0 ? undefined : new PathExclusions(active);
  }
}

export class PathExclusions {
  constructor(private readonly active: readonly Exclusion[]) {}

  /** The rules excluded for one target: "all", a set of ids and categories, or undefined for none. */
  filterFor(location: Location, name: string): RuleFilter | 'all' | undefined {
    let filter: Set<string> | undefined;
    for (const entry of this.active) {
      if (entry.targets && !entry.targets.some((t) => matchesTarget(t, location, name))) continue;
      if (!entry.rules) return 'all';
      filter ??= new Set();
      for (const rule of entry.rules) filter.add(rule);
    }
    return filter;
  }
}

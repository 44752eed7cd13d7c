/**
 * The checks between parts of a config: names unique per section, a route's
 * service, anonymous consumer and skipped policies naming things that exist.
 * They read the document as it is, tolerating any shape, so that they run
 * even when the schema refused something elsewhere: a file with ten schema
 * errors and a route naming a missing service shows all eleven in one run.
 * Compile reports the same findings from here, so each is written once.
 */
import { didYouMean, type ConfigPath } from './errors.js';

export interface CrossRefIssue {
  path: ConfigPath;
  message: string;
}

const NAMED_SECTIONS = ['listeners', 'services', 'routes', 'consumers', 'functions'] as const;

type Entry = Record<string, unknown>;

function isEntry(value: unknown): value is Entry {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function entries(data: Entry, section: string): Array<[number, Entry]> {
  const list = data[section];
  if (!Array.isArray(list)) return [];
  return list.flatMap((item, i): Array<[number, Entry]> => (isEntry(item) ? [[i, item]] : []));
}

function names(data: Entry, section: string): string[] {
  return entries(data, section).flatMap(([, item]) => (typeof item.name === 'string' ? [item.name] : []));
}

/** The name a policy entry (`{ jwt: {...} }`) carries, when it has the one key an entry has. */
function policyName(entry: unknown): string | undefined {
  if (!isEntry(entry)) return undefined;
  const keys = Object.keys(entry);
  return keys.length === 1 ? keys[0] : undefined;
}

/** Suggestions ("did you mean") are made for this many distinct missing names at most, each at most this long: each costs a pass over the candidates. */
const MAX_SUGGESTIONS = 20;
const MAX_SUGGESTED_LENGTH = 64;
/** Known names are listed in a message only when there are this few. */
const MAX_LISTED = 10;

interface Hint {
  /** A close name ("did you mean"). */
  readonly close?: string;
  /** The names there are, when few. */
  readonly listed?: string;
}

/** What a message about a missing name can add: a close name, or the few there are; computed once per missing name. */
function hinter(candidates: readonly string[]): (missing: string) => Hint {
  const closes = new Map<string, string | undefined>();
  const unique = [...new Set(candidates)];
  const listed = unique.length > 0 && unique.length <= MAX_LISTED ? unique.join(', ') : undefined;
  return (missing) => {
    let close = closes.get(missing);
    if (!closes.has(missing) && closes.size < MAX_SUGGESTIONS) {
      close = missing.length <= MAX_SUGGESTED_LENGTH ? didYouMean(missing, unique) : undefined;
      closes.set(missing, close);
    }
    return close !== undefined ? { close } : { listed };
  };
}

export function crossReferenceIssues(document: unknown): CrossRefIssue[] {
  if (!isEntry(document)) return [];
  const issues: CrossRefIssue[] = [];
  for (const section of NAMED_SECTIONS) {
    const firstAt = new Map<string, number>();
    for (const [i, item] of entries(document, section)) {
      if (typeof item.name !== 'string') continue;
      const first = firstAt.get(item.name);
      if (first !== undefined) issues.push({ path: [section, i, 'name'], message: `"${item.name}" is already the name of ${section}[${first}]` });
      else firstAt.set(item.name, i);
    }
  }
  const services = names(document, 'services');
  const consumers = names(document, 'consumers');
  const globalPolicies = Array.isArray(document.global_policies) ? document.global_policies.flatMap((e) => policyName(e) ?? []) : [];
  const serviceSet = new Set(services);
  const consumerSet = new Set(consumers);
  const globalSet = new Set(globalPolicies);
  const serviceHint = hinter(services);
  const consumerHint = hinter(consumers);
  const policyHint = hinter(globalPolicies);
  for (const [r, route] of entries(document, 'routes')) {
    if (typeof route.service === 'string' && !serviceSet.has(route.service)) {
      const hint = serviceHint(route.service);
      const more = hint.close ? `; did you mean "${hint.close}"?` : hint.listed ? ` (services: ${hint.listed})` : '';
      issues.push({ path: ['routes', r, 'service'], message: `no service named "${route.service}"${more}` });
    }
    if (typeof route.anonymous === 'string' && !consumerSet.has(route.anonymous)) {
      const hint = consumerHint(route.anonymous);
      issues.push({ path: ['routes', r, 'anonymous'], message: `no consumer named "${route.anonymous}"${hint.close ? `; did you mean "${hint.close}"?` : ''}` });
    }
    if (Array.isArray(route.skip)) {
      route.skip.forEach((name, i) => {
        if (typeof name !== 'string' || globalSet.has(name)) return;
        const hint = policyHint(name);
        const more = hint.close
          ? `; did you mean "${hint.close}"?`
          : hint.listed
            ? ` (global policies: ${hint.listed})`
            : globalPolicies.length === 0
              ? ' (there are no global policies)'
              : '';
        issues.push({ path: ['routes', r, 'skip', i], message: `"${name}" is not a global policy${more}` });
      });
    }
  }
  return issues;
}

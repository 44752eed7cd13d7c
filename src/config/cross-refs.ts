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
  for (const [r, route] of entries(document, 'routes')) {
    if (typeof route.service === 'string' && !services.includes(route.service)) {
      const hint = didYouMean(route.service, services);
      const known = hint ? `; did you mean "${hint}"?` : services.length > 0 ? ` (services: ${[...new Set(services)].join(', ')})` : '';
      issues.push({ path: ['routes', r, 'service'], message: `no service named "${route.service}"${known}` });
    }
    if (typeof route.anonymous === 'string' && !consumers.includes(route.anonymous)) {
      const hint = didYouMean(route.anonymous, consumers);
      issues.push({ path: ['routes', r, 'anonymous'], message: `no consumer named "${route.anonymous}"${hint ? `; did you mean "${hint}"?` : ''}` });
    }
    if (Array.isArray(route.skip)) {
      route.skip.forEach((name, i) => {
        if (typeof name !== 'string' || globalPolicies.includes(name)) return;
        const hint = didYouMean(name, globalPolicies);
        const known = globalPolicies.length > 0 ? ` (global policies: ${[...new Set(globalPolicies)].join(', ')})` : ' (there are no global policies)';
        issues.push({ path: ['routes', r, 'skip', i], message: `"${name}" is not a global policy${hint ? `; did you mean "${hint}"?` : known}` });
      });
    }
  }
  return issues;
}

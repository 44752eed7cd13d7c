/**
 * The difference between two config views as a list of JSON paths: what was
 * added, removed or changed, with values as the views hold them (secrets as
 * "[secret]": a changed secret shows as changed, never as what it was or is).
 * Lists of named things (routes, services, consumers, listeners) are matched
 * by name, so inserting a route does not show as every later route changed.
 * Bounded: a record holds at most MAX_CHANGES changes, each value at most
 * MAX_VALUE_BYTES of JSON.
 */
import { Masked } from './view.js';

export const MAX_CHANGES = 200;
export const MAX_VALUE_BYTES = 1024;

export type Change =
  | { readonly op: 'added'; readonly path: string; readonly after: unknown }
  | { readonly op: 'removed'; readonly path: string; readonly before: unknown }
  | { readonly op: 'changed'; readonly path: string; readonly before: unknown; readonly after: unknown };

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Masked);
}

function equal(a: unknown, b: unknown): boolean {
  if (a instanceof Masked || b instanceof Masked) return a instanceof Masked && b instanceof Masked && a.fingerprint === b.fingerprint;
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => equal(x, b[i]));
  if (isRecord(a) && isRecord(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) if (!equal(a[key], b[key])) return false;
    return true;
  }
  return a === b;
}

/** The name every item of a list carries, uniquely, or undefined when the list is not a list of named things. */
function names(list: unknown[]): string[] | undefined {
  const out: string[] = [];
  for (const item of list) {
    if (!isRecord(item) || typeof item.name !== 'string') return undefined;
    out.push(item.name);
  }
  return new Set(out).size === out.length ? out : undefined;
}

function keyPath(base: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? (base ? `${base}.${key}` : key) : `${base}[${JSON.stringify(key)}]`;
}

/** A value as a record holds it: the view's JSON (secrets masked), or a note of its size when it is too large. */
function shown(value: unknown): unknown {
  const json = JSON.stringify(value) ?? 'null';
  if (Buffer.byteLength(json) <= MAX_VALUE_BYTES) return JSON.parse(json) as unknown;
  return `(${Buffer.byteLength(json)} bytes of JSON, not shown)`;
}

export function diffViews(before: unknown, after: unknown): { changes: Change[]; omitted: number } {
  const changes: Change[] = [];
  let omitted = 0;
  const push = (change: Change) => {
    if (changes.length < MAX_CHANGES) changes.push(change);
    else omitted++;
  };
  const visit = (a: unknown, b: unknown, path: string): void => {
    if (equal(a, b)) return;
    if (isRecord(a) && isRecord(b)) {
      for (const key of Object.keys(a)) {
        if (a[key] === undefined) continue;
        if (b[key] === undefined) push({ op: 'removed', path: keyPath(path, key), before: shown(a[key]) });
        else visit(a[key], b[key], keyPath(path, key));
      }
      for (const key of Object.keys(b)) if (a[key] === undefined && b[key] !== undefined) push({ op: 'added', path: keyPath(path, key), after: shown(b[key]) });
      return;
    }
    if (Array.isArray(a) && Array.isArray(b)) {
      const na = names(a);
      const nb = names(b);
      if (na && nb) {
        const byName = new Map(b.map((item, i) => [nb[i]!, item]));
        a.forEach((item, i) => {
          const at = `${path}[name=${na[i]!}]`;
          if (byName.has(na[i]!)) visit(item, byName.get(na[i]!), at);
          else push({ op: 'removed', path: at, before: shown(item) });
        });
        const had = new Set(na);
        b.forEach((item, i) => {
          if (!had.has(nb[i]!)) push({ op: 'added', path: `${path}[name=${nb[i]!}]`, after: shown(item) });
        });
        if (na.filter((n) => nb.includes(n)).join('\n') !== nb.filter((n) => na.includes(n)).join('\n')) {
          push({ op: 'changed', path: `${path}(order)`, before: shown(na), after: shown(nb) });
        }
        return;
      }
      const shared = Math.min(a.length, b.length);
      for (let i = 0; i < shared; i++) visit(a[i], b[i], `${path}[${i}]`);
      for (let i = shared; i < a.length; i++) push({ op: 'removed', path: `${path}[${i}]`, before: shown(a[i]) });
      for (let i = shared; i < b.length; i++) push({ op: 'added', path: `${path}[${i}]`, after: shown(b[i]) });
      return;
    }
    push({ op: 'changed', path: path || '(root)', before: shown(a), after: shown(b) });
  };
  visit(before, after, '');
  return { changes, omitted };
}

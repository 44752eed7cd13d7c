/**
 * The three kinds of route path a user writes: "/prefix" (on segment
 * boundaries), "= /exact", "~ regex" (RE2).
 */
import RE2 from 're2';
import { normalizePath } from './normalize.js';

export type PathSpec =
  | { kind: 'prefix'; path: string }
  | { kind: 'exact'; path: string }
  | { kind: 'regex'; source: string; regex: RE2 };

/** Parses a route path; throws with a message fit for a config error. */
export function parsePathSpec(text: string): PathSpec {
  const trimmed = text.trim();
  if (trimmed.startsWith('~')) {
    const source = trimmed.slice(1).trim();
    try {
      return { kind: 'regex', source, regex: new RE2(source) };
    } catch (err) {
      throw new Error(`invalid regular expression ${JSON.stringify(source)}: ${(err as Error).message}`);
    }
  }
  const exact = trimmed.startsWith('=');
  const raw = exact ? trimmed.slice(1).trim() : trimmed;
  if (!raw.startsWith('/')) throw new Error(`a route path starts with "/", "= /" or "~": got ${JSON.stringify(text)}`);
  const normalized = normalizePath(raw, { keepEscapedSlashes: true, keepPathParameters: true });
  if (!normalized.ok) throw new Error(`route path ${JSON.stringify(text)} is not a valid path (${normalized.reason})`);
  if (exact) return { kind: 'exact', path: normalized.path };
  // A prefix matches on segment boundaries: "/v1/orders/" and "/v1/orders" are the same prefix.
  const path = normalized.path.length > 1 && normalized.path.endsWith('/') ? normalized.path.slice(0, -1) : normalized.path;
  return { kind: 'prefix', path };
}


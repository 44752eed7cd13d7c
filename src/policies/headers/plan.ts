/**
 * One direction's header changes, checked and put in the order they apply:
 * remove, rename, set, add. Every name is checked at load: a token (RFC 9110
 * §5.1), not one the gateway keeps for itself (reach.ts), and named once in
 * its direction (a name both set and removed says two things).
 */
import type { Static } from '@sinclair/typebox';
import { ConfigError } from '../../config/errors.js';
import { isToken, outOfReach } from './reach.js';
import type { HeadersSchema } from './schema.js';
import { compileTemplate, type Template } from './template.js';

export type Direction = 'request' | 'response';

export interface Plan {
  readonly remove: readonly string[];
  readonly rename: readonly (readonly [from: string, to: string])[];
  readonly set: readonly (readonly [name: string, value: Template])[];
  readonly add: readonly (readonly [name: string, values: readonly Template[]])[];
  readonly empty: boolean;
}

export function compilePlan(changes: Static<typeof HeadersSchema>[Direction], direction: Direction, requestIdHeader: string, errors: ConfigError[]): Plan {
  const seen = new Map<string, string>();
  const name = (raw: string, path: (string | number)[]): string => {
    const where = [direction, ...path];
    if (!isToken(raw)) {
      errors.push(new ConfigError(`${JSON.stringify(raw.slice(0, 64))} is not a header name (letters, digits and !#$%&'*+.^_\`|~- only)`, where));
      return raw;
    }
    const lower = raw.toLowerCase();
    const why = outOfReach(lower, direction, requestIdHeader);
    if (why) errors.push(new ConfigError(`${lower} is ${why}: out of the headers policy's reach`, where));
    const first = seen.get(lower);
    if (first !== undefined) errors.push(new ConfigError(`${lower} is already changed by ${first}; name each header once`, where));
    else seen.set(lower, path.join('.'));
    return lower;
  };
  const remove = changes.remove.map((n, i) => name(n, ['remove', i]));
  const rename = Object.entries(changes.rename).map(([from, to]) => [name(from, ['rename', from]), name(to, ['rename', from])] as const);
  const set = Object.entries(changes.set).map(([n, v]) => [name(n, ['set', n]), template(v, [direction, 'set', n], errors)] as const);
  const add = Object.entries(changes.add).map(([n, v]) => {
    const values = Array.isArray(v) ? v : [v];
    return [name(n, ['add', n]), values.map((text, i) => template(text, [direction, 'add', n, ...(Array.isArray(v) ? [i] : [])], errors))] as const;
  });
  return { remove, rename, set, add, empty: remove.length + rename.length + set.length + add.length === 0 };
}

function template(text: string, path: (string | number)[], errors: ConfigError[]): Template {
  try {
    return compileTemplate(text, path);
  } catch (err) {
    if (err instanceof ConfigError) errors.push(err);
    else throw err;
    return () => undefined;
  }
}

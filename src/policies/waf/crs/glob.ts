/**
 * File names matching an Include or rules_dir pattern with `*` wildcards
 * (`REQUEST-9*.conf`, `plugins/*-before.conf`): the pattern is the user's,
 * so it becomes an RE2 expression (linear time), with every other character
 * taken literally.
 */
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import RE2 from 're2';

/** The files of `pattern`'s folder whose names match its last segment, sorted; the path itself when it has no `*`. */
export function expandGlob(pattern: string): string[] {
  if (!basename(pattern).includes('*')) return [pattern];
  const dir = dirname(pattern);
  const name = basename(pattern)
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&'))
    .join('.*');
  const re = new RE2(`^${name}$`);
  return readdirSync(dir)
    .filter((n) => re.test(n))
    .sort()
    .map((n) => join(dir, n));
}

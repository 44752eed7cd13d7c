/**
 * The CRS engine's entry: builds a rule set from the gateway's setup, the
 * vendored OWASP CRS (or a rules_dir of the user's choosing) and the user's
 * includes, and keeps it while the inputs are unchanged so that a reload does
 * not compile 600 rules again.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expandGlob } from './glob.js';
import { prefilterFor } from './prefilter.js';
import { RuleSet } from './ruleset.js';
import { setupText, type SetupOptions } from './setup.js';
import type { UnmappedUnicode } from './transforms.js';

export { CrsTransaction, type RuleMatch, type Interruption } from './engine.js';
export { RuleSet } from './ruleset.js';
export { SecLangError } from './parser.js';
export { processBody } from './request-body.js';

/** The CRS shipped with the gateway (vendor/crs/rules, unchanged). */
export const VENDORED_CRS = fileURLToPath(new URL('../../../../vendor/crs/rules/', import.meta.url));

export interface CrsOptions extends SetupOptions {
  /** Directory of the CRS rules (REQUEST-*.conf); the vendored CRS when left out. */
  readonly rulesDir?: string;
  /** SecLang files (globs allowed in the name) loaded after the setup; files named *-after.conf after the rules. */
  readonly include?: readonly string[];
  /** SecLang written by the gateway before the rules (runtime exclusions by path) and after them (configure-time ones). */
  readonly before?: string;
  readonly after?: string;
  /** Run the response rules (RESPONSE-95x) too. */
  readonly responses?: boolean;
  /** How t:urlDecodeUni reads a code point the best-fit table lacks: 'letter' (the default) or 'low-byte' (ModSecurity's reading). */
  readonly unmappedUnicode?: UnmappedUnicode;
}

function ruleFiles(dir: string, responses: boolean): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.conf') && (n.startsWith('REQUEST-') || (responses && n.startsWith('RESPONSE-'))))
    .sort()
    .map((n) => join(dir, n));
}

const cache = new Map<string, RuleSet>();

/** Builds (or reuses) the rule set. Throws SecLangError with file and line. */
export function loadCrs(options: CrsOptions): RuleSet {
  const dir = resolve(options.rulesDir ?? VENDORED_CRS);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`rules_dir ${dir} is not a directory`);
  const includes = (options.include ?? []).flatMap((path) => expandGlob(resolve(path)));
  const before = includes.filter((f) => !f.endsWith('-after.conf'));
  const afterFiles = includes.filter((f) => f.endsWith('-after.conf'));
  const files = [...before, ...ruleFiles(dir, options.responses ?? false), ...afterFiles];
  const texts = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));
  const setup = setupText(options);
  const unmappedUnicode = options.unmappedUnicode ?? 'letter';
  const hash = createHash('sha256').update(unmappedUnicode).update('\0').update(setup).update('\0').update(options.before ?? '').update('\0').update(options.after ?? '');
  for (const [f, t] of texts) hash.update('\0').update(f).update('\0').update(t);
  const key = hash.digest('hex');
  const cached = cache.get(key);
  if (cached) return cached;
  const set = new RuleSet({ readFile: (p) => texts.get(p) ?? readFileSync(p, 'utf8'), unmappedUnicode });
  set.loadText(setup, '<waf setup>');
  if (options.before) set.loadText(options.before, '<waf exclusions>');
  for (const f of before) set.loadFile(f);
  for (const f of ruleFiles(dir, options.responses ?? false)) set.loadFile(f);
  for (const f of afterFiles) set.loadFile(f);
  if (options.after) set.loadText(options.after, '<waf exclusions>');
  prefilterFor(set); // the literal automaton is built with the rules, so a reload reuses it and no request pays for it
  if (cache.size >= 8) cache.delete(cache.keys().next().value!);
  cache.set(key, set);
  return set;
}

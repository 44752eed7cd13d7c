/**
 * One RE2.Set per transformation chain over the static @rx patterns of every
 * rule (and chain link) that uses that chain: a value is scanned once per
 * chain instead of once per rule, and a rule whose pattern the Set did not
 * report is skipped without calling its own regex (which runs only to take
 * captures). This is what turns ~300 N-API calls per value into a handful.
 */
import RE2 from 're2';
import type { Rule } from './model.js';
import { bytePattern } from './operators.js';
import type { RuleSet } from './ruleset.js';

type RE2Set = InstanceType<typeof RE2.Set>;

export interface PrefilterSlot {
  readonly group: string;
  readonly index: number;
}

export interface Prefilter {
  readonly sets: ReadonlyMap<string, RE2Set>;
  readonly slots: ReadonlyMap<Rule, PrefilterSlot>;
}

const built = new WeakMap<RuleSet, Prefilter>();

export function prefilterFor(set: RuleSet): Prefilter {
  const cached = built.get(set);
  if (cached) return cached;
  const patterns = new Map<string, string[]>();
  const slots = new Map<Rule, PrefilterSlot>();
  for (const list of set.phases) {
    for (const item of list) {
      if (item.kind !== 'rule') continue;
      for (let r: Rule | undefined = item.rule; r; r = r.chained) {
        const p = r.operator.setPattern;
        if (p === undefined || r.multiMatch) continue;
        const group = r.transformKey;
        const list2 = patterns.get(group) ?? [];
        patterns.set(group, list2);
        slots.set(r, { group, index: list2.length });
        list2.push(bytePattern(p));
      }
    }
  }
  const sets = new Map<string, RE2Set>();
  for (const [group, list] of patterns) {
    try {
      sets.set(group, new RE2.Set(list, '', { anchor: 'unanchored' }));
    } catch {
      // a Set RE2 cannot build (memory budget): those rules run their own regexes
      for (const [rule, slot] of slots) if (slot.group === group) slots.delete(rule);
    }
  }
  const out = { sets, slots };
  built.set(set, out);
  return out;
}

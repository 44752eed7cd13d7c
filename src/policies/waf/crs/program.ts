/**
 * A phase's rules as the engine walks them: markers taken out and every
 * skipAfter resolved at load to the place its marker stands. CRS gates each
 * paranoia level of each file with a rule that skips to the file's end marker;
 * at paranoia 1 that is half the rules, which the walk now jumps over in one
 * step instead of visiting each to compare its marker name.
 */
import type { PhaseItem, Rule } from './model.js';
import type { RuleSet } from './ruleset.js';

export interface PhaseProgram {
  /** The phase's rules in order, without the markers. */
  readonly rules: readonly Rule[];
  /**
   * Per rule: where the walk goes on when it matched and has skipAfter: the index of the first rule after the first
   * marker of that name that follows it (rules.length when none follows: the rest of the phase is skipped, as
   * ModSecurity does); -1 without skipAfter.
   */
  readonly jumps: Int32Array;
}

export function phaseProgram(items: readonly PhaseItem[]): PhaseProgram {
  const rules: Rule[] = [];
  // per marker name, the rule positions (so far) waiting for it
  const waiting = new Map<string, number[]>();
  const jumps: number[] = [];
  for (const item of items) {
    if (item.kind === 'marker') {
      const list = waiting.get(item.name);
      if (list) {
        for (const at of list) jumps[at] = rules.length;
        waiting.delete(item.name);
      }
      continue;
    }
    const at = rules.length;
    rules.push(item.rule);
    jumps.push(-1);
    const target = item.rule.skipAfter;
    if (target !== undefined) {
      const list = waiting.get(target);
      if (list) list.push(at);
      else waiting.set(target, [at]);
    }
  }
  // no marker of that name after the rule: skip to the end of the phase
  for (const list of waiting.values()) for (const at of list) jumps[at] = rules.length;
  return { rules, jumps: Int32Array.from(jumps) };
}

const programs = new WeakMap<RuleSet, { revision: number; phases: (PhaseProgram | undefined)[] }>();

/** The phase's program, made once per rule set (and again if rules were loaded into it since). */
export function programFor(set: RuleSet, phase: number): PhaseProgram {
  let held = programs.get(set);
  if (!held || held.revision !== set.revision) {
    held = { revision: set.revision, phases: [] };
    programs.set(set, held);
  }
  return (held.phases[phase] ??= phaseProgram(set.phases[phase]!));
}

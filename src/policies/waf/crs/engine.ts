/**
 * Runs a rule set's phases over a transaction: targets resolved, values
 * transformed (once per value and transformation chain), operators applied,
 * chains followed, actions run, skipAfter to markers, and every logged match
 * recorded for the security events.
 */
import type { Rule, TargetExclusion } from './model.js';
import type { RuleSet } from './ruleset.js';
import { applyCtl, applySetVar } from './actions.js';
import { Transaction, type MatchedVar, type RequestData } from './transaction.js';
import { excluded, REQUEST_VARIABLES, resolve, type Value } from './variables.js';
import type { Target } from './model.js';
import { prefilterFor, type Prefilter } from './prefilter.js';

export interface RuleMatch {
  readonly id: number;
  readonly phase: number;
  readonly msg: string;
  readonly logdata: string;
  readonly tags: readonly string[];
  readonly severity: number | undefined;
  readonly paranoia: number;
  /** The variable that matched, as named in logs: ARGS:q, REQUEST_HEADERS:User-Agent. */
  readonly variable: string;
  /** What it matched (the transformed value), unredacted: the caller redacts. */
  readonly data: string;
}

export interface Interruption {
  readonly id: number;
  readonly action: 'deny' | 'drop' | 'redirect';
  readonly status: number;
}

/** Values longer than this are inspected by their first bytes only: a bound on every operator's work. */
export const MAX_VALUE = 256 * 1024;

export class CrsTransaction extends Transaction {
  readonly matches: RuleMatch[] = [];
  interruption: Interruption | undefined;
  /** "allow" stopped evaluation. */
  allowed = false;
  private transformCache = new Map<string, Map<string, string[]>>();
  /** Per transformation chain: which Set patterns each transformed value matched. */
  private setCache = new Map<string, Map<string, ReadonlySet<number>>>();
  private readonly prefilter: Prefilter;
  /** The request variables' values by target, before exclusions: hundreds of rules read the same ARGS. */
  private readonly valueCache = new Map<string, Value[]>();

  /** The body was read: ARGS, FILES and XML changed. */
  bodyProcessed(): void {
    this.valueCache.clear();
  }

  private values(target: Target, exclusions: readonly { name: string }[]): Value[] {
    if (!REQUEST_VARIABLES.has(target.name)) return resolve(this, target, exclusions as Parameters<typeof resolve>[2]);
    const key = `${target.name}\0${target.key ?? ''}\0${target.keyRegex?.source ?? ''}`;
    let all = this.valueCache.get(key);
    if (!all) {
      all = resolve(this, target, []);
      this.valueCache.set(key, all);
    }
    const relevant = (exclusions as Parameters<typeof resolve>[2]).filter((x) => x.name === target.name);
    if (relevant.length === 0) return all;
    if (target.name === 'XML') return excluded('XML', target.key, relevant) ? [] : all;
    return all.filter((v) => !excluded(target.name, v.key, relevant));
  }

  constructor(
    readonly ruleSet: RuleSet,
    request: RequestData,
  ) {
    super(request, ruleSet.engine);
    this.prefilter = prefilterFor(ruleSet);
  }

  /** Whether the rule's pattern can match `value`, from its chain's Set (one scan per value and chain). */
  private setAllows(rule: Rule, value: string): boolean {
    const slot = this.prefilter.slots.get(rule);
    // long values go to each rule's own regex: a Set's DFA over a hostile 64 KB value took seconds
    if (!slot || value.length > 2048) return true;
    let byValue = this.setCache.get(slot.group);
    if (!byValue) {
      byValue = new Map();
      this.setCache.set(slot.group, byValue);
    }
    let hits = byValue.get(value);
    if (!hits) {
      hits = new Set(this.prefilter.sets.get(slot.group)!.match(value));
      byValue.set(value, hits);
    }
    return hits.has(slot.index);
  }

  /** Runs one phase (1: headers, 2: body, 3, 4: response). Stops at an interruption. */
  runPhase(phase: number): void {
    if (this.engineMode === 'Off' || this.interruption || this.allowed) return;
    const items = this.ruleSet.phases[phase]!;
    let skipTo: string | undefined;
    let skip = 0;
    for (const item of items) {
      if (item.kind === 'marker') {
        if (skipTo === item.name) skipTo = undefined;
        continue;
      }
      if (skipTo !== undefined) continue;
      if (skip > 0) {
        skip--;
        continue;
      }
      const rule = item.rule;
      if (this.isRemoved(rule)) continue;
      if (!this.evaluate(rule)) continue;
      if (rule.skipAfter !== undefined) skipTo = rule.skipAfter;
      if (rule.skip > 0) skip = rule.skip;
      const d = rule.disruptive;
      if (d === 'allow') {
        this.allowed = true;
        return;
      }
      if ((d === 'deny' || d === 'drop' || d === 'redirect') && this.engineMode === 'On') {
        this.interruption = { id: rule.id, action: d, status: rule.status ?? 403 };
        return;
      }
    }
  }

  private isRemoved(rule: Rule): boolean {
    if (this.removedIds.size > 0 && this.removedIds.has(rule.id)) return true;
    if (this.removedTags.length > 0) for (const t of this.removedTags) if (rule.tags.includes(t)) return true;
    return false;
  }

  private exclusionsFor(rule: Rule, top: Rule): readonly TargetExclusion[] {
    const byId = this.removedTargets.get(top.id);
    let extra: TargetExclusion[] | undefined;
    if (this.removedTargetsByTag.length > 0) {
      for (const r of this.removedTargetsByTag) if (top.tags.includes(r.tag)) (extra ??= []).push(r.exclusion);
    }
    if (!byId && !extra) return rule.exclusions;
    return [...rule.exclusions, ...(byId ?? []), ...(extra ?? [])];
  }

  /** The whole chain; actions and the log entry only when every link matched. */
  private evaluate(top: Rule): boolean {
    this.currentRule = top;
    let first: MatchedVar | undefined;
    for (let link: Rule | undefined = top; link; link = link.chained) {
      const matched = this.evaluateLink(link, top);
      if (matched.length === 0) return false;
      first ??= matched[0];
    }
    if (top.log) {
      const last = this.matchedVar ?? first!;
      this.matches.push({
        id: top.id,
        phase: top.phase,
        msg: this.expand(top.msg ?? ''),
        logdata: this.expand(top.logdata ?? ''),
        tags: top.tags,
        severity: top.severity,
        paranoia: top.paranoia,
        variable: (first ?? last).name,
        data: (first ?? last).value,
      });
    }
    return true;
  }

  private evaluateLink(rule: Rule, top: Rule): MatchedVar[] {
    const matched: MatchedVar[] = [];
    if (rule.unconditional) {
      matched.push({ name: '', value: '' });
      this.matchedVars = matched;
      for (const sv of rule.setvars) applySetVar(this, sv);
      for (const ctl of rule.ctls) applyCtl(this, ctl, top);
      return matched;
    }
    const exclusions = this.exclusionsFor(rule, top);
    const values: Value[] = [];
    for (const target of rule.targets) {
      const found = this.values(target, exclusions);
      if (target.count) values.push({ name: target.key ? `${target.name}:${target.key}` : target.name, value: String(found.length), key: undefined });
      else for (const v of found) values.push(v);
    }
    const captures = rule.capture ? ([] as string[]) : undefined;
    const run = { expand: (s: string) => this.expand(s), captures };
    const required = rule.operator.required;
    for (const v of values) {
      const raw = v.value.length > MAX_VALUE ? v.value.slice(0, MAX_VALUE) : v.value;
      const candidates = this.transformed(raw, rule);
      for (const value of candidates) {
        if (required !== undefined && value.indexOf(required) === -1) continue;
        if (!this.setAllows(rule, value)) continue;
        if (!rule.operator.match(value, run)) continue;
        const m = { name: v.name, value };
        matched.push(m);
        this.matchedVar = m;
        if (captures) for (let i = 0; i < captures.length; i++) this.vars.set(String(i), captures[i]!);
        // a link's actions run for each value it matches, as in ModSecurity: the next link reads what they set
        // (920420's tx.content_type, 920450's one tx.header_name_* per header)
        for (const sv of rule.setvars) applySetVar(this, sv);
        for (const ctl of rule.ctls) applyCtl(this, ctl, top);
        break;
      }
    }
    this.matchedVars = matched;
    return matched;
  }

  /** The value after the rule's transformations (every step when multiMatch), cached per value and chain. */
  private transformed(value: string, rule: Rule): readonly string[] {
    const chain = rule.transforms;
    if (chain.length === 0) return [value];
    let byChain = this.transformCache.get(value);
    const cacheable = value.length < 8192;
    if (cacheable && byChain) {
      const hit = byChain.get(rule.transformKey);
      if (hit && !rule.multiMatch) return hit;
    }
    const steps: string[] = [value];
    let v = value;
    for (const t of chain) {
      v = t(v);
      steps.push(v);
    }
    const result = rule.multiMatch ? [...new Set(steps)] : [v];
    if (cacheable && !rule.multiMatch) {
      if (!byChain) {
        byChain = new Map();
        this.transformCache.set(value, byChain);
      }
      byChain.set(rule.transformKey, result);
    }
    return result;
  }
}

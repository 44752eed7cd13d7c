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
import { prefilterFor, scanLiterals, type Prefilter, type RawFacts, type ValueFacts } from './prefilter.js';
import { chainBreakers, charFlags } from './transform-identity.js';
import { MAX_MEMO_KEY } from './memo.js';
import { isCredentialName } from '../../../pipeline/credential-names.js';
import { programFor } from './program.js';

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
  /** Per raw value: its transformed forms by transformation-chain prefix ("lowercase", "lowercase,urldecodeuni" ...). */
  private transformCache = new Map<string, Map<string, string>>();
  /** Per transformation, long inputs and what it made of them. */
  private stepCache = new Map<string, Map<string, string>>();
  /** Characters held by transformCache: a bound on what one request can make the engine keep. */
  private transformCached = 0;
  /** Per distinct (transformed) value: which rules' required literals it holds, which pure operators do not match it. */
  private factsCache = new Map<string, ValueFacts>();
  /** Per raw value: its slots by chain id (chainHits). */
  private rawChains = new Map<string, RawFacts>();
  /** Static targets' values and what they hold, by target id. */
  private targetInfos: (TargetInfo | undefined)[] = [];
  private readonly prefilter: Prefilter;
  /** The request variables' values by target, before exclusions: hundreds of rules read the same ARGS. */
  private readonly valueCache = new Map<string, Value[]>();
  /** The same less a rule's static exclusions, by TargetPlan.key. */
  private readonly filteredCache = new Map<string, Value[]>();

  /**
   * transformed()'s answer when it is one value: reused, not allocated per call. Its callers read it before they call
   * transformed() again (no caller nests: operators, literal scans and actions do not transform).
   */
  private readonly one: string[] = [''];
  /** This request's secrets (cookie values, credential headers, password-like arguments): never remembered across requests. */
  private secretList: string[] | undefined;
  /** Values holding a secret and what the transformations made of them. */
  private readonly secretForms = new Set<string>();

  /** The operators' view of this transaction, one object for every rule (captures set per rule). */

  private readonly run: { expand: (s: string) => string; captures: string[] | undefined } = { expand: (s) => this.expand(s), captures: undefined };

  /** The body was read: ARGS, FILES and XML changed. */
  bodyProcessed(): void {
    this.valueCache.clear();
    this.filteredCache.clear();
    this.secretList = undefined;
    this.targetInfos = [];
  }

  /**
   * The response was read (crs-response.ts): its body and its Set-Cookie and credential-named headers are secrets
   * too (secretsOf), so the list is made again for the response phases.
   */
  responseRead(): void {
    this.secretList = undefined;
  }

  /** A request variable's values before exclusions, by targetKey(target): resolved once per request (and body). */
  private requestValues(target: Target, key: string): Value[] {
    let all = this.valueCache.get(key);
    if (!all) {
      all = resolve(this, target, []);
      this.valueCache.set(key, all);
    }
    return all;
  }

  private values(target: Target, exclusions: readonly { name: string }[]): Value[] {
    if (!REQUEST_VARIABLES.has(target.name)) return resolve(this, target, exclusions as Parameters<typeof resolve>[2]);
    const all = this.requestValues(target, targetKey(target));
    if (exclusions.length === 0) return all;
    const relevant = (exclusions as Parameters<typeof resolve>[2]).filter((x) => x.name === target.name);
    if (relevant.length === 0) return all;
    if (target.name === 'XML') return excluded('XML', target.key, relevant) ? [] : all;
    return all.filter((v) => !excluded(target.name, v.key, relevant));
  }

  /**
   * A request variable's values less a rule's own exclusions (no ctl added any), kept per request by what is excluded:
   * the rules of a family share their exclusions (!REQUEST_COOKIES:/__utm/ ...), and each filter asks RE2 per key.
   */
  private plannedValues(target: Target, plan: TargetPlan): Value[] {
    if (plan.relevant.length === 0) return this.values(target, NO_EXCLUSIONS);
    let out = this.filteredCache.get(plan.key);
    if (!out) {
      out = this.values(target, plan.relevant);
      this.filteredCache.set(plan.key, out);
    }
    return out;
  }

  constructor(
    readonly ruleSet: RuleSet,
    request: RequestData,
  ) {
    super(request, ruleSet.engine);
    this.prefilter = prefilterFor(ruleSet);
  }

  /** Which rules' required literals `value` holds (one scan per distinct value). */
  private literalHits(value: string): readonly number[] {
    const facts = this.facts(value);
    let hits = facts.hits;
    if (!hits) {
      hits = scanLiterals(this.prefilter, value);
      facts.hits = hits;
      if (value.length <= MAX_MEMO_KEY) this.prefilter.valueMemo.grow(hits.length);
    }
    return hits;
  }

  /** What is known of `value`: from this request, else from earlier ones (memo.ts), else fresh. */
  private facts(value: string): ValueFacts {
    let facts = this.factsCache.get(value);
    if (!facts) {
      const memo = this.prefilter.valueMemo;
      const shared = value.length <= MAX_MEMO_KEY && !this.isSecret(value);
      facts = shared ? memo.get(value) : undefined;
      if (!facts) {
        facts = { hits: undefined, clean: undefined, shared };
        if (shared) memo.set(value, facts, 0);
      }
      this.factsCache.set(value, facts);
    }
    return facts;
  }

  /**
   * Whether `value` holds one of this request's secrets or was made from one: such values are not remembered across
   * requests (memo.ts), so no credential outlives its request in the engine's memory.
   */
  private isSecret(value: string): boolean {
    const secrets = (this.secretList ??= secretsOf(this));
    if (secrets.length === 0) return false;
    if (this.secretForms.has(value)) return true;
    for (const s of secrets) {
      if (value.includes(s)) {
        this.secretForms.add(value);
        return true;
      }
    }
    return false;
  }

  /** Whether `value` holds one of the literals every match of the rule's regex contains. */
  private literalsAllow(slot: number, rule: Rule, value: string): boolean {
    const hit = this.literalHits(value).includes(slot);
    if (!hit && CHECK && rule.operator.match(value, { expand: (x) => x, captures: undefined })) {
      process.stderr.write(`PREFILTER UNSOUND rule ${rule.id} value ${JSON.stringify(value.slice(0, 200))}\n`);
      return true;
    }
    return hit;
  }

  /** A static target's values (before exclusions), the characters they hold, and the rules' literals they hold as sent. */
  private targetInfo(target: Target, id: number): TargetInfo {
    let info = this.targetInfos[id];
    if (!info) {
      const values = this.values(target, NO_EXCLUSIONS);
      const raws: string[] = [];
      const each: number[] = [];
      let flags = 0;
      for (const v of values) {
        const raw = v.value.length > MAX_VALUE ? v.value.slice(0, MAX_VALUE) : v.value;
        raws.push(raw);
        const f = charFlags(raw);
        each.push(f);
        flags |= f;
      }
      info = { raws, flags, each, own: [], rawHits: undefined, chains: undefined };
      this.targetInfos[id] = info;
    }
    return info;
  }

  /**
   * Whether any value the rule can read (its targets before exclusions, through its transformations) holds one of its
   * literals. A value its chain leaves as it is (no "%" for urlDecode ...) is scanned once for every rule: when every
   * value of a target is such, the rule costs one lookup in the target's hits. Otherwise each value is asked for its
   * hits through the rule's chain (chainHits: one array read once known, for this request and, not for secrets,
   * across requests).
   */
  private anyValueAllows(slot: number, plan: UnionPlan, rule: Rule): boolean {
    for (let i = 0; i < rule.targets.length; i++) {
      const target = rule.targets[i]!;
      const info = this.targetInfo(target, plan.targetIds[i]!);
      const raws = info.raws;
      if (raws.length === 0) continue;
      if ((info.flags & plan.breakers) === 0) {
        const bits = (info.rawHits ??= this.bitsOf(info));
        if (bits.length !== 0 && (bits[slot >>> 5]! & (1 << (slot & 31))) !== 0) return true;
        continue;
      }
      const chains = (info.chains ??= []);
      for (let k = 0; k < raws.length; k++) {
        let hits: readonly number[];
        if ((info.each[k]! & plan.breakers) === 0) hits = (info.own[k] ??= this.literalHits(raws[k]!));
        else {
          const byChain = (chains[k] ??= this.rawFacts(raws[k]!).byChain);
          hits = byChain[plan.chainId] ?? this.chainHits(raws[k]!, byChain, plan.chainId, rule);
        }
        if (hits.length !== 0 && hits.indexOf(slot) !== -1) return true;
      }
    }
    return false;
  }

  /**
   * The slots the values' literals stand for, as bits (32 a word): a target's values as sent, asked by every rule
   * reading the target through a chain that leaves them as they are. Joining lists of slots per value copied them
   * once per value with hits (a JSON body's 30 arguments); no hits at all is the empty list.
   */
  private bitsOf(info: TargetInfo): readonly number[] {
    let bits: number[] | undefined;
    for (let k = 0; k < info.raws.length; k++) {
      const hits = (info.own[k] ??= this.literalHits(info.raws[k]!));
      if (hits.length === 0) continue;
      bits ??= new Array<number>((this.prefilter.size + 31) >>> 5).fill(0);
      for (const slot of hits) bits[slot >>> 5]! |= 1 << (slot & 31);
    }
    return bits ?? NO_HITS;
  }

  /** What is known of a raw value (before transformation): for this request and (not for secrets) across requests. */
  private rawFacts(raw: string): RawFacts {
    let facts = this.rawChains.get(raw);
    if (!facts) {
      const memo = this.prefilter.rawMemo;
      const shared = raw.length <= MAX_MEMO_KEY && !this.isSecret(raw);
      facts = shared ? memo.get(raw) : undefined;
      if (!facts) {
        facts = { byChain: [], clean: undefined, shared };
        if (shared) memo.set(raw, facts, 0);
      }
      this.rawChains.set(raw, facts);
    }
    return facts;
  }

  /** The slots whose literals `raw`'s forms through the rule's chain hold, worked out and kept in `byChain`. */
  private chainHits(raw: string, byChain: (readonly number[] | undefined)[], chainId: number, rule: Rule): readonly number[] {
    let hits = NO_HITS;
    for (const value of this.transformed(raw, rule)) hits = joined(hits, this.literalHits(value));
    byChain[chainId] = hits;
    if (raw.length <= MAX_MEMO_KEY) this.prefilter.rawMemo.grow(hits.length + 1);
    return hits;
  }

  /** Runs one phase (1: headers, 2: body, 3, 4: response). Stops at an interruption. */
  runPhase(phase: number): void {
    if (this.engineMode === 'Off' || this.interruption || this.allowed) return;
    const program = programFor(this.ruleSet, phase);
    const rules = program.rules;
    const jumps = program.jumps;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (this.isRemoved(rule)) continue;
      if (!this.evaluate(rule)) continue;
      // skipAfter lands after its marker (resolved at load, program.ts); skip counts rules, not markers
      let next = jumps[i]! >= 0 ? jumps[i]! : i + 1;
      if (rule.skip > 0) next += rule.skip;
      i = next - 1;
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

  /** The link's setvars and ctls, run for a match. */
  private act(rule: Rule, top: Rule): void {
    for (const sv of rule.setvars) applySetVar(this, sv);
    for (const ctl of rule.ctls) applyCtl(this, ctl, top);
  }

  private exclusionsFor(rule: Rule, top: Rule): readonly TargetExclusion[] {
    if (this.removedTargets.size === 0 && this.removedTargetsByTag.length === 0) return rule.exclusions;
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

  private evaluateLink(rule: Rule, top: Rule): readonly MatchedVar[] {
    const link = linkOf(rule, this.prefilter, this.ruleSet.revision);
    if (link.unconditional) {
      this.matchedVars = UNCONDITIONAL;
      if (link.actions) this.act(rule, top);
      return UNCONDITIONAL;
    }
    const single = link.single;
    if (single !== undefined && (this.exclusionsFor(rule, top) === rule.exclusions)) {
      // TX:name or &TX:name, untransformed, compared by a number or string operator: what ~150 rules of a GET are
      // (901's defaults, the paranoia gates, the score checks); read straight from TX, as resolve() would give it
      const e = this.vars.getEntryLower(single.key);
      let matched: MatchedVar[] = NO_MATCH;
      if (single.count || e !== undefined) {
        const name = single.count ? single.label : `TX:${e!.key}`;
        const value = single.count ? (e === undefined ? '0' : '1') : e!.value;
        this.run.captures = undefined;
        if (rule.operator.match(value.length > MAX_VALUE ? value.slice(0, MAX_VALUE) : value, this.run)) {
          const m = { name, value: value.length > MAX_VALUE ? value.slice(0, MAX_VALUE) : value };
          matched = [m];
          this.matchedVar = m;
          if (link.actions) this.act(rule, top);
        }
      }
      this.matchedVars = matched;
      return matched;
    }
    const slot = link.slot;
    const unionSaysNo = slot !== undefined && link.union !== undefined && !this.anyValueAllows(slot, link.union, rule);
    if (unionSaysNo && !CHECK) {
      this.matchedVars = NO_MATCH;
      return NO_MATCH;
    }
    const matched: MatchedVar[] = [];
    const exclusions = this.exclusionsFor(rule, top);
    const plans = exclusions === rule.exclusions ? link.targetPlans : undefined;
    const values: Value[] = [];
    for (let ti = 0; ti < rule.targets.length; ti++) {
      const target = rule.targets[ti]!;
      const tp = plans?.[ti];
      const found = tp === undefined || !tp.request ? this.values(target, exclusions) : tp.relevant.length === 0 ? this.requestValues(target, tp.valuesKey) : this.plannedValues(target, tp);
      if (target.count) values.push({ name: target.key ? `${target.name}:${target.key}` : target.name, value: String(found.length), key: undefined });
      else for (const v of found) values.push(v);
    }
    const captures = rule.capture ? ([] as string[]) : undefined;
    const run = this.run;
    run.captures = captures;
    const required = rule.operator.required;
    const pureSlot = link.pureSlot;
    for (const v of values) {
      const raw = v.value.length > MAX_VALUE ? v.value.slice(0, MAX_VALUE) : v.value;
      // a pure link (operator with a fixed argument; transformations and the prefilter are functions of the value)
      // found not to match this raw value before: one lookup instead of its transformation and literal lookups
      let known: RawFacts | undefined;
      if (pureSlot !== undefined && !CHECK && raw.length <= MAX_MEMO_KEY) {
        // the facts ride on a request variable's value object (kept for the request): one lookup per value, not per rule
        const held = v.facts;
        if (held != null) known = held;
        else {
          known = this.rawFacts(raw);
          if (held === null) v.facts = known;
        }
        if (!known.shared) known = undefined;
      }
      if (known?.clean !== undefined && known.clean[pureSlot!] === 1) continue;
      let hit = false;
      const candidates = this.transformed(raw, rule);
      for (const value of candidates) {
        if (required !== undefined && value.indexOf(required) === -1) continue;
        if (slot !== undefined && !this.literalsAllow(slot, rule, value)) continue;
        let facts = pureSlot !== undefined && value.length <= MAX_MEMO_KEY ? this.facts(value) : undefined;
        // a secret's facts last one request, where each link reads it once: no array for them
        if (facts !== undefined && !facts.shared) facts = undefined;
        if (facts?.clean !== undefined && facts.clean[pureSlot!] === 1) continue;
        if (!rule.operator.match(value, run)) {
          if (facts) {
            if (facts.clean === undefined) {
              facts.clean = new Uint8Array(this.prefilter.pureSlots.size);
              this.prefilter.valueMemo.grow(facts.clean.length);
            }
            facts.clean[pureSlot!] = 1;
          }
          continue;
        }
        if (CHECK && unionSaysNo) process.stderr.write(`PREFILTER UNSOUND (targets) rule ${rule.id} ${v.name} ${JSON.stringify(value.slice(0, 200))}\n`);
        const m = { name: v.name, value };
        matched.push(m);
        this.matchedVar = m;
        if (captures) for (let i = 0; i < captures.length; i++) this.vars.set(String(i), captures[i]!);
        // a link's actions run for each value it matches, as in ModSecurity: the next link reads what they set
        // (920420's tx.content_type, 920450's one tx.header_name_* per header)
        if (link.actions) this.act(rule, top);
        hit = true;
        break;
      }
      if (known !== undefined && !hit) {
        if (known.clean === undefined) {
          known.clean = new Uint8Array(this.prefilter.pureSlots.size);
          this.prefilter.rawMemo.grow(known.clean.length);
        }
        known.clean[pureSlot!] = 1;
      }
    }
    this.matchedVars = matched.length === 0 ? NO_MATCH : matched;
    return this.matchedVars;
  }

  /**
   * One transformation of a long input, kept by transformation and input: chains that reach the same string by
   * different prefixes (utf8toUnicode leaves ASCII as it is) decode it once.
   */
  private step(name: string, transform: (s: string) => string, input: string): string {
    if (input.length < 256) return transform(input);
    let byInput = this.stepCache.get(name);
    if (!byInput) this.stepCache.set(name, (byInput = new Map<string, string>()));
    let out = byInput.get(input);
    if (out === undefined) {
      out = transform(input);
      if (this.transformCached < MAX_TRANSFORM_CACHE) {
        byInput.set(input, out);
        this.transformCached += out.length + 16;
      }
    }
    return out;
  }

  /**
   * The value after the rule's transformations (every step when multiMatch).
   * Each step's result is kept per raw value and chain prefix, so rules whose
   * chains share a beginning share the work, and no value is decoded twice.
   */
  private transformed(value: string, rule: Rule): readonly string[] {
    const chain = rule.transforms;
    const one = this.one;
    if (chain.length === 0) {
      one[0] = value;
      return one;
    }
    const keys = prefixKeys(rule);
    let byPrefix = this.transformCache.get(value);
    const memo = this.prefilter.chainMemo;
    let shared = false;
    if (!byPrefix) {
      shared = value.length <= MAX_MEMO_KEY && !this.isSecret(value);
      byPrefix = shared ? memo.get(value) : undefined;
      if (!byPrefix) {
        byPrefix = new Map();
        if (shared) memo.set(value, byPrefix, 0);
      }
      this.transformCache.set(value, byPrefix);
    }
    const last = chain.length - 1;
    if (!rule.multiMatch) {
      const hit = byPrefix.get(keys[last]!);
      if (hit !== undefined) {
        one[0] = hit;
        return one;
      }
    }
    const steps: string[] | undefined = rule.multiMatch ? [value] : undefined;
    // asked once per call, not per step: the forms of a secret are secrets too
    const secret = this.secretForms.size > 0 && this.secretForms.has(value);
    let v = value;
    for (let i = 0; i <= last; i++) {
      const cached = byPrefix.get(keys[i]!);
      if (cached !== undefined) v = cached;
      else {
        v = this.step(rule.transformNames[i]!, chain[i]!, v);
        if (this.transformCached < MAX_TRANSFORM_CACHE) {
          byPrefix.set(keys[i]!, v);
          this.transformCached += v.length + 16;
          if (value.length <= MAX_MEMO_KEY) memo.grow(v.length + 16);
        }
        if (secret) this.secretForms.add(v);
      }
      steps?.push(v);
    }
    if (steps !== undefined) return [...new Set(steps)];
    one[0] = v;
    return one;
  }
}

/** Header and argument names whose values are credentials. */
const SECRET_NAME = /pass|pwd|secret|token|auth|sess|sid|cookie|credential|api[-_]?key|signature|otp|jwt|bearer/i;

/** A credential-looking name, or one a policy reads a credential from (key-auth's `header: X-Client-Key`, `query: key`). */
function secretName(name: string): boolean {
  return SECRET_NAME.test(name) || isCredentialName(name);
}

/** The values of a request that are secrets: cookies, credential-named headers and arguments, the response's body and cookies (4 characters or more). */
function secretsOf(tx: CrsTransaction): string[] {
  const out: string[] = [];
  const add = (v: string): void => {
    if (v.length >= 4) out.push(v);
  };
  for (const e of tx.cookies.entries) add(e.value);
  for (const e of tx.headers.entries) if (secretName(e.key)) add(e.value);
  for (const e of tx.argsGet.entries) if (secretName(e.key)) add(e.value);
  let bodySecret = false;
  for (const e of tx.argsPost.entries) {
    if (secretName(e.key) && e.value.length >= 4) {
      add(e.value);
      bodySecret = true;
    }
  }
  // an XML body's credential-named elements and attributes (<password>, token="..."), as the parse read them
  const xml = tx.xml;
  if (xml !== undefined) {
    const named = (values: readonly string[], names: readonly string[] | undefined): void => {
      if (names !== undefined) for (let i = 0; i < values.length; i++) if (secretName(names[i] ?? '') && values[i]!.length >= 4) {
        add(values[i]!);
        bodySecret = true;
      }
    };
    named(xml.texts, xml.textNames);
    named(xml.attributes, xml.attributeNames);
  }
  // the body as sent holds such a value in its own spelling, which need not contain the value as read: JSON's
  // "hunt\u0065r2" is "hunter2" (red team s8), as a urlencoded body's "hunter2%21" is "hunter2!" (below)
  const requestBody = tx.scalars.get('REQUEST_BODY');
  if (bodySecret && requestBody !== undefined) add(requestBody);
  // the same values as sent, still percent-encoded: QUERY_STRING, REQUEST_URI and a urlencoded REQUEST_BODY hold
  // "password=hunter2%21", which does not contain the decoded secret "hunter2!" (red team s6)
  rawSecrets(tx.scalars.get('QUERY_STRING'), add);
  if (tx.scalars.get('REQBODY_PROCESSOR') === 'URLENCODED') rawSecrets(tx.scalars.get('REQUEST_BODY'), add);
  // the response (read once its phases run): a body holds what the upstream gives one caller (an access_token, their
  // data), Set-Cookie the sessions it issues (red team s8)
  const body = tx.scalars.get('RESPONSE_BODY');
  if (body !== undefined) add(body);
  for (const e of tx.responseHeaders.entries) if (e.key.toLowerCase() === 'set-cookie' || secretName(e.key)) add(e.value);
  return out;
}

/** The raw values of the credential-named pairs of urlencoded text (whose names match as sent or decoded). */
function rawSecrets(text: string | undefined, add: (v: string) => void): void {
  if (text === undefined || text.indexOf('%') === -1 && text.indexOf('+') === -1) return;
  let pairs = 0;
  for (const pair of text.split('&')) {
    if (++pairs > 1024) break;
    const eq = pair.indexOf('=');
    if (eq === -1) continue;
    const value = pair.slice(eq + 1);
    if (value.indexOf('%') === -1 && value.indexOf('+') === -1) continue;
    const name = pair.slice(0, eq);
    if (secretName(name) || secretName(name.replace(/\+/g, ' ').replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))))) add(value);
  }
}

const LINK = Symbol('link');

/** What never changes of how a rule link is evaluated, worked out once per rule set revision (not per request). */
interface Link {
  readonly revision: number;
  readonly unconditional: boolean;
  /** The link reads one TX variable straight (singleTxOf). */
  readonly single: SingleTx | undefined;
  /** Its prefilter slot (prefilter.ts), and the plan of the per-target check, when its targets allow it. */
  readonly slot: number | undefined;
  readonly union: UnionPlan | undefined;
  readonly pureSlot: number | undefined;
  readonly targetPlans: readonly TargetPlan[];
  /** It has setvars or ctls. */
  readonly actions: boolean;
}

function linkOf(rule: Rule, prefilter: Prefilter, revision: number): Link {
  const holder = rule as Rule & { [LINK]?: Link };
  let link = holder[LINK];
  if (link === undefined || link.revision !== revision) {
    link = {
      revision,
      unconditional: rule.unconditional,
      single: singleTxOf(rule),
      slot: prefilter.slots.get(rule),
      union: planOf(rule, prefilter),
      pureSlot: prefilter.pureSlots.get(rule),
      targetPlans: targetPlansOf(rule),
      actions: rule.setvars.length > 0 || rule.ctls.length > 0,
    };
    holder[LINK] = link;
  }
  return link;
}

/** What an unconditional link (SecAction) matched; and what a link that did not match left in MATCHED_VARS (never changed). */
const UNCONDITIONAL: MatchedVar[] = [{ name: '', value: '' }];
const NO_MATCH: MatchedVar[] = [];

interface TargetPlan {
  /** The target is a request variable (REQUEST_VARIABLES): its values are kept per request. */
  readonly request: boolean;
  /** targetKey of the target. */
  readonly valuesKey: string;
  /** The rule's exclusions that name the target's variable. */
  readonly relevant: readonly TargetExclusion[];
  /** The target and those exclusions, as a key of the values left. */
  readonly key: string;
}

/** Per target of the rule: which of its own exclusions apply, and the key of the values they leave. */
function targetPlansOf(rule: Rule): readonly TargetPlan[] {
  return rule.targets.map((t) => {
    const relevant = rule.exclusions.filter((x) => x.name === t.name);
    const key = `${targetKey(t)}\0${relevant.map((x) => `${x.key ?? ''}\u0001${x.keyRegex?.source ?? ''}`).join('\u0002')}`;
    return { request: REQUEST_VARIABLES.has(t.name), valuesKey: targetKey(t), relevant, key };
  });
}

/** Operators the single-TX path takes: they neither capture nor read more than the value and their argument. */
const SIMPLE_OPERATORS: ReadonlySet<string> = new Set(['eq', 'lt', 'le', 'gt', 'ge', 'streq', 'within', 'contains', 'beginswith', 'endswith']);

interface SingleTx {
  readonly key: string;
  readonly count: boolean;
  /** A count's variable name as logged (&TX:x logs TX:x). */
  readonly label: string;
}

/** A link whose one target is a named TX variable (or its count), with no transformation, exclusion, prefilter or capture. */
function singleTxOf(rule: Rule): SingleTx | undefined {
  const t = rule.targets[0];
  const ok =
    rule.targets.length === 1 && t !== undefined && t.name === 'TX' && t.key !== undefined && t.keyRegex === undefined && rule.transforms.length === 0 &&
    !rule.multiMatch && !rule.capture && rule.exclusions.length === 0 && SIMPLE_OPERATORS.has(rule.operator.name) && rule.operator.setPattern === undefined;
  return ok ? { key: t.key.toLowerCase(), count: t.count, label: `TX:${t.key}` } : undefined;
}

/** Debugging the prefilter: run every skipped regex and report one that matched. */
const CHECK = process.env.CRS_PREFILTER_CHECK === '1';

const NO_EXCLUSIONS: readonly TargetExclusion[] = [];

/** Variables whose values stay the same through a phase (rules cannot change them). */
const STATIC_SCALARS: ReadonlySet<string> = new Set([
  'REQUEST_FILENAME', 'REQUEST_BASENAME', 'REQUEST_LINE', 'REQUEST_URI', 'REQUEST_URI_RAW', 'QUERY_STRING', 'REQUEST_METHOD',
  'REQUEST_PROTOCOL', 'REQUEST_BODY', 'PATH_INFO',
]);

interface TargetInfo {
  /** The values, cut at MAX_VALUE. */
  readonly raws: readonly string[];
  /** charFlags of all of them together. */
  readonly flags: number;
  /** charFlags of each. */
  readonly each: readonly number[];
  /** Each one's literal hits as sent, once asked (a lookup of its facts per rule otherwise). */
  readonly own: (readonly number[] | undefined)[];
  /** Per value, its slots by chain id (byChain), once asked. */
  chains: (readonly number[] | undefined)[][] | undefined;
  /** Slots of the rules whose literals the values hold untransformed, as bits (bitsOf). */
  rawHits: readonly number[] | undefined;
}

const NO_HITS: readonly number[] = [];

/**
 * Slot lists joined. Kept as lists, not a typed array per (chain, target) pair: benign values hit few slots or none,
 * and a typed array of every slot, allocated outside the heap for each of ~150 pairs per request, was the largest
 * single cost of a GET in the profile. A list no value added to stays the shared empty one; one value's hits are
 * shared, not copied (they are never changed).
 */
function joined(union: readonly number[], hits: readonly number[]): readonly number[] {
  if (hits.length === 0) return union;
  if (union.length === 0) return hits;
  const out = union.concat(hits);
  // many values (a body of 1,000 arguments) repeat slots: keep the list no longer than the slots there are
  return out.length > 256 ? [...new Set(out)] : out;
}

/** Compiled-rule annotations the engine keeps on the rule objects themselves (a WeakMap lookup per rule was a tenth of a GET's cost). */
const TARGET_KEY = Symbol('targetKey');

function targetKey(target: Target): string {
  const holder = target as Target & { [TARGET_KEY]?: string };
  let key = holder[TARGET_KEY];
  if (key === undefined) {
    key = `${target.name}\0${target.key ?? ''}\0${target.keyRegex?.source ?? ''}`;
    holder[TARGET_KEY] = key;
  }
  return key;
}

interface UnionPlan {
  /** chainBreakers of the rule's transformations. */
  readonly breakers: number;
  /** Per target: the id of its values (the transaction's targetInfos index). */
  readonly targetIds: readonly number[];
  /** The chain's id (prefilter.chainIds). */
  readonly chainId: number;
}

/**
 * How the prefilter judges a rule before reading its values one by one: only when every target holds the request as
 * sent (not TX or MATCHED_VARS, which rules change during a phase) and none is a count. Targets and transformation
 * chains get small integer ids per rule set, so a request finds what it computed by index, not by string key.
 */
function planOf(rule: Rule, prefilter: Prefilter): UnionPlan | undefined {
  const fixed = rule.targets.every((t) => !t.count && (REQUEST_VARIABLES.has(t.name) || STATIC_SCALARS.has(t.name)));
  if (!fixed) return undefined;
  const chain = `${rule.transformKey}${rule.multiMatch ? '+' : ''}`;
  const ids = prefilter.ids;
  const idOf = (key: string): number => {
    let id = ids.get(key);
    if (id === undefined) ids.set(key, (id = ids.size));
    return id;
  };
  let chainId = prefilter.chainIds.get(chain);
  if (chainId === undefined) prefilter.chainIds.set(chain, (chainId = prefilter.chainIds.size));
  return { breakers: chainBreakers(rule.transformNames), targetIds: rule.targets.map((t) => idOf(`T\0${targetKey(t)}`)), chainId };
}

/** Characters of transformed values one request may keep cached (about 8 MB of latin1 strings). */
const MAX_TRANSFORM_CACHE = 8 * 1024 * 1024;

const PREFIXES = Symbol('prefixKeys');

/** "a", "a,b", "a,b,c" for a rule whose chain is a, b, c: the cache keys of each step (kept on the rule: a WeakMap lookup per value cost more than the rest). */
function prefixKeys(rule: Rule): readonly string[] {
  const holder = rule as Rule & { [PREFIXES]?: string[] };
  let keys = holder[PREFIXES];
  if (!keys) {
    keys = rule.transformNames.map((_, i) => rule.transformNames.slice(0, i + 1).join(','));
    holder[PREFIXES] = keys;
  }
  return keys;
}

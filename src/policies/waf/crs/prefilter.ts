/**
 * Required-literal prefilter: for every static, non-negated @rx (and chain
 * link) whose regex names literals one of which each match must contain
 * (literals.ts), one dense Aho-Corasick automaton holds the literals of all
 * the rules. Each distinct (transformed) value is scanned once; a rule none of
 * whose literals is in it is skipped without calling RE2. Benign values hold none of "<script", "union", "/etc/" ..., so
 * most regexes never run; a rule whose pattern names no literal runs its regex
 * as before.
 */
import type { Rule } from './model.js';
import { bytePattern } from './operators.js';
import { DenseAho } from './aho.js';
import { FOLD_SOURCES, foldChar, literalScore, requiredLiterals, type Squeeze } from './literals.js';
import type { RuleSet } from './ruleset.js';
import { MAX_MEMO_KEY, ValueMemo } from './memo.js';

export interface Prefilter {
  /** Every required literal of every prefiltered rule, folded. */
  readonly aho: DenseAho;
  /** The rule slots each phrase of the automaton stands for. */
  readonly slotsOf: readonly (readonly number[])[];
  /** Each prefiltered rule's (or chain link's) slot. */
  readonly slots: ReadonlyMap<Rule, number>;
  readonly size: number;
  /** Per value seen before (any request): its literal hits and the pure operators found not to match it. */
  readonly valueMemo: ValueMemo<ValueFacts>;
  /** Each rule link whose operator is pure (operators.ts): its place in ValueFacts.clean. */
  readonly pureSlots: ReadonlyMap<Rule, number>;
  /** Per raw value seen before (any request): its transformed forms by chain prefix ("lowercase,urldecodeuni"). */
  readonly chainMemo: ValueMemo<Map<string, string>>;
  /** Small integer ids of the engine's per-request caches (targets, chain and target pairs), by key. */
  readonly ids: Map<string, number>;
  /** Small integer ids of the transformation chains the per-target check reads values through. */
  readonly chainIds: Map<string, number>;
  /**
   * Per raw value seen before (any request): by chain id, the slots whose literals its transformed forms hold (what
   * the per-target check asks of each value for each chain), and the pure links that did not match it; functions of
   * the value alone.
   */
  readonly rawMemo: ValueMemo<RawFacts>;
  /** 1 at the slots whose literals hold for the value squeezed (SQUEEZE): looked for in it, all of them hit when it holds "$". */
  readonly squeezed: Uint8Array;
  /** Those slots, listed. */
  readonly squeezedSlots: readonly number[];
  /** scan()'s per-slot stamps, and the last stamp given. */
  readonly seen: Uint32Array;
  readonly stamp: Uint32Array;
}

/**
 * CRS's evasion pattern between the letters of a command word (regex-assembly's cmdline processor): quotes, ")",
 * "[", backslashes, and a $variable. A value without "$", those characters deleted, holds the word whole.
 */
export const SQUEEZE: Squeeze = { absent: '$', deletable: '"\')[\\' };
const DELETABLE = /["')[\\]/g;

/** The value with the squeezed characters taken out. */
export function squeeze(value: string): string {
  return value.replace(DELETABLE, '');
}

/** Literal sets at or under this score (a letter or digit among them) are weak: the squeezed analysis is tried. */
const WEAK = 2 * 10000;

/** What is known of one (transformed) value, for every request that holds it. */
export interface ValueFacts {
  /** scanLiterals' answer, once asked. */
  hits: readonly number[] | undefined;
  /** 1 at the pure slots whose operator did not match the value. */
  clean: Uint8Array | undefined;
  /** Kept across requests (not a secret, not too long): only then is `clean` worth its array. */
  readonly shared: boolean;
}

/** What is known of one raw value (before transformations), for every request that holds it. */
export interface RawFacts {
  /** By chain id (prefilter.chainIds): the slots whose literals its forms through that chain hold. */
  readonly byChain: (readonly number[] | undefined)[];
  /** 1 at the pure slots (prefilter.pureSlots) whose link, transformations and operator, did not match it. */
  clean: Uint8Array | undefined;
  /** Kept across requests (not a secret, not too long): only then is `clean` worth its array. */
  readonly shared: boolean;
}

const NONE: readonly number[] = [];

/**
 * The slots of the rules that may match `value` by their literals, each once (none, for most benign values): one of
 * its literals is in the value, or for a squeezed slot in the value squeezed, or the value holds "$".
 */
export function scanLiterals(prefilter: Prefilter, value: string): readonly number[] {
  if (prefilter.squeezedSlots.length === 0) return scan(prefilter, value, undefined, 0);
  const dollar = value.indexOf('$') !== -1;
  DELETABLE.lastIndex = 0;
  const squeezable = !dollar && DELETABLE.test(value);
  if (!dollar && !squeezable) return scan(prefilter, value, undefined, 0);
  // the squeezed slots answer for the squeezed value (or all hit, with "$"), the others for the value as it is
  const hits = scan(prefilter, value, prefilter.squeezed, 0) as number[];
  const out = hits === NONE ? [] : hits;
  if (dollar) {
    for (const slot of prefilter.squeezedSlots) out.push(slot);
  } else {
    for (const slot of scan(prefilter, squeeze(value), prefilter.squeezed, 1)) out.push(slot);
  }
  return out.length === 0 ? NONE : out;
}

/** The slots the value's literals stand for; with `only`, those whose byte in it is (or is not) `want`. */
function scan(prefilter: Prefilter, value: string, only: Uint8Array | undefined, want: number): readonly number[] {
  const states = scratch;
  prefilter.aho.statesHit(value, states);
  if (states.length === 0) return NONE;
  const hits: number[] = [];
  // a stamp per slot, reused by every scan (scans do not nest), rather than a typed array allocated per scan
  const seen = prefilter.seen;
  let stamp = ++prefilter.stamp[0]!;
  if (stamp === 0xffffffff) {
    seen.fill(0);
    stamp = prefilter.stamp[0] = 1;
  }
  const slotsOf = prefilter.slotsOf;
  const outAll = prefilter.aho.outAll;
  for (const state of states) {
    for (const p of outAll[state]!) {
      for (const slot of slotsOf[p]!) {
        if (seen[slot] === stamp || (only !== undefined && only[slot] !== want)) continue;
        seen[slot] = stamp;
        hits.push(slot);
      }
    }
  }
  return hits.length === 0 ? NONE : hits;
}

/** The states one scan reached (reused: scans do not nest). */
const scratch: number[] = [];

const built = new WeakMap<RuleSet, Prefilter>();

export function prefilterFor(set: RuleSet): Prefilter {
  const cached = built.get(set);
  if (cached) return cached;
  const phrases = new Map<string, number[]>();
  const slots = new Map<Rule, number>();
  const pureSlots = new Map<Rule, number>();
  const literalsOf = new Map<string, { literals: readonly string[] | undefined; squeezed: boolean }>();
  const squeezedSlots: number[] = [];
  for (const list of set.phases) {
    for (const item of list) {
      if (item.kind !== 'rule') continue;
      for (let r: Rule | undefined = item.rule; r; r = r.chained) {
        if (r.operator.pure) pureSlots.set(r, pureSlots.size);
        const p = r.operator.setPattern;
        let literals = r.operator.phrases;
        let squeezed = false;
        if (literals === undefined && p !== undefined) {
          let known = literalsOf.get(p);
          if (!known) {
            // the pattern as RE2 runs it, less the (?s) bytePattern puts in front
            const plain = requiredLiterals(bytePattern(p).slice(4));
            known = { literals: plain, squeezed: false };
            if (literalScore(plain) <= WEAK) {
              // a letter among the literals (932230's command words with evasion between the letters): most values
              // hold one; the same regex read with the evasion characters squeezed out may name whole words
              const tight = requiredLiterals(bytePattern(p).slice(4), SQUEEZE);
              if (literalScore(tight) > literalScore(plain)) known = { literals: tight, squeezed: true };
            }
            literalsOf.set(p, known);
          }
          literals = known.literals;
          squeezed = known.squeezed;
        }
        if (!literals || literals.length === 0) continue;
        const slot = slots.size;
        slots.set(r, slot);
        if (squeezed) squeezedSlots.push(slot);
        for (const l of literals) {
          const list2 = phrases.get(l);
          if (list2) list2.push(slot);
          else phrases.set(l, [slot]);
        }
      }
    }
  }
  const keys = [...phrases.keys()];
  const squeezedBytes = new Uint8Array(slots.size);
  for (const slot of squeezedSlots) squeezedBytes[slot] = 1;
  const out: Prefilter = {
    aho: new DenseAho(keys, foldChar, FOLD_SOURCES),
    slotsOf: keys.map((k) => phrases.get(k)!),
    slots,
    size: slots.size,
    // about 2 x 4 M characters of values with their answers, and of raw values with their transformed forms
    valueMemo: new ValueMemo(4 * 1024 * 1024, MAX_MEMO_KEY, factsSize),
    pureSlots,
    chainMemo: new ValueMemo(4 * 1024 * 1024, MAX_MEMO_KEY, formsSize),
    ids: new Map(),
    chainIds: new Map(),
    rawMemo: new ValueMemo(2 * 1024 * 1024, MAX_MEMO_KEY, rawSize),
    squeezed: squeezedBytes,
    squeezedSlots,
    seen: new Uint32Array(slots.size),
    stamp: new Uint32Array(1),
  };
  built.set(set, out);
  return out;
}

/** What the engine's grow() calls added for one value's facts (engine.ts literalHits, evaluateLink). */
function factsSize(facts: ValueFacts): number {
  return (facts.hits?.length ?? 0) + (facts.clean?.length ?? 0);
}

/** What the engine's grow() calls added for one raw value's hits by chain (engine.ts chainHits). */
function rawSize(facts: RawFacts): number {
  let n = facts.byChain.length + (facts.clean?.length ?? 0);
  for (const hits of facts.byChain) n += hits?.length ?? 0;
  return n;
}

/** What the engine's grow() calls added for one raw value's transformed forms (engine.ts transformed). */
function formsSize(forms: Map<string, string>): number {
  let n = 0;
  for (const v of forms.values()) n += v.length + 16;
  return n;
}

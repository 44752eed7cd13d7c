/**
 * Aho-Corasick as a dense automaton: one table lookup per character, with the
 * text's characters mapped to the few classes the phrases use (every other
 * character is class 0). @pm and @pmFromFile look for any of hundreds of
 * phrases in one pass, case-insensitively as ModSecurity's @pm does; the
 * regex prefilter (prefilter.ts) finds every required literal of a group of
 * rules in one pass.
 */

/** ASCII letters to lower case: @pm's folding. */
function asciiFold(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

export class DenseAho {
  /** classes[charCode] → column; 0 for characters no phrase holds. */
  private readonly classes: Uint8Array | Uint16Array;
  private readonly width: number;
  /** next[state * width + class] → state. */
  private readonly next: Int32Array;
  /** The longest phrase index ending at each state (own or through its fail links), -1 when none. */
  readonly outPhrase: Int32Array;
  /** Every phrase index ending at each state (own and through fail links); empty when none. */
  readonly outAll: readonly (readonly number[])[];
  readonly states: number;
  /** A stamp per state: statesHit() reports each state once per scan. */
  private readonly seen: Uint32Array;
  private stamp = 0;

  /**
   * `phrases` as given; `fold` maps a char code (of phrases and texts alike) before matching; `foldSources` are the
   * characters above Latin-1 that `fold` maps to another character.
   */
  constructor(
    readonly phrases: readonly string[],
    fold: (c: number) => number = asciiFold,
    foldSources: readonly number[] = [],
  ) {
    const classOf = new Map<number, number>();
    for (const p of phrases) for (let i = 0; i < p.length; i++) {
      const c = fold(p.charCodeAt(i));
      if (!classOf.has(c)) classOf.set(c, classOf.size + 1);
    }
    this.width = classOf.size + 1;
    this.classes = this.width <= 256 ? new Uint8Array(65536) : new Uint16Array(65536);
    // the characters that can map to a phrase character: Latin-1 (folding stays there), those beyond it that
    // fold into it, and the phrases' own
    for (let c = 0; c < 256; c++) {
      const k = classOf.get(fold(c));
      if (k !== undefined) this.classes[c] = k;
    }
    for (const c of [...foldSources, ...classOf.keys()]) {
      const k = classOf.get(fold(c));
      if (k !== undefined && c < 65536) this.classes[c] = k;
    }
    // the trie
    const children: Map<number, number>[] = [new Map<number, number>()];
    const own: number[][] = [[]];
    phrases.forEach((raw, index) => {
      if (raw === '') return;
      let s = 0;
      for (let i = 0; i < raw.length; i++) {
        const k = this.classes[raw.charCodeAt(i)]!;
        let t = children[s]!.get(k);
        if (t === undefined) {
          t = children.length;
          children.push(new Map<number, number>());
          own.push([]);
          children[s]!.set(k, t);
        }
        s = t;
      }
      own[s]!.push(index);
    });
    const n = children.length;
    this.states = n;
    const width = this.width;
    const next = new Int32Array(n * width);
    const fail = new Int32Array(n);
    const outPhrase = new Int32Array(n).fill(-1);
    const outAll: number[][] = new Array<number[]>(n);
    const longest = (list: number[]): number => list.reduce((a, b) => (a === -1 || phrases[b]!.length > phrases[a]!.length ? b : a), -1);
    outPhrase[0] = longest(own[0]!);
    outAll[0] = own[0]!;
    // breadth first: a state's fail target is complete before the state
    const queue: number[] = [];
    for (let k = 0; k < width; k++) {
      const t = children[0]!.get(k);
      if (t !== undefined) {
        next[k] = t;
        fail[t] = 0;
        queue.push(t);
      }
    }
    for (let q = 0; q < queue.length; q++) {
      const s = queue[q]!;
      const f = fail[s]!;
      outPhrase[s] = own[s]!.length > 0 ? longest(own[s]!) : outPhrase[f]!;
      outAll[s] = own[s]!.length > 0 ? [...own[s]!, ...outAll[f]!] : outAll[f]!;
      for (let k = 0; k < width; k++) {
        const t = children[s]!.get(k);
        if (t !== undefined) {
          next[s * width + k] = t;
          fail[t] = next[f * width + k]!;
          queue.push(t);
        } else next[s * width + k] = next[f * width + k]!;
      }
    }
    this.next = next;
    this.outPhrase = outPhrase;
    this.outAll = outAll;
    this.seen = new Uint32Array(n);
  }

  /** The index of the first phrase found in `text` (the longest ending at that place), or -1. */
  first(text: string): number {
    const classes = this.classes, next = this.next, out = this.outPhrase, width = this.width;
    let s = 0;
    for (let i = 0; i < text.length; i++) {
      s = next[s * width + classes[text.charCodeAt(i)]!]!;
      if (out[s] !== -1) return out[s]!;
    }
    return -1;
  }

  /**
   * The states with phrases that `text` reaches, each once, into `into` (cleared first): the loop without a
   * callback, for the prefilter's hot path.
   */
  statesHit(text: string, into: number[]): void {
    into.length = 0;
    const classes = this.classes, next = this.next, out = this.outAll, width = this.width, seen = this.seen;
    const stamp = ++this.stamp;
    if (stamp === 0xffffffff) {
      seen.fill(0);
      this.stamp = 1;
    }
    let s = 0;
    for (let i = 0; i < text.length; i++) {
      s = next[s * width + classes[text.charCodeAt(i)]!]!;
      if (seen[s] !== stamp) {
        seen[s] = stamp;
        if (out[s]!.length > 0) into.push(s);
      }
    }
  }
}

/** @pm's matcher: lower-cased (ASCII) phrases, the first one found. */
export class PhraseMatcher {
  private readonly aho: DenseAho;
  readonly size: number;
  /** The phrases, lower-cased. */
  readonly phrases: readonly string[];

  constructor(phrases: readonly string[]) {
    const list = [...new Set(phrases.map((raw) => raw.replace(/[A-Z]+/g, (m) => m.toLowerCase())).filter((p) => p !== ''))];
    this.aho = new DenseAho(list);
    this.size = list.length;
    this.phrases = list;
  }

  /** The first phrase found in `text`, or undefined. */
  find(text: string): string | undefined {
    const i = this.aho.first(text);
    return i === -1 ? undefined : this.aho.phrases[i];
  }
}

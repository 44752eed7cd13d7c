/**
 * Many fixed strings searched in one pass (Aho-Corasick), ASCII
 * case-insensitively: the detectors' word lists (sensitive files, runtime
 * internals, JavaScript sinks) cost one walk over the value however long the
 * list grows. Built once per list at load; a search is a table lookup per
 * character, with no backtracking and no allocation.
 */
export class Matcher {
  /** Character code (< 128) → column in the transition table; 0 for any character no pattern holds. */
  private readonly alphabet = new Uint8Array(128);
  private readonly width: number;
  /** state * width + column → next state */
  private readonly delta: Int32Array;
  /** The pattern ending at each state (the longest one), or -1; `more` chains to shorter ones ending there too. */
  private readonly output: Int32Array;
  private readonly more: Int32Array;

  constructor(readonly patterns: readonly string[]) {
    let columns = 1;
    for (const pattern of patterns) {
      for (const ch of pattern.toLowerCase()) {
        const c = ch.charCodeAt(0);
        if (c >= 128) throw new Error(`matcher patterns are ASCII: ${JSON.stringify(pattern)}`);
        if (this.alphabet[c] === 0) {
          this.alphabet[c] = columns;
          const upper = ch.toUpperCase().charCodeAt(0);
          if (upper !== c && upper < 128) this.alphabet[upper] = columns;
          columns++;
        }
      }
    }
    this.width = columns;
    // The trie, then failure links breadth-first, folded into a full transition table.
    const children: Array<Map<number, number>> = [new Map<number, number>()];
    const ends: number[] = [-1];
    patterns.forEach((pattern, index) => {
      let state = 0;
      for (const ch of pattern.toLowerCase()) {
        const col = this.alphabet[ch.charCodeAt(0)]!;
        let next = children[state]!.get(col);
        if (next === undefined) {
          next = children.length;
          children.push(new Map<number, number>());
          ends.push(-1);
          children[state]!.set(col, next);
        }
        state = next;
      }
      if (ends[state] === -1) ends[state] = index;
    });
    const states = children.length;
    this.delta = new Int32Array(states * columns);
    this.output = Int32Array.from(ends);
    this.more = new Int32Array(states).fill(-1);
    const fail = new Int32Array(states);
    const queue: number[] = [];
    for (let col = 0; col < columns; col++) {
      const next = children[0]!.get(col);
      if (next !== undefined) {
        this.delta[col] = next;
        queue.push(next);
      }
    }
    for (let head = 0; head < queue.length; head++) {
      const state = queue[head]!;
      // the longest proper suffix that is also a pattern end, for overlapping matches
      const f = fail[state]!;
      this.more[state] = this.output[f]! !== -1 ? f : this.more[f]!;
      for (let col = 0; col < columns; col++) {
        const next = children[state]!.get(col);
        const viaFail = this.delta[f * columns + col]!;
        if (next === undefined) {
          this.delta[state * columns + col] = viaFail;
        } else {
          this.delta[state * columns + col] = next;
          fail[next] = viaFail;
          queue.push(next);
        }
      }
    }
  }

  /**
   * Calls `visit(patternIndex, end)` for every match (end is the index just
   * past it) until `visit` returns true; returns whether one did.
   */
  scan(text: string, visit: (pattern: number, end: number) => boolean): boolean {
    const { alphabet, delta, output, more, width } = this;
    let state = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      state = delta[state * width + (c < 128 ? alphabet[c]! : 0)]!;
      if (output[state] !== -1 || more[state] !== -1) {
        for (let s = output[state] !== -1 ? state : more[state]!; s !== -1; s = more[s]!) {
          if (visit(output[s]!, i + 1)) return true;
        }
      }
    }
    return false;
  }

  /** The index of the first pattern found (by end position), or -1. */
  first(text: string): number {
    const { alphabet, delta, output, more, width } = this;
    let state = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      state = delta[state * width + (c < 128 ? alphabet[c]! : 0)]!;
      if (output[state] !== -1) return output[state]!;
      if (more[state] !== -1) return output[more[state]!]!;
    }
    return -1;
  }
}

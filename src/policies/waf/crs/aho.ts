/**
 * Aho-Corasick over lower-cased byte strings: @pm and @pmFromFile look for
 * any of hundreds of phrases in one pass, case-insensitively, as
 * ModSecurity's @pm does.
 */
export class PhraseMatcher {
  private readonly next: Map<number, number>[] = [new Map<number, number>()];
  private readonly fail: number[] = [0];
  /** The phrase ending at each state (the longest), or "" when none. */
  private readonly out: string[] = [''];
  readonly size: number;

  constructor(phrases: readonly string[]) {
    let count = 0;
    for (const raw of phrases) {
      const p = raw.replace(/[A-Z]+/g, (m) => m.toLowerCase()); // ASCII only, as the text is folded
      if (p === '') continue;
      count++;
      let s = 0;
      for (let i = 0; i < p.length; i++) {
        const c = p.charCodeAt(i);
        let t = this.next[s]!.get(c);
        if (t === undefined) {
          t = this.next.length;
          this.next.push(new Map<number, number>());
          this.fail.push(0);
          this.out.push('');
          this.next[s]!.set(c, t);
        }
        s = t;
      }
      this.out[s] = p;
    }
    this.size = count;
    const queue: number[] = [];
    for (const t of this.next[0]!.values()) queue.push(t);
    while (queue.length > 0) {
      const s = queue.shift()!;
      for (const [c, t] of this.next[s]!) {
        queue.push(t);
        let f = this.fail[s]!;
        while (f !== 0 && !this.next[f]!.has(c)) f = this.fail[f]!;
        const g = this.next[f]!.get(c);
        this.fail[t] = g !== undefined && g !== t ? g : 0;
        if (this.out[t] === '' && this.out[this.fail[t]] !== '') this.out[t] = this.out[this.fail[t]]!;
      }
    }
  }

  /** The first phrase found in `text`, or undefined. */
  find(text: string): string | undefined {
    let s = 0;
    for (let i = 0; i < text.length; i++) {
      let c = text.charCodeAt(i);
      if (c >= 65 && c <= 90) c += 32;
      while (s !== 0 && !this.next[s]!.has(c)) s = this.fail[s]!;
      s = this.next[s]!.get(c) ?? 0;
      if (this.out[s] !== '') return this.out[s];
    }
    return undefined;
  }
}

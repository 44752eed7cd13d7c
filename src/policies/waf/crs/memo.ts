/**
 * Bounded memory of pure per-value work kept across requests: what a
 * transformation makes of a string, which rules' literals a string holds, and
 * that an operator with a fixed argument does not match a string. Each answer
 * is a function of the string alone, so a remembered answer is the answer the
 * work would give: no request can make another request's value pass. Traffic
 * repeats most of its values (User-Agent, Accept-*, cookies, paths), and these
 * cost the CRS engine most of a benign request's CPU.
 *
 * Two generations: when the current one holds more than its share of
 * characters it becomes the old one and the old one is dropped, so memory stays
 * under twice the bound and values used on every request stay.
 */
export class ValueMemo<V> {
  private current = new Map<string, V>();
  private previous = new Map<string, V>();
  private chars = 0;

  constructor(
    /** Characters (keys and string answers) one generation may hold. */
    private readonly maxChars: number,
    /** Longer keys are not kept: a long value is rarely seen twice, and hashing it for a lookup costs as much as a scan. */
    readonly maxKey: number,
    /**
     * An answer's size now, in characters (what grow() added to it while it was in a generation). A remembered answer
     * asked for again is moved to the current generation at this size: counted by its key alone, answers filled in
     * an older generation and then asked for each generation added up to many times the bound (red team s6).
     */
    private readonly sizeOf: (value: V) => number = () => 0,
  ) {}

  get(key: string): V | undefined {
    const v = this.current.get(key);
    if (v !== undefined) return v;
    const old = this.previous.get(key);
    if (old !== undefined) this.set(key, old, this.sizeOf(old));
    return old;
  }

  /** Remembers `value` for `key`; `size` is the answer's length in characters (0 for a small answer). */
  set(key: string, value: V, size: number): void {
    if (key.length > this.maxKey) return;
    if (this.chars > this.maxChars) {
      this.previous = this.current;
      this.current = new Map();
      this.chars = 0;
    }
    this.current.set(key, value);
    this.chars += key.length + size + 32;
  }

  /** An answer kept earlier grew by `size` characters (answers that fill in over requests). */
  grow(size: number): void {
    this.chars += size;
  }

  clear(): void {
    this.current.clear();
    this.previous.clear();
    this.chars = 0;
  }
}

/** Inputs longer than this are neither memoized across requests nor looked up (the per-request caches still hold them). */
export const MAX_MEMO_KEY = 4096;

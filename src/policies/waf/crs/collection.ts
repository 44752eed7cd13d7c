/**
 * A SecLang collection: ordered key/value pairs, keys looked up
 * case-insensitively (as ModSecurity does for ARGS, headers and cookies),
 * the original spelling kept for MATCHED_VAR_NAME.
 */
export interface Entry {
  readonly key: string;
  value: string;
}

export class Collection {
  readonly entries: Entry[] = [];
  private index: Map<string, Entry[]> | undefined;

  add(key: string, value: string): void {
    const e = { key, value };
    this.entries.push(e);
    if (this.index) {
      const k = key.toLowerCase();
      const list = this.index.get(k);
      if (list) list.push(e);
      else this.index.set(k, [e]);
    }
  }

  get(keyLower: string): readonly Entry[] {
    if (!this.index) {
      this.index = new Map();
      for (const e of this.entries) {
        const k = e.key.toLowerCase();
        const list = this.index.get(k);
        if (list) list.push(e);
        else this.index.set(k, [e]);
      }
    }
    return this.index.get(keyLower) ?? [];
  }

  get size(): number {
    return this.entries.length;
  }
}

/** TX: one value per (case-insensitive) name. */
export class TxCollection {
  private readonly map = new Map<string, Entry>();

  get(name: string): string | undefined {
    return this.map.get(name.toLowerCase())?.value;
  }

  /** entry() with the name lower-cased already. */
  getEntryLower(key: string): Entry | undefined {
    return this.map.get(key);
  }

  /** get() with the name already lower-cased (compiled macros and setvars). */
  getLower(key: string): string | undefined {
    return this.map.get(key)?.value;
  }

  /** set() with the name lower-cased already (`key`) and as spelled (`name`). */
  setLower(key: string, name: string, value: string): void {
    const e = this.map.get(key);
    if (e) e.value = value;
    else this.map.set(key, { key: name, value });
  }

  set(name: string, value: string): void {
    const k = name.toLowerCase();
    const e = this.map.get(k);
    if (e) e.value = value;
    else this.map.set(k, { key: name, value });
  }

  delete(name: string): void {
    this.map.delete(name.toLowerCase());
  }

  entry(name: string): Entry | undefined {
    return this.map.get(name.toLowerCase());
  }

  get entries(): IterableIterator<Entry> {
    return this.map.values();
  }

  get size(): number {
    return this.map.size;
  }
}

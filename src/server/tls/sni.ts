/**
 * Which certificate answers a TLS handshake: the exact SNI name first, then a
 * wildcard one label up ("*.example.com" covers "a.example.com", not
 * "a.b.example.com" nor "example.com", as X.509 wildcards do), then the
 * default, unless the listener refuses unknown names.
 */
export interface SniEntry<T> {
  readonly hosts: readonly string[];
  readonly value: T;
}

export class SniTable<T> {
  private readonly exact = new Map<string, T>();
  private readonly wildcard = new Map<string, T>();

  constructor(
    entries: readonly SniEntry<T>[],
    /** Served for a missing or unknown name; undefined refuses those handshakes. */
    readonly fallback: T | undefined,
  ) {
    for (const entry of entries) {
      for (const host of entry.hosts) {
        const name = host.toLowerCase();
        if (name.startsWith('*.')) this.wildcard.set(name.slice(2), entry.value);
        else this.exact.set(name, entry.value);
      }
    }
  }

  lookup(servername: string | undefined): T | undefined {
    if (!servername) return this.fallback;
    let name = servername.toLowerCase();
    if (name.endsWith('.')) name = name.slice(0, -1);
    const exact = this.exact.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf('.');
    if (dot > 0) {
      const wild = this.wildcard.get(name.slice(dot + 1));
      if (wild !== undefined) return wild;
    }
    return this.fallback;
  }
}

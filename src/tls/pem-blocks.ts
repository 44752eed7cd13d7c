/**
 * PEM blocks of one label out of a text (a chain, a bundle, a CRL file),
 * found by plain index scans: a regular expression over untrusted files
 * could backtrack for a long time on crafted input.
 */
export function pemBlocks(text: string, label: string): string[] {
  const begin = `-----BEGIN ${label}-----`;
  const end = `-----END ${label}-----`;
  const out: string[] = [];
  let from = 0;
  for (;;) {
    const start = text.indexOf(begin, from);
    if (start === -1) return out;
    const stop = text.indexOf(end, start + begin.length);
    if (stop === -1) return out;
    out.push(text.slice(start, stop + end.length));
    from = stop + end.length;
  }
}

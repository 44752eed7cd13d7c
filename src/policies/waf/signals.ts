/**
 * One pass over a value for every detector's word list: each detector
 * registers its lists as groups at load, and a value is scanned once by a
 * combined Aho-Corasick matcher, giving a bit per group that matched. A
 * detector looks closer (positions, context) only when its bit is set.
 */
import { Matcher } from '../../lib/matcher.js';

const groups: Array<readonly string[]> = [];
let combined: { matcher: Matcher; masks: Int32Array } | undefined;

/** Registers a list; returns its bit. At most 31 groups. */
export function signalGroup(patterns: readonly string[]): number {
  if (combined) throw new Error('signal groups are registered at load, before the first scan');
  if (groups.length >= 31) throw new Error('too many signal groups');
  groups.push(patterns);
  return 1 << (groups.length - 1);
}

function build(): { matcher: Matcher; masks: Int32Array } {
  const maskOf = new Map<string, number>();
  groups.forEach((patterns, g) => {
    for (const pattern of patterns) {
      const key = pattern.toLowerCase();
      maskOf.set(key, (maskOf.get(key) ?? 0) | (1 << g));
    }
  });
  const patterns = [...maskOf.keys()];
  return { matcher: new Matcher(patterns), masks: Int32Array.from(patterns.map((p) => maskOf.get(p)!)) };
}

/** The bits of every group with a pattern somewhere in `text` (ASCII case-insensitive). */
export function signalsOf(text: string): number {
  const { matcher, masks } = (combined ??= build());
  let mask = 0;
  matcher.scan(text, (pattern) => {
    mask |= masks[pattern]!;
    return false;
  });
  return mask;
}
